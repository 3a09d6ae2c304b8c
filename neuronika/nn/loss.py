"""Loss functions, as the crate's ``nn::loss``: each ``fn(input, target, reduction="mean")``
returns a 0-d variable; ``reduction`` is ``"mean"`` or ``"sum"`` (or ``Reduction.Mean`` /
``Reduction.Sum``), or ``"none"`` (PyTorch's: the element-wise / per-sample losses, unreduced).

=========================== ============================================ ======================
function                    element-wise loss ℓ                          "mean" divides by
=========================== ============================================ ======================
``mse_loss``                (x - t)²                                     number of elements
``mae_loss``                \\|x - t\\|                                    number of elements
``bce_loss``                -(t·ln x + (1 - t)·ln(1 - x)), logs ≥ -100   number of elements
``bce_with_logits_loss``    max(x, 0) - x·t + ln(1 + e^-|x|)             number of elements
``nll_loss``                -w[t_n]·x[n, t_n]                            Σ w[t_n] (not ignored)
``cross_entropy_loss``      -w[t_n]·log softmax(x)[n, t_n]               Σ w[t_n] (not ignored)
``huber_loss``              ½d² if \\|d\\| < δ else δ(\\|d\\| - ½δ)          number of elements
``smooth_l1_loss``          ½d²/β if \\|d\\| < β else \\|d\\| - ½β           number of elements
``kldiv_loss``              t·(ln t - x), 0·ln 0 = 0                     batch size N
=========================== ============================================ ======================

Input and target must have the same shape (no broadcasting), checked when the loss is built.
Gradients flow to the input, and to a differentiable target (except for ``nll_loss``, whose
target holds class indices). A target may also be given as an array or nested lists: it becomes
a constant on the input's device and dtype (a copy; what ``from_ndarray`` accepts).

Empty batches: "sum" over no elements is 0; "mean" over an empty batch is 0/0, so every loss
refuses it with the same ValueError when the loss is built (use "sum", or skip empty batches).
"""

from __future__ import annotations

import enum
import math
from typing import Any, TypeVar, cast

from ..autograd import Var
from ..autograd import loss as nodes
from ..autograd.cross_entropy import EXACT_INTEGERS, NLL, CrossEntropy, SoftCrossEntropy
from ..autograd.node import Leaf, Node
from ..autograd._build import broadcast_shapes
from ..autograd.variable import wrap
from ..backends import DType, float32, float64
from ..backends._values import to_array

#: the input's kind: a loss of a VarDiff is a VarDiff (for type checkers; see docs/typing.md)
_V = TypeVar("_V", bound=Var)

__all__ = [
    "Reduction", "mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "nll_loss", "kldiv_loss",
    "cross_entropy_loss", "huber_loss", "smooth_l1_loss",
]


class Reduction(enum.Enum):
    """How the element-wise losses are combined into one number: ``Reduction.Mean`` or
    ``Reduction.Sum`` (the same as the strings ``"mean"`` and ``"sum"``).

    >>> nk.nn.loss.mse_loss(nk.ones(2), nk.zeros(2), nk.nn.loss.Reduction.Sum).forward().item()
    2.0
    """

    Mean = "mean"
    Sum = "sum"


def _reduction(op: str, reduction: "str | Reduction") -> str:
    if isinstance(reduction, Reduction):
        return reduction.value
    if isinstance(reduction, str) and reduction.lower() in ("mean", "sum", "none"):
        return reduction.lower()
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none' (or Reduction.Mean / Reduction.Sum), got {reduction!r}")


def _input(op: str, input: Any) -> Var:
    if not isinstance(input, Var):
        raise TypeError(f"{op}: input must be a neuronika variable, got {type(input).__name__}")
    return input


def _target(op: str, input: Var, target: Any, dtype: "DType | None" = None) -> Var:
    """The target as a variable; arrays and lists become constants (copies) beside the input,
    in the input's dtype unless ``dtype`` is given."""
    if isinstance(target, Var):
        return target
    node = input._node
    dtype = dtype or node.dtype
    return Var(Leaf(to_array(node.backend, target, dtype, f"{op}: target"), node.backend, dtype))


def _check_mean(op: str, mode: str, input: Var, divisor: "int | None" = None) -> None:
    """"mean" over an empty batch is 0/0: one error for every loss, when the loss is built.
    ``divisor`` is what the mean divides by (default: the number of elements of the input)."""
    count = math.prod(input.shape) if divisor is None else divisor
    if mode == "mean" and count == 0:
        raise ValueError(
            f"{op}: reduction='mean' over an empty batch (input shape {input.shape}) divides by "
            f"zero; use reduction='sum' (0 for an empty batch) or skip empty batches"
        )


def _same_shape(op: str, input: Var, target: Var) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input {input.shape} and target {target.shape} must have the same shape "
            f"(losses do not broadcast; reshape the target)"
        )


def mse_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Mean squared error: ``Σ (x - t)²``, divided by the number of elements for "mean".
    Input and target of one shape ``(*)``; the result is 0-d.

    >>> nk.nn.loss.mse_loss(nk.ones(3), nk.zeros(3)).forward().item()
    1.0
    """
    mode = _reduction("mse_loss", reduction)
    prediction = _input("mse_loss", input)
    _check_mean("mse_loss", mode, prediction)
    goal = _target("mse_loss", prediction, target)
    _same_shape("mse_loss", prediction, goal)
    return cast(_V, _reduced((prediction - goal).pow(2), mode))


def mae_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Mean absolute error: ``Σ |x - t|``, divided by the number of elements for "mean"
    (the gradient at ``x = t`` is 0). Input and target of one shape ``(*)``; the result is 0-d.

    >>> nk.nn.loss.mae_loss(nk.full(2, 3.0), nk.ones(2)).forward().item()
    2.0
    """
    mode = _reduction("mae_loss", reduction)
    prediction = _input("mae_loss", input)
    _check_mean("mae_loss", mode, prediction)
    goal = _target("mae_loss", prediction, target)
    _same_shape("mae_loss", prediction, goal)
    return cast(_V, _reduced((prediction - goal).abs(), mode))


def _reduced(terms: Var, mode: str) -> Var:
    return terms if mode == "none" else terms.sum() if mode == "sum" else terms.mean()


def _fused(
    op: str, node_type: type, input: _V, target: Any, reduction: "str | Reduction", per_batch: bool = False, *extra: Any,
    weight: Any = None,
) -> _V:
    mode = _reduction(op, reduction)
    prediction = _input(op, input)
    divisor = (prediction.shape[0] if prediction.shape else 1) if per_batch else None
    _check_mean(op, mode, prediction, divisor)
    goal = _target(op, prediction, target)
    node = node_type(prediction._node, goal._node, *extra)
    if weight is None:
        return cast(_V, wrap(nodes.reduce(node, mode, divisor)))
    scale = _target(op, prediction, weight)
    try:
        fits = broadcast_shapes(op, prediction.shape, scale.shape) == prediction.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: weight of shape {scale.shape} must broadcast to the input's shape {prediction.shape}")
    return cast(_V, _reduced(wrap(node) * scale, mode))


def bce_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean", *, weight: Any = None) -> _V:
    """Binary cross-entropy of probabilities ``x ∈ [0, 1]`` and targets ``t ∈ [0, 1]``:
    ``-(t·ln x + (1 - t)·ln(1 - x))`` with each log clamped at -100 (as PyTorch), so saturated
    probabilities give a large but finite loss. Input and target ``(*)``; result 0-d. ``weight``
    (a constant broadcast to the input, as PyTorch's) rescales each element's loss.

    >>> round(nk.nn.loss.bce_loss(nk.full(2, 0.5), nk.ones(2)).forward().item(), 4)
    0.6931
    """
    return _fused("bce_loss", nodes.BCE, input, target, reduction, weight=weight)


def bce_with_logits_loss(
    input: _V, target: Any, reduction: "str | Reduction" = "mean", pos_weight: Any = None, *, weight: Any = None
) -> _V:
    """Binary cross-entropy of logits: ``bce_loss(σ(x), t)`` computed as
    ``max(x, 0) - x·t + ln(1 + e^-|x|)``, exact and finite for logits of any size. Input and
    target ``(*)``; result 0-d.

    ``pos_weight`` ``p`` (a constant broadcast over the input, typically one weight per class of
    the last axis, as PyTorch) weighs the positive term:
    ``-(p·t·ln σ(x) + (1 - t)·ln(1 - σ(x)))``. ``weight`` (a constant broadcast to the input)
    rescales each element's loss, as PyTorch's.

    >>> round(nk.nn.loss.bce_with_logits_loss(nk.zeros(2), nk.ones(2)).forward().item(), 4)
    0.6931
    """
    op = "bce_with_logits_loss"
    if pos_weight is None:
        return _fused(op, nodes.BCEWithLogits, input, target, reduction, weight=weight)
    positive = _target(op, _input(op, input), pos_weight)
    return _fused(op, nodes.BCEWithLogits, input, target, reduction, False, positive._node, weight=weight)


def _positive(op: str, name: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{op}: {name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)


def huber_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean", delta: float = 1.0) -> _V:
    """Huber loss of ``d = x - t``: ``½d²`` where ``|d| < δ``, ``δ·(|d| - ½δ)`` elsewhere
    (quadratic near 0, linear beyond ``δ``, as ``torch.nn.functional.huber_loss``); gradient
    ``clip(d, -δ, δ)``. Input and target ``(*)``; result 0-d.

    >>> nk.nn.loss.huber_loss(nk.from_ndarray([0.5, 3.0]), nk.zeros(2), reduction="sum").forward().item()
    2.625
    """
    delta = _positive("huber_loss", "delta", delta)
    return _fused("huber_loss", nodes.Huber, input, target, reduction, False, delta)


def smooth_l1_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean", beta: float = 1.0) -> _V:
    """Smooth L1 loss of ``d = x - t``: ``½d²/β`` where ``|d| < β``, ``|d| - ½β`` elsewhere,
    i.e. ``huber_loss(delta=β) / β``; ``beta=0`` is the L1 loss (:func:`mae_loss`).

    >>> nk.nn.loss.smooth_l1_loss(nk.from_ndarray([0.5, 3.0]), nk.zeros(2), reduction="sum", beta=1.0).forward().item()
    2.625
    """
    beta = _positive("smooth_l1_loss", "beta", beta, allow_zero=True)
    if beta == 0.0:
        return mae_loss(input, target, reduction)
    return _fused("smooth_l1_loss", nodes.SmoothL1, input, target, reduction, False, beta, 1.0 / beta)


def kldiv_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Kullback-Leibler divergence of log-probabilities ``x`` from probabilities ``t``:
    ``Σ t·(ln t - x)`` (``0·ln 0 = 0``). "mean" divides by the batch size (the first axis), as
    the crate, i.e. PyTorch's ``reduction="batchmean"``. Input and target ``(N, *)``; result 0-d.

    >>> nk.nn.loss.kldiv_loss(nk.full((2, 2), 0.5).ln(), nk.full((2, 2), 0.5)).forward().item()
    0.0
    """
    return _fused("kldiv_loss", nodes.KLDiv, input, target, reduction, per_batch=True)


def _index_target(op: str, input: Var, target: Any) -> Var:
    """A class-index target as a variable: arrays and lists become constants in a float dtype
    that holds every class index exactly (the input's, else float32, else float64)."""
    if isinstance(target, Var) or len(input.shape) < 2:
        return _target(op, input, target)
    needed = input.shape[1] - 1
    exact = EXACT_INTEGERS[input.dtype.name]
    dtype = input.dtype if needed <= exact else float32 if needed <= EXACT_INTEGERS["float32"] else float64
    return _target(op, input, target, dtype)


def _class_weight(op: str, input: Var, weight: Any) -> "Node | None":
    if weight is None:
        return None
    if isinstance(weight, (str, Reduction)):
        raise TypeError(f"{op}: the third argument is the class weight (as PyTorch); pass the reduction by keyword: reduction={weight!r}")
    return _target(op, input, weight)._node


def _ignore_index(op: str, ignore_index: Any) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    return ignore_index


def nll_loss(
    input: _V, target: Any, reduction: "str | Reduction" = "mean", *, weight: Any = None, ignore_index: int = -100
) -> _V:
    """Negative log-likelihood of log-probabilities ``x (N, C)`` (e.g. from
    ``log_softmax(axis=1)``) and class indices ``t (N,)``: ``-Σ_n w[t_n]·x[n, t_n]``, divided by
    ``Σ_n w[t_n]`` for "mean" (by N without weights), PyTorch's weighted-mean rule. Extra axes
    follow PyTorch: ``x (N, C, *d)`` with ``t (N, *d)``.

    ``weight`` (one per class, a constant) weighs each sample by its class; samples whose index
    is ``ignore_index`` contribute nothing, to the sum and to the divisor (NaN for "mean" when
    every sample is ignored, as PyTorch). (``weight`` and ``ignore_index`` are keyword-only here,
    the crate's order keeping ``reduction`` third; ``nn.functional.nll_loss`` has PyTorch's.)

    The indices are floats holding integers (the crate's way: a ``Var`` such as a batch of
    labels) or any integer array or list, converted to a constant (float32 or wider when the
    input's dtype cannot hold every class index exactly, e.g. float16 with more than 2049
    classes). Indices must be integers in ``[0, C)``, else ``ValueError``: checked when the loss
    is built (a leaf target) and by every ``forward`` (so values assigned later are checked too).

    >>> nk.nn.loss.nll_loss(nk.from_ndarray([[-1.0, -2.0]]), [1]).forward().item()
    2.0
    """
    op = "nll_loss"
    mode = _reduction(op, reduction)
    log_probabilities = _input(op, input)
    shape = log_probabilities.shape
    if len(shape) >= 2:
        _check_mean(op, mode, log_probabilities, math.prod(shape[:1] + shape[2:]))
    indices = _index_target(op, log_probabilities, target)
    weights = _class_weight(op, log_probabilities, weight)
    node = NLL(log_probabilities._node, indices._node, weights, _ignore_index(op, ignore_index), mode)
    return cast(_V, wrap(node))


def cross_entropy_loss(
    input: _V,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: "str | Reduction" = "mean",
    label_smoothing: float = 0.0,
) -> _V:
    """Cross-entropy of logits ``x (N, C, *d)`` (``(C,)`` for one sample): log-softmax over the
    class axis and NLL fused in one node, finite for logits of any size (±1e4 included).

    The target is either class indices ``t (N, *d)`` (as :func:`nll_loss`: floats holding
    integers or integer arrays; ``weight`` and ``ignore_index`` as there) or class
    probabilities of the input's shape (``ignore_index`` does not apply; "mean" divides by
    ``N·Π d``; the target receives a gradient when differentiable). ``label_smoothing`` ``ε`` in
    [0, 1] mixes the target with the uniform distribution: ``(1-ε)·target + ε/C``. Values and
    gradients are ``torch.nn.functional.cross_entropy``'s, weighted mean included.

    >>> logits = nk.from_ndarray([[2.0, 0.0, 0.0]])
    >>> round(nk.nn.loss.cross_entropy_loss(logits, [0]).forward().item(), 4)
    0.2395
    """
    op = "cross_entropy_loss"
    mode = _reduction(op, reduction)
    logits = _input(op, input)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    class_weight = _class_weight(op, logits, weight)
    ignore_index = _ignore_index(op, ignore_index)
    shape = logits.shape
    if len(shape) == 1:  # one sample: (C,) logits, a () index or (C,) probabilities
        goal = target if isinstance(target, Var) else _target(op, logits, target, float64 if shape[0] > 2**24 else None)
        if goal.shape not in ((), shape):
            raise ValueError(f"{op}: for logits of shape {shape} the target is one class index, shape (), or probabilities of shape {shape}; got {goal.shape}")
        batched = cross_entropy_loss(logits.unsqueeze(0), goal.unsqueeze(0), weight, ignore_index, mode, label_smoothing)
        return cast(_V, batched.reshape(()) if mode == "none" else batched)
    if len(shape) < 2:
        raise ValueError(f"{op}: input must be logits of shape (C,), (N, C) or (N, C, d1, ...), got {shape}")
    if getattr(target, "shape", None) == shape or (not isinstance(target, Var) and _shape_of(target) == shape):
        _check_mean(op, mode, logits)
        probabilities = _target(op, logits, target)
        return cast(_V, wrap(SoftCrossEntropy(logits._node, probabilities._node, class_weight, mode, float(label_smoothing))))
    _check_mean(op, mode, logits, math.prod(shape[:1] + shape[2:]))
    indices = _index_target(op, logits, target)
    return cast(_V, wrap(CrossEntropy(logits._node, indices._node, class_weight, ignore_index, mode, float(label_smoothing))))


def _shape_of(value: Any) -> "tuple[int, ...] | None":
    """The shape of an array or of nested lists (None when it has none)."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return tuple(int(d) for d in shape)
    dims: list[int] = []
    while isinstance(value, (list, tuple)):
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(dims)
