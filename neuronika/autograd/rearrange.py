"""Ops that move, mirror or repeat elements: ``permute``, ``transpose``, ``expand`` /
``broadcast_to``, ``flip``, ``roll``, ``tile``, ``repeat_interleave``.

Each forward pass is one Array API call; each VJP is its adjoint: the inverse permutation, a sum
over the broadcast axes, the same flip, the opposite roll, or a reshape that puts every copy of an
element on an axis of its own followed by one sum over those axes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from .._args import integer, integers, is_integer
from ._build import normalize_axis, reduction_plan, sum_to
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var


def _axes(op: str, axis: "int | Sequence[int] | None", ndim: int) -> tuple[int, ...]:
    """``axis`` (None: every axis) as distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    raw = integers(op, "axis", axis)
    axes = tuple(normalize_axis(op, a, ndim) for a in raw)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return axes


def _dims(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``f(1, 2)`` and ``f((1, 2))`` alike."""
    return tuple(args[0]) if len(args) == 1 and not is_integer(args[0]) else tuple(args)


class Permute(Node):
    """Axis ``i`` of the result is axis ``axes[i]`` of the operand; the VJP permutes back."""

    __slots__ = ("axes", "inverse")
    name = "permute"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, axes: Sequence[int]) -> None:
        ndim = len(operand.shape)
        if len(axes) != ndim:
            raise ValueError(
                f"{self.name}: got {len(axes)} axes {tuple(axes)} for a {ndim}-d variable of shape "
                f"{operand.shape}; name every axis once"
            )
        axes = tuple(normalize_axis(self.name, a, ndim) for a in axes)
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"{self.name}: axes {axes} are not a permutation of 0..{ndim - 1}")
        self._setup((operand,), tuple(operand.shape[a] for a in axes), operand.dtype, operand.backend)
        self.axes = axes
        self.inverse = tuple(sorted(range(ndim), key=axes.__getitem__))

    def _forward(self) -> None:
        self.value = self.xp.permute_dims(self.inputs[0].value, self.axes)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.xp.permute_dims(self.grad, self.inverse))


class SwapAxes(Permute):
    __slots__ = ()
    name = "transpose"


class Expand(Node):
    """The operand broadcast to ``shape`` (size-1 axes repeated, new axes in front); the VJP sums
    the gradient over those axes."""

    __slots__ = ("axes",)
    name = "expand"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, shape: Sequence[int]) -> None:
        source, lead = operand.shape, len(shape) - len(operand.shape)
        if lead < 0:
            raise ValueError(
                f"{self.name}: cannot expand {source} to {tuple(shape)}, which has fewer axes; "
                f"the target needs at least {len(source)}"
            )
        target = []
        for axis, size in enumerate(shape):
            size = integer(self.name, "every size", size, -1)
            have = source[axis - lead] if axis >= lead else None
            if size == -1:
                if have is None:
                    raise ValueError(f"{self.name}: -1 (keep the size) is not allowed for the new leading axis {axis} of {tuple(shape)}")
                size = have
            if have is not None and have != size and have != 1:
                raise ValueError(
                    f"{self.name}: cannot expand {source} to {tuple(shape)}: axis {axis} has size "
                    f"{have}, which is neither {size} nor 1"
                )
            target.append(size)
        self._setup((operand,), tuple(target), operand.dtype, operand.backend)
        self.axes = reduction_plan(source, self.shape)

    def _forward(self) -> None:
        self.value = self.xp.broadcast_to(self.inputs[0].value, self.shape)

    def _backward(self) -> None:
        operand = self.inputs[0]
        operand.add_grad(sum_to(self.xp, self.grad, self.axes, operand.shape))


class Flip(Node):
    """The order of the elements reversed along ``axes``; the VJP flips the gradient back."""

    __slots__ = ("axes",)
    name = "flip"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, axis: "int | Sequence[int] | None") -> None:
        self.axes = _axes(self.name, axis, len(operand.shape))
        self._setup((operand,), operand.shape, operand.dtype, operand.backend)

    def _forward(self) -> None:
        self.value = self.xp.flip(self.inputs[0].value, axis=self.axes)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.xp.flip(self.grad, axis=self.axes))


class Roll(Node):
    """Elements shifted by ``shift`` along ``axis`` (wrapping around; no axis: over the flattened
    variable, shape kept); the VJP rolls the gradient back by ``-shift``."""

    __slots__ = ("shift", "axis", "back")
    name = "roll"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, shift: "int | Sequence[int]", axis: "int | Sequence[int] | None") -> None:
        shifts = integers(self.name, "shift", shift)
        if axis is None:
            if len(shifts) != 1:
                raise ValueError(f"{self.name}: without axis, shift must be one int (the flattened roll), got {shift!r}")
            self.axis = None
        else:
            axes = integers(self.name, "axis", axis)
            if len(axes) != len(shifts):
                raise ValueError(f"{self.name}: {len(shifts)} shift(s) {shift!r} for {len(axes)} axis(es) {axis!r}; give one shift per axis")
            self.axis = tuple(normalize_axis(self.name, a, len(operand.shape)) for a in axes)
        self.shift = shifts if self.axis is not None else shifts[0]
        self.back = tuple(-s for s in shifts) if self.axis is not None else -shifts[0]
        self._setup((operand,), operand.shape, operand.dtype, operand.backend)

    def _forward(self) -> None:
        self.value = self.xp.roll(self.inputs[0].value, self.shift, axis=self.axis)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.xp.roll(self.grad, self.back, axis=self.axis))


class Tile(Node):
    """The operand repeated ``reps[i]`` times along axis ``i`` (shapes and ``reps`` aligned from
    the right, missing entries 1, as NumPy and PyTorch). VJP: the gradient reshaped to
    ``(r₀, s₀, r₁, s₁, …)`` and summed over the ``r`` axes."""

    __slots__ = ("reps", "split_shape", "sum_axes")
    name = "tile"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, reps: "int | Sequence[int]") -> None:
        reps = integers(self.name, "reps", reps, 0)
        ndim = max(len(reps), len(operand.shape))
        full_reps = (1,) * (ndim - len(reps)) + reps
        source = (1,) * (ndim - len(operand.shape)) + operand.shape
        self._setup((operand,), tuple(r * s for r, s in zip(full_reps, source)), operand.dtype, operand.backend)
        self.reps = reps
        self.split_shape = tuple(d for pair in zip(full_reps, source) for d in pair)
        self.sum_axes = tuple(range(0, 2 * ndim, 2))

    def _forward(self) -> None:
        self.value = self.xp.tile(self.inputs[0].value, self.reps)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        grad = xp.sum(xp.reshape(self.grad, self.split_shape), axis=self.sum_axes)
        operand.add_grad(xp.reshape(grad, operand.shape))


class RepeatInterleave(Node):
    """Each element repeated ``repeats`` times in a row along ``axis`` (no axis: of the flattened
    variable). VJP: the gradient reshaped to ``(…, s, repeats, …)`` and summed over the copies."""

    __slots__ = ("repeats", "axis", "split_shape")
    name = "repeat_interleave"
    kinds = "fib"  # rearranges any values; differentiable for floats only

    def __init__(self, operand: Node, repeats: int, axis: int | None) -> None:
        repeats = integer(self.name, "repeats", repeats, 0)
        if axis is None:
            source: tuple[int, ...] = (math.prod(operand.shape),)
            axis_ = 0
        else:
            source, axis_ = operand.shape, normalize_axis(self.name, axis, len(operand.shape))
        shape = source[:axis_] + (source[axis_] * repeats,) + source[axis_ + 1 :]
        self._setup((operand,), shape, operand.dtype, operand.backend)
        self.repeats, self.axis = repeats, axis if axis is None else axis_
        self.split_shape = source[: axis_ + 1] + (repeats,) + source[axis_ + 1 :]

    def _forward(self) -> None:
        self.value = self.xp.repeat(self.inputs[0].value, self.repeats, axis=self.axis)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        axis = 0 if self.axis is None else self.axis
        grad = xp.sum(xp.reshape(self.grad, self.split_shape), axis=axis + 1)
        operand.add_grad(xp.reshape(grad, operand.shape))


# --- the public functions, bound to Var as methods (variable.py's table) and exported as nk.X --
def permute(x: V, *axes: int | Sequence[int]) -> V:
    """The axes reordered: axis ``i`` of the result is axis ``axes[i]`` of ``x`` (PyTorch's
    ``permute``, the Array API's ``permute_dims``); ``(2, 3, 4).permute(2, 0, 1) → (4, 2, 3)``.

    >>> nk.zeros((2, 3, 4)).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    return _handles.same(x, Permute(_handles.node_of(x, "permute"), _dims(axes)))


def transpose(x: V, axis0: int, axis1: int) -> V:
    """Axes ``axis0`` and ``axis1`` swapped (``t()`` stays the 2-d transpose).

    >>> nk.zeros((2, 3, 4)).transpose(0, 2).shape
    (4, 3, 2)
    """
    ndim = x.ndim
    a, b = (normalize_axis("transpose", axis, ndim) for axis in (axis0, axis1))
    axes = list(range(ndim))
    axes[a], axes[b] = b, a
    return _handles.same(x, SwapAxes(_handles.node_of(x, "transpose"), axes))


def expand(x: V, *shape: int | Sequence[int]) -> V:
    """``x`` broadcast to ``shape`` without copying: size-1 axes are repeated and new axes added in
    front; ``-1`` keeps an existing size. The gradient is summed back over the repeated axes.

    >>> nk.ones((3, 1)).expand(2, 3, 4).shape
    (2, 3, 4)
    """
    return _handles.same(x, Expand(_handles.node_of(x, "expand"), _dims(shape)))


def broadcast_to(x: Var, shape: Sequence[int]) -> Var:
    """``x`` broadcast to ``shape`` (``torch.broadcast_to``; the same as ``x.expand(shape)``).

    >>> nk.broadcast_to(nk.ones(3), (2, 3)).shape
    (2, 3)
    """
    return _handles.wrap(Expand(_handles.node_of(x, "broadcast_to"), tuple(shape)))


def flip(x: V, axis: int | Sequence[int] | None = None) -> V:
    """The elements in reverse order along ``axis`` (an int, a tuple, or None for every axis).

    >>> nk.from_ndarray([1.0, 2.0, 3.0]).flip(0).forward().numpy().tolist()
    [3.0, 2.0, 1.0]
    """
    return _handles.same(x, Flip(_handles.node_of(x, "flip"), axis))


def roll(x: V, shift: int | Sequence[int], axis: int | Sequence[int] | None = None) -> V:
    """Elements shifted by ``shift`` along ``axis``, wrapping around (one shift per axis; without
    ``axis`` the flattened variable is rolled and the shape kept).

    >>> nk.from_ndarray([1.0, 2.0, 3.0]).roll(1).forward().numpy().tolist()
    [3.0, 1.0, 2.0]
    """
    return _handles.same(x, Roll(_handles.node_of(x, "roll"), shift, axis))


def tile(x: V, reps: int | Sequence[int]) -> V:
    """``x`` repeated ``reps[i]`` times along axis ``i`` (aligned from the right, as NumPy):
    ``(2, 3).tile((2, 1)) → (4, 3)``.

    >>> nk.from_ndarray([1.0, 2.0]).tile(2).forward().numpy().tolist()
    [1.0, 2.0, 1.0, 2.0]
    """
    return _handles.same(x, Tile(_handles.node_of(x, "tile"), reps))


def repeat_interleave(x: V, repeats: int, axis: int | None = None) -> V:
    """Each element repeated ``repeats`` times in a row along ``axis`` (None: of the flattened
    variable); ``repeats`` is one int.

    >>> nk.from_ndarray([1.0, 2.0]).repeat_interleave(2).forward().numpy().tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    return _handles.same(x, RepeatInterleave(_handles.node_of(x, "repeat_interleave"), repeats, axis))
