"""Parameter initialisation, as the crate's ``nn::init`` and PyTorch's ``torch.nn.init``.

Every function writes new values into a parameter in place (a differentiable leaf made with
``.requires_grad()``, a :class:`~neuronika.Param`, or any other leaf) and returns it. Random
values are drawn from the generator of the parameter's own backend, so ``nk.manual_seed``
makes them reproducible on every device. The PyTorch spellings with a trailing underscore
(``xavier_uniform_``, ...) are aliases.

Fans: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in · prod(kernel)`` and
``fan_out = out · prod(kernel)`` (:func:`calculate_fan_in_fan_out`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence, TypeVar, Union

from .._args import is_integer, is_real
from ..autograd import Param, Var, VarDiff
from ..autograd.node import Leaf
from ..backends import DType, get as get_backend, float32, to_dtype

__all__ = [
    "calculate_gain", "calculate_fan_in_fan_out", "constant", "zeros", "ones", "eye", "dirac",
    "uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
]

Parameter = TypeVar("Parameter", bound=Union[Var, Param])

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of the weights in front of ``nonlinearity``.

    ============================ ==========================
    linear, identity, conv*d,    1
    sigmoid
    tanh                         5/3
    relu                         √2
    leaky_relu                   √(2 / (1 + slope²)), slope = ``param`` (default 0.01)
    selu                         3/4
    ============================ ==========================

    >>> round(nk.nn.init.calculate_gain("tanh"), 4)
    1.6667
    """
    name = str(nonlinearity).lower()
    if name in _LINEAR_GAINS:
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        if param is None:
            slope = 0.01
        elif is_real(param):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: leaky_relu's negative slope must be a number, got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if name == "selu":
        return 0.75
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; known are "
        f"{', '.join(_LINEAR_GAINS)}, tanh, relu, leaky_relu, selu"
    )


def calculate_fan_in_fan_out(param: "Var | Param | Sequence[int]") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight (or of a shape) with at least two dimensions:
    ``(in · receptive field, out · receptive field)``, the receptive field being the product of
    the sizes after the first two.

    >>> nk.nn.init.calculate_fan_in_fan_out((8, 3, 5, 5))
    (75, 200)
    """
    shape = tuple(param.shape) if isinstance(param, (Var, Param)) else tuple(int(d) for d in param)
    if len(shape) < 2:
        raise ValueError(
            f"calculate_fan_in_fan_out: fans need a weight with at least 2 dimensions, got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


# --- writing into a parameter -------------------------------------------------------------------

def _leaf(op: str, param: Any) -> Leaf:
    if isinstance(param, Param):
        return param._node
    if isinstance(param, Var):
        if not param.is_leaf:
            raise TypeError(
                f"init.{op}: can only initialise a leaf (a parameter), this variable is the output "
                f"of {param._node.name}"
            )
        return param._node  # type: ignore[return-value]
    raise TypeError(f"init.{op}: expected a parameter (VarDiff leaf or Param), got {type(param).__name__}")


def _write(node: Leaf, array: Any) -> None:
    Param(node).data = array


def _no_elements(node: Leaf) -> bool:
    """A parameter with no element has nothing to draw (and a fan of 0): the fan-based
    initialisers leave it as it is, as PyTorch's do."""
    return 0 in node.shape


def _fan(op: str, node: Leaf, mode: str) -> int:
    fan_in, fan_out = calculate_fan_in_fan_out(node.shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init.{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def constant(param: Parameter, value: float) -> Parameter:
    """Fill with ``value``.

    >>> nk.nn.init.constant(nk.zeros(2).requires_grad(), 0.5).numpy().tolist()
    [0.5, 0.5]
    """
    node = _leaf("constant", param)
    xp = node.xp
    _write(node, xp.full(node.shape, float(value), dtype=node.backend.dtype(node.dtype), device=node.backend.native_device))
    return param


def zeros(param: Parameter) -> Parameter:
    """Fill with 0.

    >>> nk.nn.init.zeros(nk.ones(2).requires_grad()).numpy().tolist()
    [0.0, 0.0]
    """
    return constant(param, 0.0)


def ones(param: Parameter) -> Parameter:
    """Fill with 1.

    >>> nk.nn.init.ones(nk.zeros(2).requires_grad()).numpy().tolist()
    [1.0, 1.0]
    """
    return constant(param, 1.0)


def eye(param: Parameter) -> Parameter:
    """The identity matrix of a 2-d parameter (ones on the main diagonal of a rectangle).

    >>> nk.nn.init.eye(nk.zeros((2, 3)).requires_grad()).numpy().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    node = _leaf("eye", param)
    if len(node.shape) != 2:
        raise ValueError(f"init.eye: needs a 2-d parameter, got shape {node.shape}")
    rows, cols = node.shape
    _write(node, node.xp.eye(rows, cols, dtype=node.backend.dtype(node.dtype), device=node.backend.native_device))
    return param


def dirac(param: Parameter, groups: int = 1) -> Parameter:
    """The Dirac delta of a 3-, 4- or 5-d convolution weight ``(out, in, *kernel)``: with it a
    convolution copies its input channels (per group: channel ``d`` of group ``g`` into output
    ``g·out/groups + d``, for ``d < min(out/groups, in)``), the one at the kernel's centre.

    >>> nk.nn.init.dirac(nk.zeros((1, 1, 3)).requires_grad()).numpy().tolist()
    [[[0.0, 1.0, 0.0]]]
    """
    node = _leaf("dirac", param)
    shape = node.shape
    if not 3 <= len(shape) <= 5:
        raise ValueError(f"init.dirac: needs a 3-, 4- or 5-d convolution weight, got shape {shape}")
    if not is_integer(groups) or groups < 1 or shape[0] % groups:
        raise ValueError(f"init.dirac: groups ({groups!r}) must be a positive divisor of the output channels {shape[0]}")
    per_group = shape[0] // groups
    centre = tuple(size // 2 for size in shape[2:])
    xp, backend = node.xp, node.backend
    with backend.scope():  # built from comparisons, no item assignment: immutable arrays too
        def positions(size: int, axis: int) -> Any:
            dims = [1] * len(shape)
            dims[axis] = size
            return xp.reshape(xp.arange(size, device=backend.native_device), tuple(dims))

        channel = positions(shape[0], 0) % per_group  # output o is channel o mod (out/groups) of its group
        mask = (channel == positions(shape[1], 1)) & (channel < min(per_group, shape[1]))
        for axis, middle in enumerate(centre, 2):
            mask = mask & (positions(shape[axis], axis) == middle)
        array = xp.astype(mask, backend.dtype(node.dtype))
    _write(node, array)
    return param


def uniform(param: Parameter, low: float = 0.0, high: float = 1.0) -> Parameter:
    """Samples of U(low, high).

    >>> w = nk.nn.init.uniform(nk.zeros((3, 4)).requires_grad(), -0.1, 0.1); bool((abs(w.numpy()) <= 0.1).all())
    True
    """
    if not high >= low:
        raise ValueError(f"init.uniform: high ({high}) must not be below low ({low})")
    node = _leaf("uniform", param)
    _write(node, node.backend.uniform(node.shape, node.dtype, float(low), float(high)))
    return param


def normal(param: Parameter, mean: float = 0.0, std: float = 1.0) -> Parameter:
    """Samples of N(mean, std²).

    >>> nk.nn.init.normal(nk.zeros((3, 4)).requires_grad(), std=0.02).shape
    (3, 4)
    """
    if not std >= 0:
        raise ValueError(f"init.normal: std must be non-negative, got {std}")
    node = _leaf("normal", param)
    _write(node, node.backend.normal(node.shape, node.dtype, float(mean), float(std)))
    return param


def xavier_uniform(param: Parameter, gain: float = 1.0) -> Parameter:
    """Glorot uniform: U(-a, a) with ``a = gain · √(6 / (fan_in + fan_out))``.

    >>> w = nk.nn.init.xavier_uniform(nk.zeros((3, 5)).requires_grad()); bool((abs(w.numpy()) <= 1.0).all())
    True
    """
    if _no_elements(_leaf("xavier_uniform", param)):
        return param
    fan_in, fan_out = calculate_fan_in_fan_out(_leaf("xavier_uniform", param).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(param, -bound, bound)


def xavier_normal(param: Parameter, gain: float = 1.0) -> Parameter:
    """Glorot normal: N(0, std²) with ``std = gain · √(2 / (fan_in + fan_out))``.

    >>> nk.nn.init.xavier_normal(nk.zeros((3, 5)).requires_grad()).shape
    (3, 5)
    """
    if _no_elements(_leaf("xavier_normal", param)):
        return param
    fan_in, fan_out = calculate_fan_in_fan_out(_leaf("xavier_normal", param).shape)
    return normal(param, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform(
    param: Parameter, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Parameter:
    """He uniform: U(-b, b) with ``b = gain · √(3 / fan)``, ``gain = calculate_gain(nonlinearity,
    a)`` and ``fan`` the fan-in (default) or fan-out. PyTorch's defaults.

    >>> w = nk.nn.init.kaiming_uniform(nk.zeros((4, 6)).requires_grad(), nonlinearity="relu"); bool((abs(w.numpy()) <= 1.0).all())
    True
    """
    if _no_elements(_leaf("kaiming_uniform", param)):
        return param
    fan = _fan("kaiming_uniform", _leaf("kaiming_uniform", param), mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform(param, -bound, bound)


def kaiming_normal(
    param: Parameter, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Parameter:
    """He normal: N(0, std²) with ``std = gain / √fan`` (see :func:`kaiming_uniform`).

    >>> nk.nn.init.kaiming_normal(nk.zeros((4, 6)).requires_grad(), mode="fan_out").shape
    (4, 6)
    """
    if _no_elements(_leaf("kaiming_normal", param)):
        return param
    fan = _fan("kaiming_normal", _leaf("kaiming_normal", param), mode)
    return normal(param, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


# PyTorch's in-place spellings.
constant_ = constant
zeros_ = zeros
ones_ = ones
eye_ = eye
dirac_ = dirac
uniform_ = uniform
normal_ = normal
xavier_uniform_ = xavier_uniform
xavier_normal_ = xavier_normal
kaiming_uniform_ = kaiming_uniform
kaiming_normal_ = kaiming_normal


def new_parameter(
    shape: Sequence[int], bound: float, dtype: "DType | str | None" = None, device: Any = None
) -> VarDiff:
    """A differentiable leaf of ``shape`` drawn from U(-bound, bound): the crate's default
    initialisation of every layer (``bound = 1/√fan_in``)."""
    backend = get_backend(device)
    dt = to_dtype(dtype) if dtype is not None else float32
    shape = tuple(int(d) for d in shape)
    return VarDiff(Leaf(backend.uniform(shape, dt, -bound, bound), backend, dt, differentiable=True))
