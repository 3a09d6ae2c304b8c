"""Reductions over the whole variable or over ``axis`` (with ``keepdims``): ``sum``, ``mean``,
``max``/``min`` (values, as PyTorch's ``amax``/``amin``), ``argmax``/``argmin`` (int64), ``prod``,
``var``/``std`` (with ``correction``), ``logsumexp``, ``norm``, and the running ``cumsum``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..backends import DType, bool_, float16, float32, int32, int64
from .._args import boolean, integers
from ._build import normalize_axis
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var


def plan_axes(
    op: str, shape: tuple[int, ...], axis: "int | tuple[int, ...] | None", keepdims: bool
) -> "tuple[tuple[int, ...] | None, tuple[int, ...], tuple[int, ...]]":
    """A reduction's shape rule: the sorted non-negative axes (None for all), the operand's shape
    with those axes set to 1 (``kept_shape``, to broadcast a gradient back) and the output shape."""
    ndim = len(shape)
    if axis is None:
        axes = tuple(range(ndim))
    else:
        raw = integers(op, "axis", axis)
        axes = tuple(sorted({normalize_axis(op, a, ndim) for a in raw}))
        if len(axes) != len(raw):
            raise ValueError(f"{op}: axis {axis} repeats an axis")
    keepdims = boolean(op, "keepdims", keepdims)
    kept_shape = tuple(1 if i in axes else d for i, d in enumerate(shape))
    out_shape = kept_shape if keepdims else tuple(d for i, d in enumerate(shape) if i not in axes)
    return (axes if axis is not None else None), kept_shape, out_shape


class Sum(Node):
    """``Σ x`` over ``axis`` (all axes when None); the VJP broadcasts ``g`` back to ``x``'s shape.
    Integer and bool variables sum to int64 (as PyTorch: a bool sum counts the True values).
    float16 variables are summed in float32 and the result rounded once to float16 (PyTorch's
    accumulation type): a float16 accumulator loses every addend below half its ulp (the sum of
    4000 values 10.5 along a strided axis stalled at 32768) and overflows at 65504 before a
    mean divides."""

    __slots__ = ("axis", "keepdims", "kept_shape", "scale", "out_dtype", "half")
    name = "sum"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fib"

    def __new__(cls, operand: Node, *args: Any, **kwargs: Any) -> "Sum":
        # a sum that converts its operand is a WidenedSum wherever it is built (the replay
        # compiler inlines plain Sums as one xp.sum call)
        widens = operand.dtype is float16 or operand.dtype in (int32, bool_)
        return super().__new__(WidenedSum if cls is Sum and widens else cls)

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        axes, kept_shape, shape = plan_axes(self.name, operand.shape, axis, keepdims)
        dtype = operand.dtype if operand.dtype.is_floating else int64
        self._setup((operand,), shape, dtype, operand.backend)
        self.half = accumulated(self)
        self.out_dtype = None if dtype is operand.dtype else operand.backend.dtype(dtype)
        self.axis = axes
        self.keepdims = keepdims
        self.kept_shape = kept_shape
        self.scale = 1.0

    def _forward(self) -> None:
        value = self.inputs[0].value
        if self.out_dtype is not None:  # bool or int32: counted in int64 (the standard sums no bools)
            value = self.xp.astype(value, self.out_dtype)
        if self.half is not None:  # float16: added up in float32, rounded once
            total = self.xp.sum(value, axis=self.axis, keepdims=self.keepdims, dtype=self.half[1])
            total = total if self.scale == 1.0 else total * self.scale
            self.value = self.xp.astype(total, self.half[0])
            return
        total = self.xp.sum(value, axis=self.axis, keepdims=self.keepdims)
        self.value = total if self.scale == 1.0 else total * self.scale

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        grad = self.grad if self.scale == 1.0 else self.grad * self.scale
        operand.add_grad(xp.broadcast_to(xp.reshape(grad, self.kept_shape), operand.shape))


class WidenedSum(Sum):
    """A :class:`Sum` of float16 (accumulated in float32), int32 or bool values (counted in
    int64); ``Sum(...)`` of such an operand builds one. The same maths in its own class: the
    replay compiler inlines plain sums as one ``xp.sum`` call (no conversion: a bool sum failed
    on array_api_strict, which sums no bools), and runs this one's ``_forward``."""

    __slots__ = ()


def accumulated(node: Node) -> "tuple[Any, Any] | None":
    """``(float16, float32)`` backend dtypes when ``node``'s operand is float16 (a reduction then
    accumulates in float32, as PyTorch), else None."""
    operand = node.inputs[0]
    if operand.dtype is not float16:
        return None
    return operand.backend.dtype(float16), operand.backend.dtype(float32)


def widened(node: Node, array: Any) -> Any:
    """``array`` in float32 when the reduction accumulates float16 values, else unchanged."""
    half = node.half  # type: ignore[attr-defined]
    return array if half is None else node.xp.astype(array, half[1])


def narrowed(node: Node, array: Any) -> Any:
    """``array`` rounded back to float16 when the reduction accumulated float16 values."""
    half = node.half  # type: ignore[attr-defined]
    return array if half is None else node.xp.astype(array, half[0])


class Mean(Sum):
    """``Σ x / n`` over ``axis`` (all axes when None), n the number of elements reduced."""

    __slots__ = ()
    name = "mean"
    kinds = "f"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        super().__init__(operand, axis, keepdims)
        axes = self.axis if self.axis is not None else range(len(operand.shape))
        count = math.prod(operand.shape[a] for a in axes)
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis of a variable of shape {operand.shape}")
        self.scale = 1.0 / count


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
# Each returns its operand's kind (``V``): a VarDiff stays a VarDiff for type checkers.
def sum(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """Sum over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).

    ``(2, 3).sum(axis=0) → (3,)``; with ``keepdims=True`` → ``(1, 3)``.

    >>> nk.ones((2, 3)).sum(axis=0).forward().numpy().tolist()
    [2.0, 2.0, 2.0]
    """
    return _handles.same(x, Sum(x._node, axis, keepdims))


def mean(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """Mean over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).

    ``(2, 3).mean(axis=1) → (2,)``; with ``keepdims=True`` → ``(2, 1)``.

    >>> nk.ones((2, 3)).mean().forward().item()
    1.0
    """
    return _handles.same(x, Mean(x._node, axis, keepdims))


class Reduction(Node):
    """A reduction over ``axis`` (an int, a tuple, or None for all axes) with ``keepdims``;
    ``kept_shape`` is the operand's shape with the reduced axes set to 1, where a reduced value
    or gradient is reshaped to broadcast back against the operand."""

    __slots__ = ("axis", "keepdims", "kept_shape", "count", "half")

    def _plan(self, operand: Node, axis: "int | tuple[int, ...] | None", keepdims: bool, dtype: "DType | None" = None,
              nonempty: bool = False) -> None:
        axes, kept_shape, shape = plan_axes(self.name, operand.shape, axis, keepdims)
        self._setup((operand,), shape, dtype or operand.dtype, operand.backend)
        self.axis, self.keepdims, self.kept_shape = axes, keepdims, kept_shape
        self.half = accumulated(self)
        # elements per reduced slice (an empty axis that is kept leaves an empty output, not empty slices)
        self.count = math.prod(operand.shape[a] for a in (axes if axes is not None else range(len(operand.shape))))
        if nonempty and self.count == 0:
            raise ValueError(f"{self.name}: cannot reduce the empty variable of shape {operand.shape} over axis {axis}")

    def _kept(self, array: Any) -> Any:
        return self.xp.reshape(array, self.kept_shape)


class Max(Reduction):
    """The largest value over ``axis`` (PyTorch's ``amax``: values only). The gradient is split
    evenly among the elements that attain the maximum (ties share it)."""

    __slots__ = ()
    name = "max"
    kinds = "fi"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        self._plan(operand, axis, keepdims, nonempty=True)

    def _forward(self) -> None:
        self.value = self.xp.max(self.inputs[0].value, axis=self.axis, keepdims=self.keepdims)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        winners = xp.astype(operand.value == self._kept(self.value), self.backend.dtype(self.dtype))
        share = self._kept(self.grad) / xp.sum(winners, axis=self.axis, keepdims=True)
        operand.add_grad(winners * share)


class Min(Max):
    """The smallest value over ``axis`` (PyTorch's ``amin``); ties share the gradient evenly."""

    __slots__ = ()
    name = "min"

    def _forward(self) -> None:
        self.value = self.xp.min(self.inputs[0].value, axis=self.axis, keepdims=self.keepdims)


class ArgMax(Reduction):
    """The int64 position of the largest value along ``axis`` (of the flattened variable when
    None); the first one on ties. Not differentiable."""

    __slots__ = ()
    name = "argmax"
    kinds = "fi"

    def __init__(self, operand: Node, axis: "int | None" = None, keepdims: bool = False) -> None:
        if axis is not None and not isinstance(axis, int):
            raise TypeError(f"{self.name}: axis must be an int or None, got {axis!r}")
        self._plan(operand, axis, keepdims, dtype=int64, nonempty=True)
        self.differentiable = self.requires_grad = False

    def _forward(self) -> None:
        xp = self.xp
        axis = None if self.axis is None else self.axis[0]
        found = getattr(xp, self.name)(self.inputs[0].value, axis=axis, keepdims=self.keepdims)
        self.value = xp.astype(found, xp.int64, copy=False)


class ArgMin(ArgMax):
    """The int64 position of the smallest value along ``axis``; the first one on ties."""

    __slots__ = ()
    name = "argmin"


class Prod(Reduction):
    """``Π x`` over ``axis``. The gradient of each element is the product of the others, computed
    without dividing by zero or by infinity: the finite non-zero elements' product ``P`` divided
    by the element (``P`` itself for a 0 or ±inf element), times the product of the slice's other
    zeros and infinities (1 when there are none, 0 with a zero, ±inf with an infinity, NaN with
    both: ``0·inf``). ``[2, inf, 3]`` gives ``[inf, 6, inf]``; a slice without 0 or ±inf gives
    exactly ``P / x``."""

    __slots__ = ()
    name = "prod"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        self._plan(operand, axis, keepdims)

    def _forward(self) -> None:
        self.value = self.xp.prod(self.inputs[0].value, axis=self.axis, keepdims=self.keepdims)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        x = operand.value
        dtype = self.backend.dtype(self.dtype)
        zero, infinite = x == 0, xp.isinf(x)
        special = xp.logical_or(zero, infinite)
        safe = xp.where(special, 1.0, x)
        finite = xp.prod(safe, axis=self.axis, keepdims=True) / safe  # P / x (P at a 0 or ±inf)
        # the zeros and infinities among the *other* elements of each slice, and their sign
        zeros = xp.sum(xp.astype(zero, dtype), axis=self.axis, keepdims=True) - xp.astype(zero, dtype)
        infinities = xp.sum(xp.astype(infinite, dtype), axis=self.axis, keepdims=True) - xp.astype(infinite, dtype)
        own_sign = xp.where(infinite, xp.sign(x), 1.0)
        sign = xp.prod(own_sign, axis=self.axis, keepdims=True) * own_sign  # ±1: dividing is multiplying
        rest = xp.where(zeros > 0, xp.where(infinities > 0, xp.full_like(sign, float("nan")), xp.zeros_like(sign)),
                        xp.where(infinities > 0, sign * float("inf"), xp.ones_like(sign)))
        operand.add_grad(self._kept(self.grad) * (finite * rest))


class Variance(Reduction):
    """``Σ (x - mean)² / (n - correction)`` over ``axis``; the gradient is
    ``g · 2 (x - mean) / (n - correction)`` (the mean's own dependence on x sums to zero).
    float16 values are reduced in float32, as :class:`Sum`."""

    __slots__ = ("correction", "centered")
    name = "var"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None", correction: float, keepdims: bool) -> None:
        if isinstance(correction, bool) or not isinstance(correction, (int, float)) or correction < 0:
            raise ValueError(f"{self.name}: correction must be a non-negative number, got {correction!r}")
        self._plan(operand, axis, keepdims)
        if self.count - correction <= 0:
            raise ValueError(
                f"{self.name}: {self.count} element(s) per slice of the {operand.shape} variable (axis "
                f"{axis}) leave no degrees of freedom with correction={correction}; "
                + ("reduce over more elements" if self.count == 0 or correction == 0 else
                   "use correction=0 (the biased estimate) or reduce over more elements")
            )
        self.correction = float(correction)
        self.centered = None

    def _forward(self) -> None:
        xp = self.xp
        x = widened(self, self.inputs[0].value)  # float16: in float32
        centered = x - xp.mean(x, axis=self.axis, keepdims=True)
        total = xp.sum(centered * centered, axis=self.axis, keepdims=self.keepdims)
        self.centered = narrowed(self, centered)
        self.value = narrowed(self, total / (self.count - self.correction))

    def _backward(self) -> None:
        scale = 2.0 / (self.count - self.correction)
        self.inputs[0].add_grad(self._kept(self.grad) * self.centered * scale)


class Std(Variance):
    """``sqrt(var)`` over ``axis``; the gradient is ``g · (x - mean) / ((n - correction)·std)``,
    and 0 where the std is 0 (a constant slice: PyTorch's subgradient, not 0/0)."""

    __slots__ = ()
    name = "std"

    def _forward(self) -> None:
        Variance._forward(self)
        self.value = self.xp.sqrt(self.value)  # (float16: the root of the rounded variance, within 1 ulp)

    def _backward(self) -> None:
        xp = self.xp
        std = self._kept(self.value)
        zero = std == 0
        scale = xp.where(zero, 0.0, self._kept(self.grad) / (xp.where(zero, 1.0, std) * (self.count - self.correction)))
        self.inputs[0].add_grad(self.centered * scale)


class LogSumExp(Reduction):
    """``ln Σ exp(x)`` over ``axis``, shifted by the maximum (finite for inputs of ±1e4; an
    all ``-inf`` slice gives ``-inf``); the gradient is ``g · softmax(x)``."""

    __slots__ = ("kept_value",)
    name = "logsumexp"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        self._plan(operand, axis, keepdims, nonempty=True)
        self.kept_value = None

    def _forward(self) -> None:
        xp = self.xp
        x = self.inputs[0].value
        shift = xp.max(x, axis=self.axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0.0)
        self.kept_value = xp.log(xp.sum(xp.exp(x - shift), axis=self.axis, keepdims=True)) + shift
        self.value = self.kept_value if self.keepdims else xp.reshape(self.kept_value, self.shape)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        operand.add_grad(self._kept(self.grad) * xp.exp(operand.value - self.kept_value))


class Norm(Reduction):
    """The Euclidean norm ``sqrt(Σ x²)`` over ``axis``; the gradient is ``g · x / norm``, and 0
    where the norm is 0 (PyTorch's subgradient). float16 values are squared and summed in float32
    (a float16 square overflows from 256 on)."""

    __slots__ = ()
    name = "norm"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        self._plan(operand, axis, keepdims)

    def _forward(self) -> None:
        x = widened(self, self.inputs[0].value)  # float16: squares above 65504 are fine in float32
        self.value = narrowed(self, self.xp.sqrt(self.xp.sum(x * x, axis=self.axis, keepdims=self.keepdims)))

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        norm = self._kept(self.value)
        zero = norm == 0
        scale = xp.where(zero, 0.0, self._kept(self.grad) / xp.where(zero, 1.0, norm))
        operand.add_grad(operand.value * scale)


class CumSum(Node):
    """Running sums along ``axis`` (same shape); the gradient is the reversed running sum of
    ``g``. Integer and bool variables sum in int64; float16 ones in float32, rounded once."""

    __slots__ = ("axis", "out_dtype", "half")
    name = "cumsum"
    kinds = "fib"

    def __init__(self, operand: Node, axis: int) -> None:
        axis = normalize_axis(self.name, axis, len(operand.shape))
        dtype = operand.dtype if operand.dtype.is_floating else int64
        self._setup((operand,), operand.shape, dtype, operand.backend)
        self.axis = axis
        self.out_dtype = None if dtype is operand.dtype else self.backend.dtype(dtype)
        self.half = accumulated(self)

    def _forward(self) -> None:
        value = self.inputs[0].value
        if self.out_dtype is not None:
            value = self.xp.astype(value, self.out_dtype)
        self.value = narrowed(self, self.xp.cumulative_sum(widened(self, value), axis=self.axis))

    def _backward(self) -> None:
        xp, axis = self.xp, self.axis
        self.inputs[0].add_grad(xp.flip(xp.cumulative_sum(xp.flip(self.grad, axis=axis), axis=axis), axis=axis))


# --- the public functions of the reductions above (variable.py's table) ------------------------
def max(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """The largest value over ``axis`` (all axes when None): values only, as PyTorch's ``amax``
    (use ``argmax`` for positions); ``(2, 3).max(axis=1) → (2,)``. Tied maxima share the
    gradient evenly.

    >>> nk.from_ndarray([[1.0, 3.0], [4.0, 2.0]]).max(axis=1).forward().numpy().tolist()
    [3.0, 4.0]
    """
    return _handles.same(x, Max(x._node, axis, keepdims))


def min(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """The smallest value over ``axis`` (PyTorch's ``amin``); tied minima share the gradient.

    >>> nk.from_ndarray([[1.0, 3.0], [4.0, 2.0]]).min().forward().item()
    1.0
    """
    return _handles.same(x, Min(x._node, axis, keepdims))


def argmax(x: Var, axis: int | None = None, keepdims: bool = False) -> Var:
    """The int64 index of the largest value along ``axis`` (into the flattened variable when
    None); the first one on ties: ``(2, 3).argmax(axis=1) → (2,)``.

    >>> nk.from_ndarray([[1.0, 3.0], [4.0, 2.0]]).argmax(axis=1).forward().numpy().tolist()
    [1, 0]
    """
    return _handles.Var(ArgMax(x._node, axis, keepdims))


def argmin(x: Var, axis: int | None = None, keepdims: bool = False) -> Var:
    """The int64 index of the smallest value along ``axis`` (flattened when None); first on ties.

    >>> nk.from_ndarray([[1.0, 3.0], [4.0, 2.0]]).argmin().forward().item()
    0
    """
    return _handles.Var(ArgMin(x._node, axis, keepdims))


def prod(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """The product over ``axis`` (all axes when None); its gradient is exact with zeros.

    >>> nk.from_ndarray([[1.0, 2.0], [3.0, 4.0]]).prod(axis=0).forward().numpy().tolist()
    [3.0, 8.0]
    """
    return _handles.same(x, Prod(x._node, axis, keepdims))


def var(x: V, axis: int | tuple[int, ...] | None = None, correction: float = 1, keepdims: bool = False) -> V:
    """The variance ``Σ (x - mean)² / (n - correction)`` over ``axis`` (all axes when None);
    ``correction=1`` (the default, as PyTorch) is the unbiased estimate, ``0`` the population's.

    >>> nk.from_ndarray([1.0, 2.0, 3.0, 4.0], dtype="float64").var().forward().item()
    1.6666666666666667
    """
    return _handles.same(x, Variance(x._node, axis, correction, keepdims))


def std(x: V, axis: int | tuple[int, ...] | None = None, correction: float = 1, keepdims: bool = False) -> V:
    """The standard deviation ``sqrt(var(x, axis, correction))``.

    >>> nk.from_ndarray([1.0, 3.0]).std(correction=0).forward().item()
    1.0
    """
    return _handles.same(x, Std(x._node, axis, correction, keepdims))


def logsumexp(x: V, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """``ln Σ exp(x)`` over ``axis`` (all axes when None), computed stably (inputs of ±1e4 stay
    finite); the gradient is the softmax over the same axes.

    >>> nk.from_ndarray([10000.0, 10000.0], dtype="float32").logsumexp().forward().item()
    10000.693359375
    """
    return _handles.same(x, LogSumExp(x._node, axis, keepdims))


def norm(x: V, ord: float = 2, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> V:
    """The Euclidean (``ord=2``) norm over ``axis`` (all elements when None; PyTorch's
    ``linalg.vector_norm``). Other orders are compositions: ``x.abs().sum()`` for 1,
    ``x.abs().max()`` for infinity.

    >>> nk.from_ndarray([3.0, 4.0]).norm().forward().item()
    5.0
    """
    if ord != 2 or isinstance(ord, bool):
        raise ValueError(f"norm: only ord=2 is supported, got {ord!r}; write x.abs().sum() for ord=1, x.abs().max() for inf")
    return _handles.same(x, Norm(x._node, axis, keepdims))


def cumsum(x: V, axis: int) -> V:
    """Running sums along ``axis``; same shape (integer and bool variables sum in int64).

    >>> nk.from_ndarray([1.0, 2.0, 3.0]).cumsum(0).forward().numpy().tolist()
    [1.0, 3.0, 6.0]
    """
    return _handles.same(x, CumSum(x._node, axis))
