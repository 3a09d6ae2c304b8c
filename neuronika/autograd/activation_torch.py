"""Activations beyond the crate's, with PyTorch's definitions, defaults and gradients at the kinks:
``gelu, silu, mish, elu, selu, celu, hardtanh, relu6, hardsigmoid, hardswish, softsign,
log_sigmoid``.

Each is a :class:`~neuronika.autograd.unary.Pointwise` node (``y = f(x)``, VJP ``g · f'(x)``).
The smooth ones keep the intermediate their derivative needs (``Φ(x)``, ``σ(x)``, …) from the
forward pass. Exponentials only ever see ``min(x, 0)`` and sigmoids go through ``tanh``, so inputs
of ±1e4 stay finite. At a kink the derivative is the one PyTorch's backward uses (tested against
it): ELU/SELU/CELU take the left branch at 0; hardtanh/relu6 and hardsigmoid give 0 on the
boundaries; hardswish gives 0 at -3 and 1 at 3.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._args import real
from ..kernels import special
from .node import Node
from .unary import Pointwise
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var

#: SELU's constants (Klambauer et al., 2017), as PyTorch
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _sigmoid(xp: Any, x: Any) -> Any:
    """``σ(x) = (tanh(x/2) + 1) / 2``, which never overflows."""
    return xp.tanh(x * 0.5) * 0.5 + 0.5


class GELU(Pointwise):
    """``x · Φ(x)``, ``Φ(x) = (1 + erf(x/√2)) / 2``; ``f' = Φ(x) + x · φ(x)``. With
    ``approximate="tanh"``: ``x · (1 + tanh(u)) / 2``, ``u = √(2/π) (x + 0.044715 x³)``."""

    __slots__ = ("approximate", "kernel", "cache")
    name = "gelu"

    def __init__(self, operand: Node, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(operand)
        self.approximate = approximate
        self.kernel = self.backend.kernel("erf", special.erf)

    def function(self, xp: Any, x: Any) -> Any:
        if self.approximate == "tanh":
            self.cache = xp.tanh((x + x * x * x * _GELU_CUBIC) * _SQRT_2_OVER_PI)  # tanh(u)
            return x * (self.cache + 1.0) * 0.5
        self.cache = self.kernel(xp, x * _SQRT_HALF) * 0.5 + 0.5  # Φ(x)
        return x * self.cache

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        if self.approximate == "tanh":
            t = self.cache
            inner = (1.0 + x * x * (3.0 * _GELU_CUBIC)) * _SQRT_2_OVER_PI
            return (t + 1.0) * 0.5 + x * (1.0 - t * t) * inner * 0.5
        return self.cache + x * xp.exp(x * x * -0.5) * _INV_SQRT_2PI


class SiLU(Pointwise):
    """``x · σ(x)`` (swish); ``f' = σ(x) · (1 + x · (1 - σ(x)))``."""

    __slots__ = ("cache",)
    name = "silu"

    def function(self, xp: Any, x: Any) -> Any:
        self.cache = _sigmoid(xp, x)
        return x * self.cache

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        s = self.cache
        return s * (1.0 + x * (1.0 - s))


class Mish(Pointwise):
    """``x · tanh(softplus(x))``; ``f' = t + x · σ(x) · (1 - t²)``, ``t = tanh(softplus(x))``."""

    __slots__ = ("cache",)
    name = "mish"

    def function(self, xp: Any, x: Any) -> Any:
        self.cache = xp.tanh(xp.logaddexp(x, xp.zeros_like(x)))
        return x * self.cache

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        t = self.cache
        return t + x * _sigmoid(xp, x) * (1.0 - t * t)


class ELU(Pointwise):
    """``scale · (x if x > 0 else alpha · (exp(x / beta) - 1))``: ELU (scale 1, beta 1), SELU
    (PyTorch's constants) and CELU (beta = alpha). ``f'`` for ``x ≤ 0`` (the kink included, as
    PyTorch): ``scale · alpha / beta · exp(x / beta)``; for ``x > 0``: ``scale``."""

    __slots__ = ("alpha", "scale", "beta")
    name = "elu"

    def __init__(self, operand: Node, alpha: float = 1.0, scale: float = 1.0, beta: float = 1.0) -> None:
        super().__init__(operand)
        self.alpha, self.scale, self.beta = alpha, scale, beta

    def function(self, xp: Any, x: Any) -> Any:
        negative = xp.expm1(xp.clip(x, max=0.0) * (1.0 / self.beta)) * self.alpha
        value = xp.where(x > 0, x, negative)
        return value if self.scale == 1.0 else value * self.scale

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        slope = xp.exp(xp.clip(x, max=0.0) * (1.0 / self.beta)) * (self.alpha / self.beta)
        return xp.where(x > 0, xp.ones_like(x), slope) * self.scale


class SELU(ELU):
    __slots__ = ()
    name = "selu"

    def __init__(self, operand: Node) -> None:
        super().__init__(operand, SELU_ALPHA, SELU_SCALE)


class CELU(ELU):
    __slots__ = ()
    name = "celu"

    def __init__(self, operand: Node, alpha: float = 1.0) -> None:
        if alpha == 0.0:
            raise ValueError("celu: alpha must not be 0 (CELU divides by it)")
        super().__init__(operand, alpha, 1.0, alpha)


class Hardtanh(Pointwise):
    """``clip(x, min_val, max_val)``; ``f' = 1`` strictly inside, 0 elsewhere (boundaries included)."""

    __slots__ = ("low", "high")
    name = "hardtanh"

    def __init__(self, operand: Node, low: float = -1.0, high: float = 1.0) -> None:
        if low > high:
            raise ValueError(f"{self.name}: min_val ({low}) must not be greater than max_val ({high})")
        super().__init__(operand)
        self.low, self.high = low, high

    def function(self, xp: Any, x: Any) -> Any:
        return xp.clip(x, min=self.low, max=self.high)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return xp.astype((x > self.low) & (x < self.high), x.dtype)


class ReLU6(Hardtanh):
    __slots__ = ()
    name = "relu6"

    def __init__(self, operand: Node) -> None:
        super().__init__(operand, 0.0, 6.0)


class Hardsigmoid(Pointwise):
    """``clip(x / 6 + 1/2, 0, 1)``; ``f' = 1/6`` on ``(-3, 3)``, 0 elsewhere."""

    __slots__ = ()
    name = "hardsigmoid"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.clip(x * (1.0 / 6.0) + 0.5, min=0.0, max=1.0)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return xp.astype((x > -3.0) & (x < 3.0), x.dtype) * (1.0 / 6.0)


class Hardswish(Pointwise):
    """``x · relu6(x + 3) / 6``; ``f' = 0`` for ``x ≤ -3``, ``x/3 + 1/2`` on ``(-3, 3)``, 1 for ``x ≥ 3``."""

    __slots__ = ()
    name = "hardswish"

    def function(self, xp: Any, x: Any) -> Any:
        return x * xp.clip(x + 3.0, min=0.0, max=6.0) * (1.0 / 6.0)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        inner = xp.where(x < 3.0, x * (1.0 / 3.0) + 0.5, xp.ones_like(x))
        return xp.where(x > -3.0, inner, xp.zeros_like(x))


class Softsign(Pointwise):
    """``x / (1 + |x|)``; ``f' = 1 / (1 + |x|)²``."""

    __slots__ = ()
    name = "softsign"

    def function(self, xp: Any, x: Any) -> Any:
        return x / (xp.abs(x) + 1.0)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        root = 1.0 / (xp.abs(x) + 1.0)
        return root * root


class LogSigmoid(Pointwise):
    """``ln σ(x) = min(x, 0) - ln(1 + e^(-|x|))``; ``f' = σ(-x)``."""

    __slots__ = ()
    name = "log_sigmoid"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.clip(x, max=0.0) - xp.log1p(xp.exp(-xp.abs(x)))

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return _sigmoid(xp, -x)


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
def gelu(x: V, approximate: str = "none") -> V:
    """GELU ``x · Φ(x)`` (Φ the standard normal CDF, through ``erf``), or with
    ``approximate="tanh"`` ``x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³)))``; same shape as ``x``.

    >>> nk.from_ndarray([0.0, 10.0]).gelu().forward().numpy().tolist()
    [0.0, 10.0]
    """
    return _handles.same(x, GELU(x._node, approximate))


def silu(x: V) -> V:
    """SiLU (swish) ``x · sigmoid(x)``; same shape as ``x``.

    >>> nk.zeros(2).silu().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, SiLU(x._node))


def mish(x: V) -> V:
    """Mish ``x · tanh(softplus(x))``; same shape as ``x``.

    >>> nk.zeros(2).mish().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Mish(x._node))


def elu(x: V, alpha: float = 1.0) -> V:
    """ELU: ``x`` where positive, ``alpha · (e ** x - 1)`` elsewhere; same shape as ``x``.

    >>> nk.from_ndarray([2.0, 0.0]).elu(alpha=0.5).forward().numpy().tolist()
    [2.0, 0.0]
    """
    return _handles.same(x, ELU(x._node, real("elu", "alpha", alpha)))


def selu(x: V) -> V:
    """SELU: ``scale · elu(x, alpha)`` with ``alpha ≈ 1.6733``, ``scale ≈ 1.0507`` (PyTorch's
    constants :data:`SELU_ALPHA`, :data:`SELU_SCALE`); same shape as ``x``.

    >>> nk.zeros(2).selu().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, SELU(x._node))


def celu(x: V, alpha: float = 1.0) -> V:
    """CELU: ``x`` where positive, ``alpha · (e ** (x / alpha) - 1)`` elsewhere (``alpha ≠ 0``).

    >>> nk.from_ndarray([2.0, 0.0]).celu(alpha=2.0).forward().numpy().tolist()
    [2.0, 0.0]
    """
    return _handles.same(x, CELU(x._node, real("celu", "alpha", alpha)))


def hardtanh(x: V, min_val: float = -1.0, max_val: float = 1.0) -> V:
    """``x`` clipped to ``[min_val, max_val]`` (gradient 1 strictly inside, 0 elsewhere).

    >>> nk.from_ndarray([-3.0, 0.5, 3.0]).hardtanh().forward().numpy().tolist()
    [-1.0, 0.5, 1.0]
    """
    low, high = real("hardtanh", "min_val", min_val), real("hardtanh", "max_val", max_val)
    return _handles.same(x, Hardtanh(x._node, low, high))


def relu6(x: V) -> V:
    """``min(max(x, 0), 6)``, i.e. ``hardtanh(x, 0, 6)``; same shape as ``x``.

    >>> nk.from_ndarray([-1.0, 3.0, 9.0]).relu6().forward().numpy().tolist()
    [0.0, 3.0, 6.0]
    """
    return _handles.same(x, ReLU6(x._node))


def hardsigmoid(x: V) -> V:
    """``clip(x / 6 + 1/2, 0, 1)``, a piecewise-linear sigmoid; same shape as ``x``.

    >>> nk.from_ndarray([-4.0, 0.0, 4.0]).hardsigmoid().forward().numpy().tolist()
    [0.0, 0.5, 1.0]
    """
    return _handles.same(x, Hardsigmoid(x._node))


def hardswish(x: V) -> V:
    """``x · relu6(x + 3) / 6``; same shape as ``x``.

    >>> nk.from_ndarray([-4.0, 0.0, 4.0]).hardswish().forward().numpy().tolist()
    [-0.0, 0.0, 4.0]
    """
    return _handles.same(x, Hardswish(x._node))


def softsign(x: V) -> V:
    """``x / (1 + |x|)``; same shape as ``x``.

    >>> nk.from_ndarray([-1.0, 3.0]).softsign().forward().numpy().tolist()
    [-0.5, 0.75]
    """
    return _handles.same(x, Softsign(x._node))


def log_sigmoid(x: V) -> V:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``; same shape as ``x``.

    >>> nk.from_ndarray([0.0], dtype="float64").log_sigmoid().forward().item()
    -0.6931471805599453
    """
    return _handles.same(x, LogSigmoid(x._node))
