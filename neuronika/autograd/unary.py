"""Element-wise maths: ``log1p, expm1, log2, log10, sin, cos, tan, square, rsqrt, reciprocal,
erf`` and the step functions ``sign, floor, ceil, round`` (whose gradient is zero, as PyTorch's).

Each op is a :class:`Pointwise` node: ``function`` computes ``y = f(x)`` with one or two Array API
calls, ``derivative`` gives ``f'(x)`` from ``x`` and ``y``, and the VJP is ``g · f'(x)``. ``erf``
has no Array API or NumPy function: its kernel is looked up from the backend when the op is built
(``backend.kernel("erf", kernels.special.erf)``; CuPy registers ``cupyx.scipy.special.erf``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..kernels import special
from ._build import require_floating
from .arithmetic import Unary
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Pointwise(Unary):
    """``y = f(x)`` element-wise, VJP ``g · f'(x)``; subclasses give ``function`` and ``derivative``."""

    __slots__ = ()

    def __init__(self, operand: Node) -> None:
        require_floating(self.name, operand)
        super().__init__(operand)

    def function(self, xp: Any, x: Any) -> Any:
        """``f(x)`` element-wise (every op of the family defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define function(xp, x)")

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        """``f'(x)`` element-wise, given ``x`` and ``y = f(x)`` (every differentiable op defines it)."""
        raise NotImplementedError(f"{type(self).__name__} must define derivative(xp, x, y)")

    def _forward(self) -> None:
        self.value = self.function(self.xp, self.inputs[0].value)

    def _backward(self) -> None:
        operand = self.inputs[0]
        operand.add_grad(self.grad * self.derivative(self.xp, operand.value, self.value))


class Step(Pointwise):
    """A piecewise-constant function: its gradient is zero wherever it exists, and taken as zero
    at the jumps (as PyTorch does), so nothing is pushed back (a leaf's ``.grad`` reads zeros)."""

    __slots__ = ()

    def _backward(self) -> None:
        pass


class Log1p(Pointwise):
    """``ln(1 + x)``, accurate for small ``x``; ``f' = 1 / (1 + x)``."""

    __slots__ = ()
    name = "log1p"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.log1p(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return 1.0 / (1.0 + x)


class Expm1(Pointwise):
    """``eˣ - 1``, accurate for small ``x``; ``f' = y + 1``."""

    __slots__ = ()
    name = "expm1"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.expm1(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return y + 1.0


class Log2(Pointwise):
    """``log₂ x``; ``f' = 1 / (x ln 2)``."""

    __slots__ = ()
    name = "log2"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.log2(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return 1.0 / (x * math.log(2.0))


class Log10(Pointwise):
    """``log₁₀ x``; ``f' = 1 / (x ln 10)``."""

    __slots__ = ()
    name = "log10"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.log10(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return 1.0 / (x * math.log(10.0))


class Sin(Pointwise):
    __slots__ = ()
    name = "sin"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.sin(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return xp.cos(x)


class Cos(Pointwise):
    __slots__ = ()
    name = "cos"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.cos(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return -xp.sin(x)


class Tan(Pointwise):
    """``tan x``; ``f' = 1 + y²``."""

    __slots__ = ()
    name = "tan"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.tan(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return 1.0 + y * y


class Square(Pointwise):
    __slots__ = ()
    name = "square"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.square(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return x * 2.0


class Rsqrt(Pointwise):
    """``1 / √x``; ``f' = -y³ / 2``."""

    __slots__ = ()
    name = "rsqrt"

    def function(self, xp: Any, x: Any) -> Any:
        return 1.0 / xp.sqrt(x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return (y * y * y) * -0.5


class Reciprocal(Pointwise):
    """``1 / x``; ``f' = -y²``."""

    __slots__ = ()
    name = "reciprocal"

    def function(self, xp: Any, x: Any) -> Any:
        return 1.0 / x

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return -(y * y)


class Erf(Pointwise):
    """``erf x = 2/√π ∫₀ˣ e^(-t²) dt``; ``f' = 2/√π · e^(-x²)``. The kernel is the backend's
    override of ``erf`` when it has one, else the generic Array API kernel (``kernels/special.py``)."""

    __slots__ = ("kernel",)
    name = "erf"

    def __init__(self, operand: Node) -> None:
        super().__init__(operand)
        self.kernel = self.backend.kernel("erf", special.erf)

    def function(self, xp: Any, x: Any) -> Any:
        return self.kernel(xp, x)

    def derivative(self, xp: Any, x: Any, y: Any) -> Any:
        return xp.exp(-(x * x)) * _TWO_OVER_SQRT_PI


class Sign(Step):
    """``-1, 0, 1`` for negative, zero, positive ``x`` (NaN stays NaN)."""

    __slots__ = ()
    name = "sign"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.sign(x)


class Floor(Step):
    __slots__ = ()
    name = "floor"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.floor(x)


class Ceil(Step):
    __slots__ = ()
    name = "ceil"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.ceil(x)


class Round(Step):
    """The nearest integer, halves to even (``round(0.5) = 0``, ``round(1.5) = 2``), as PyTorch."""

    __slots__ = ()
    name = "round"

    def function(self, xp: Any, x: Any) -> Any:
        return xp.round(x)


# --- the public functions, bound to Var as methods (variable.py's table) and exported as nk.X --
def log1p(x: V) -> V:
    """``ln(1 + x)`` element-wise, accurate for small ``x``; same shape as ``x``.

    >>> nk.zeros(2).log1p().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Log1p(_handles.node_of(x, "log1p")))


def expm1(x: V) -> V:
    """``e ** x - 1`` element-wise, accurate for small ``x``; same shape as ``x``.

    >>> nk.zeros(2).expm1().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Expm1(_handles.node_of(x, "expm1")))


def log2(x: V) -> V:
    """Base-2 logarithm element-wise; same shape as ``x``.

    >>> nk.full(2, 8.0).log2().forward().numpy().tolist()
    [3.0, 3.0]
    """
    return _handles.same(x, Log2(_handles.node_of(x, "log2")))


def log10(x: V) -> V:
    """Base-10 logarithm element-wise; same shape as ``x``.

    >>> nk.full(2, 100.0, dtype="float64").log10().forward().numpy().tolist()
    [2.0, 2.0]
    """
    return _handles.same(x, Log10(_handles.node_of(x, "log10")))


def sin(x: V) -> V:
    """Sine element-wise (radians); same shape as ``x``.

    >>> nk.zeros(2).sin().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Sin(_handles.node_of(x, "sin")))


def cos(x: V) -> V:
    """Cosine element-wise (radians); same shape as ``x``.

    >>> nk.zeros(2).cos().forward().numpy().tolist()
    [1.0, 1.0]
    """
    return _handles.same(x, Cos(_handles.node_of(x, "cos")))


def tan(x: V) -> V:
    """Tangent element-wise (radians); same shape as ``x``.

    >>> nk.zeros(2).tan().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Tan(_handles.node_of(x, "tan")))


def square(x: V) -> V:
    """``x * x`` element-wise; same shape as ``x``.

    >>> nk.full(2, 3.0).square().forward().numpy().tolist()
    [9.0, 9.0]
    """
    return _handles.same(x, Square(_handles.node_of(x, "square")))


def rsqrt(x: V) -> V:
    """``1 / sqrt(x)`` element-wise; same shape as ``x``.

    >>> nk.full(2, 4.0).rsqrt().forward().numpy().tolist()
    [0.5, 0.5]
    """
    return _handles.same(x, Rsqrt(_handles.node_of(x, "rsqrt")))


def reciprocal(x: V) -> V:
    """``1 / x`` element-wise; same shape as ``x``.

    >>> nk.full(2, 4.0).reciprocal().forward().numpy().tolist()
    [0.25, 0.25]
    """
    return _handles.same(x, Reciprocal(_handles.node_of(x, "reciprocal")))


def erf(x: V) -> V:
    """The error function ``2/√π ∫₀ˣ e^(-t²) dt`` element-wise; same shape as ``x``. Accurate
    to 3e-15 (relative) in float64 and to float32 rounding (see ``neuronika.kernels.special``).

    >>> nk.full(1, 1.0, dtype="float64").erf().forward().item()
    0.84270079294971...
    """
    return _handles.same(x, Erf(_handles.node_of(x, "erf")))


def sign(x: V) -> V:
    """``-1``, ``0`` or ``1`` by the sign of each element; zero gradient; same shape as ``x``.

    >>> nk.from_ndarray([-2.0, 0.0, 3.0]).sign().forward().numpy().tolist()
    [-1.0, 0.0, 1.0]
    """
    return _handles.same(x, Sign(_handles.node_of(x, "sign")))


def floor(x: V) -> V:
    """The largest integer ``≤ x`` element-wise (as floats); zero gradient; same shape as ``x``.

    >>> nk.from_ndarray([-1.5, 1.5]).floor().forward().numpy().tolist()
    [-2.0, 1.0]
    """
    return _handles.same(x, Floor(_handles.node_of(x, "floor")))


def ceil(x: V) -> V:
    """The smallest integer ``≥ x`` element-wise (as floats); zero gradient; same shape as ``x``.

    >>> nk.from_ndarray([-1.5, 1.5]).ceil().forward().numpy().tolist()
    [-1.0, 2.0]
    """
    return _handles.same(x, Ceil(_handles.node_of(x, "ceil")))


def round(x: V) -> V:
    """The nearest integer element-wise, halves to even (as PyTorch and NumPy); zero gradient.

    >>> nk.from_ndarray([0.5, 1.5, -2.5]).round().forward().numpy().tolist()
    [0.0, 2.0, -2.0]
    """
    return _handles.same(x, Round(_handles.node_of(x, "round")))
