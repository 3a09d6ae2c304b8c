"""Shape ops: ``unsqueeze``, ``reshape``/``flatten``, ``cat``, ``stack``, ``chunks``, and the
conversions ``to(device)`` and ``astype(dtype)`` (which move gradients back where they came from)."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any, Sequence, overload

from .._args import integer, integers, is_integer
from ..backends import Backend, DType
from ..kernels.writes import FUNCTIONAL
from ._build import check_same_place, normalize_axis
from .node import Node


from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var, VarDiff


class Unsqueeze(Node):
    """Inserts an axis of size 1 at ``axis``."""

    __slots__ = ()
    name = "unsqueeze"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fib"

    def __init__(self, operand: Node, axis: int) -> None:
        axis = normalize_axis(self.name, axis, len(operand.shape), extra=1)
        shape = operand.shape[:axis] + (1,) + operand.shape[axis:]
        self._setup((operand,), shape, operand.dtype, operand.backend)

    def _forward(self) -> None:
        self.value = self.xp.reshape(self.inputs[0].value, self.shape)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.xp.reshape(self.grad, self.inputs[0].shape))


class Squeeze(Unsqueeze):
    """Removes axes of size 1: all of them (``axis=None``) or those named (an axis named whose size
    is not 1 is kept, as PyTorch does)."""

    __slots__ = ()
    name = "squeeze"

    def __init__(self, operand: Node, axis: "int | Sequence[int] | None") -> None:
        ndim = len(operand.shape)
        named = range(ndim) if axis is None else [normalize_axis(self.name, a, ndim) for a in integers(self.name, "axis", axis)]
        shape = tuple(d for i, d in enumerate(operand.shape) if not (i in named and d == 1))
        self._setup((operand,), shape, operand.dtype, operand.backend)


class Reshape(Unsqueeze):
    """The same elements in row-major order under a new shape (one ``-1`` is inferred)."""

    __slots__ = ()
    name = "reshape"

    def __init__(self, operand: Node, shape: "int | Sequence[int]") -> None:
        size = math.prod(operand.shape)
        dims = list(integers(self.name, "shape", shape))
        if dims.count(-1) > 1 or any(d < -1 for d in dims):
            raise ValueError(f"reshape: invalid target shape {tuple(dims)} (at most one -1, no other negative sizes)")
        if -1 in dims:
            known = math.prod(d for d in dims if d != -1)
            if known == 0 or size % known:
                raise ValueError(f"reshape: cannot reshape {operand.shape} ({size} elements) into {tuple(dims)}")
            dims[dims.index(-1)] = size // known
        if math.prod(dims) != size:
            raise ValueError(
                f"reshape: cannot reshape {operand.shape} ({size} elements) into {tuple(dims)} "
                f"({math.prod(dims)} elements)"
            )
        self._setup((operand,), tuple(dims), operand.dtype, operand.backend)


class Concatenate(Node):
    """Joins variables along an existing ``axis``; the VJP slices the gradient back apart."""

    __slots__ = ("axis", "slices")
    name = "cat"
    kinds = "fib"

    def __init__(self, operands: Sequence[Node], axis: int) -> None:
        operands = list(operands)
        if not operands:
            raise ValueError(f"{self.name}: needs at least one variable")
        check_same_place(self.name, operands)
        first = operands[0]
        axis = normalize_axis(self.name, axis, len(first.shape))
        for other in operands[1:]:
            if len(other.shape) != len(first.shape) or any(
                a != b for i, (a, b) in enumerate(zip(first.shape, other.shape)) if i != axis
            ):
                raise ValueError(
                    f"cat: shapes {first.shape} and {other.shape} differ outside axis {axis}; "
                    f"all sizes but the concatenation axis must match"
                )
        total = sum(op.shape[axis] for op in operands)
        shape = first.shape[:axis] + (total,) + first.shape[axis + 1 :]
        self._setup(operands, shape, first.dtype, first.backend)
        self.axis = axis
        self.slices = []
        start = 0
        for op in operands:
            index = [slice(None)] * len(shape)
            index[axis] = slice(start, start + op.shape[axis])
            self.slices.append(tuple(index))
            start += op.shape[axis]

    def _forward(self) -> None:
        self.value = self.xp.concat([op.value for op in self.inputs], axis=self.axis)

    def _backward(self) -> None:
        for op, index in zip(self.inputs, self.slices):
            if op.requires_grad:
                op.add_grad(self.grad[index])


class Stack(Node):
    """Joins equally shaped variables along a new ``axis``."""

    __slots__ = ("axis", "slices")
    name = "stack"
    kinds = "fib"

    def __init__(self, operands: Sequence[Node], axis: int) -> None:
        operands = list(operands)
        if not operands:
            raise ValueError("stack: needs at least one variable")
        check_same_place(self.name, operands)
        first = operands[0]
        for other in operands[1:]:
            if other.shape != first.shape:
                raise ValueError(f"stack: shapes {first.shape} and {other.shape} differ; stacked variables must have equal shapes")
        axis = normalize_axis(self.name, axis, len(first.shape), extra=1)
        shape = first.shape[:axis] + (len(operands),) + first.shape[axis:]
        self._setup(operands, shape, first.dtype, first.backend)
        self.axis = axis
        self.slices = [(slice(None),) * axis + (i, ...) for i in range(len(operands))]

    def _forward(self) -> None:
        self.value = self.xp.stack([op.value for op in self.inputs], axis=self.axis)

    _backward = Concatenate._backward


class Chunk(Node):
    """One exact chunk of a variable (a rectangular slice); see :func:`chunks`.

    The chunks of one :func:`chunks` call share ``group``, a one-element list holding the
    operand's gradient buffer when one of them created it (zeros, its own slice written) during
    the current backward pass: the other chunks then write their slices into it, instead of each
    allocating a zero array of the operand's shape that is then summed (the same values, up to
    the sign of a zero, for a third of the work on the four gates of an LSTM). Chunks of a group
    are disjoint, so each slice is still zero when it is written. Only a buffer that is still the
    operand's gradient, unshared, is written: anything else that reaches the operand replaces its
    gradient with a new array, and a leaf operand is never written in place.
    """

    __slots__ = ("index", "group")
    name = "chunk"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fib"

    group: list[Any]

    def __init__(self, operand: Node, index: tuple[slice, ...], group: list[Any] | None = None) -> None:
        shape = tuple(s.stop - s.start for s in index)
        self._setup((operand,), shape, operand.dtype, operand.backend)
        self.index = index
        self.group = [None] if group is None else group

    def _forward(self) -> None:
        self.value = self.inputs[0].value[self.index]
        self.group[0] = None  # the last backward's buffer: not this pass's

    def _backward(self) -> None:
        operand = self.inputs[0]
        if not self.backend.mutable_arrays:  # immutable arrays: a new array, no shared buffer
            operand.add_grad(FUNCTIONAL.place(self.xp, self.grad, operand.shape, self.index))
            return
        buffer = operand.grad
        if buffer is not None and buffer is self.group[0]:
            buffer[self.index] = self.grad
            return
        grad = self.xp.zeros(operand.shape, dtype=self.grad.dtype, device=self.backend.native_device)
        grad[self.index] = self.grad
        operand.add_grad(grad)
        # run_backward clears every non-leaf gradient first, so a buffer made here is fresh
        self.group[0] = grad if operand.grad is grad and not operand.is_leaf else None


def chunks(operand: Node, chunk_shape: Sequence[int]) -> list[Node]:
    """Splits a variable into chunks of exactly ``chunk_shape``, in row-major order; a remainder
    that does not fill a whole chunk is skipped (as the Rust crate's ``exact_chunks``)."""
    chunk_shape = integers("chunks", "chunk_shape", chunk_shape)
    if len(chunk_shape) != len(operand.shape) or any(
        step < 0 or (step == 0 and size != 0) for size, step in zip(operand.shape, chunk_shape)
    ):
        raise ValueError(
            f"chunks: chunk shape {chunk_shape} must have one positive size per axis of the "
            f"variable's shape {operand.shape} (0 only along an empty axis)"
        )
    # an empty axis (a batch of 0) is one chunk of size 0 along it
    counts = [size // step if step else 1 for size, step in zip(operand.shape, chunk_shape)]
    result: list[Node] = []
    group: list[Any] = [None]
    for position in itertools.product(*(range(c) for c in counts)):
        index = tuple(slice(p * step, (p + 1) * step) for p, step in zip(position, chunk_shape))
        result.append(Chunk(operand, index, group))
    return result


class Transfer(Node):
    """Copies a variable to another device; the gradient is copied back."""

    __slots__ = ()
    name = "to"
    kinds = "fib"

    def __init__(self, operand: Node, backend: Backend) -> None:
        backend.dtype(operand.dtype)  # the target must hold this dtype: raises, naming the fix
        self._setup((operand,), operand.shape, operand.dtype, backend)

    def _forward(self) -> None:
        self.value = self.backend.asarray(self.inputs[0].value, self.dtype)

    def _backward(self) -> None:
        operand = self.inputs[0]
        operand.add_grad(operand.backend.asarray(self.grad, operand.dtype))


class Cast(Node):
    """Converts a variable to another dtype; the gradient is converted back (a conversion to an
    integer or bool dtype ends the gradient's path: its output is not differentiable)."""

    __slots__ = ()
    name = "astype"
    kinds = "fib"

    def __init__(self, operand: Node, dtype: DType) -> None:
        operand.backend.dtype(dtype)  # the backend must hold the new dtype: raises, naming the fix
        self._setup((operand,), operand.shape, dtype, operand.backend)
        if not dtype.is_floating:
            self.differentiable = self.requires_grad = False

    def _forward(self) -> None:
        self.value = self.xp.astype(self.inputs[0].value, self.backend.dtype(self.dtype))

    def _backward(self) -> None:
        operand = self.inputs[0]
        operand.add_grad(self.xp.astype(self.grad, operand.backend.dtype(operand.dtype)))




class Detach(Node):
    """``x.detach()``: the value of ``x`` as a non-differentiable node (no gradient flows back
    through it, whatever ``x`` is). No copy: the value is ``x``'s array."""

    __slots__ = ()
    name = "detach"

    def __init__(self, operand: Node) -> None:
        self._setup((operand,), operand.shape, operand.dtype, operand.backend)
        self.differentiable = self.requires_grad = False

    def _forward(self) -> None:
        self.value = self.inputs[0].value


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
# Each keeps its operand's kind (``V``) for type checkers; ``cat`` and ``stack`` are
# differentiable when any input is (the overloads).
def unsqueeze(x: V, axis: int) -> V:
    """A new axis of size 1 at ``axis``: ``(2, 3).unsqueeze(0) → (1, 2, 3)``.

    >>> nk.ones((2, 3)).unsqueeze(1).shape
    (2, 1, 3)
    """
    return _handles.same(x, Unsqueeze(x._node, axis))


def squeeze(x: V, axis: int | Sequence[int] | None = None) -> V:
    """``x`` without its size-1 axes (``axis=None``) or without the named ones (an int or a tuple;
    a named axis whose size is not 1 is kept, as PyTorch): ``(2, 1, 3).squeeze() → (2, 3)``.

    >>> nk.zeros((2, 1, 3, 1)).squeeze(1).shape
    (2, 3, 1)
    """
    return _handles.same(x, Squeeze(_handles.node_of(x, "squeeze"), axis))


def split(x: V, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple[V, ...]:
    """``x`` cut along ``axis`` into a tuple of variables, as PyTorch's ``split``: an int is the
    size of every piece (the last one smaller when it does not divide the axis; NumPy's
    ``split`` reads an int as the number of pieces instead), a sequence gives each piece's size
    (they must add up to the axis size). The pieces' gradients are written into one buffer.

    >>> tuple(piece.shape for piece in nk.zeros((5, 2)).split(2))
    ((2, 2), (2, 2), (1, 2))
    """
    node = _handles.node_of(x, "split")
    axis = normalize_axis("split", axis, len(node.shape))
    total = node.shape[axis]
    if is_integer(split_size_or_sections):
        step = integer("split", "the piece size", split_size_or_sections, 1)
        sizes = [step] * (total // step) + ([total % step] if total % step else []) or [0]  # PyTorch: one empty piece
    else:
        sizes = list(integers("split", "split_size_or_sections", split_size_or_sections))
        if any(s < 0 for s in sizes) or sum(sizes) != total:
            raise ValueError(
                f"split: piece sizes {tuple(sizes)} must be non-negative and add up to {total}, the "
                f"size of axis {axis} of {node.shape}"
            )
    pieces, start, group = [], 0, [None]
    for size in sizes:
        index = tuple(slice(start, start + size) if i == axis else slice(0, d) for i, d in enumerate(node.shape))
        pieces.append(_handles.same(x, Chunk(node, index, group)))
        start += size
    return tuple(pieces)


def reshape(x: V, *shape: int | Sequence[int]) -> V:
    """The same elements under a new shape (``-1`` infers one size); ``reshape(2, 3)`` or
    ``reshape((2, 3))``.

    >>> nk.zeros(6).reshape(2, 3).shape
    (2, 3)
    """
    dims = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
    return _handles.same(x, Reshape(x._node, dims))  # type: ignore[arg-type]


def flatten(x: V, start_axis: int = 1) -> V:
    """Merge the axes from ``start_axis`` on into one (default: keep the batch axis):
    ``(2, 3, 4).flatten() → (2, 12)``.

    >>> nk.ones((2, 3, 4)).flatten().shape
    (2, 12)
    """
    start = normalize_axis("flatten", start_axis, max(x.ndim, 1))
    return reshape(x, x.shape[:start] + (-1,))


def chunks_of(x: V, chunk_shape: Sequence[int]) -> list[V]:
    """Exact chunks of ``chunk_shape`` in row-major order; a remainder is skipped (as the crate):
    ``(4, 3).chunks((2, 3)) → [(2, 3), (2, 3)]``.

    >>> [c.shape for c in nk.ones((5, 3)).chunks((2, 3))]
    [(2, 3), (2, 3)]
    """
    return [_handles.same(x, node) for node in chunks(x._node, chunk_shape)]


def _nodes(op: str, variables: Sequence[Var]) -> list[Node]:
    nodes = []
    for var in variables:
        if not isinstance(var, _handles.Var):
            raise TypeError(f"{op}: expected neuronika variables, got {type(var).__name__}")
        nodes.append(var._node)
    return nodes


def _as_list(others: Var | Sequence[Var]) -> list[Var]:
    return [others] if isinstance(others, _handles.Var) else list(others)


@overload
def cat(variables: Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def cat(variables: Sequence[Var], axis: int = 0) -> Var: ...
def cat(variables: Sequence[Var], axis: int = 0) -> Var:
    """Variables joined along an existing ``axis`` (shapes must agree elsewhere):
    ``cat([(2, 3), (4, 3)], 0) → (6, 3)``. Differentiable when any input is.

    >>> nk.cat([nk.ones((2, 3)), nk.ones((4, 3))], axis=0).shape
    (6, 3)
    """
    return _handles.wrap(Concatenate(_nodes("cat", variables), axis))


@overload
def stack(variables: Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def stack(variables: Sequence[Var], axis: int = 0) -> Var: ...
def stack(variables: Sequence[Var], axis: int = 0) -> Var:
    """Equally shaped variables joined along a new ``axis``: ``stack([(2, 3)] * 4, 0) → (4, 2, 3)``.
    Differentiable when any input is.

    >>> nk.stack([nk.ones((2, 3)), nk.ones((2, 3))]).shape
    (2, 2, 3)
    """
    return _handles.wrap(Stack(_nodes("stack", variables), axis))


@overload
def cat_method(x: VarDiff, others: Var | Sequence[Var], axis: int = 0) -> VarDiff: ...
@overload
def cat_method(x: Var, others: VarDiff | Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def cat_method(x: Var, others: Var | Sequence[Var], axis: int = 0) -> Var: ...
def cat_method(x: Var, others: Var | Sequence[Var], axis: int = 0) -> Var:
    """This variable and ``others`` joined along an existing ``axis`` (see :func:`cat`):
    ``(2, 3).cat((4, 3)) → (6, 3)``.

    >>> nk.ones((2, 3)).cat(nk.ones((4, 3))).shape
    (6, 3)
    """
    return cat([x, *_as_list(others)], axis)


@overload
def stack_method(x: VarDiff, others: Var | Sequence[Var], axis: int = 0) -> VarDiff: ...
@overload
def stack_method(x: Var, others: VarDiff | Sequence[VarDiff], axis: int = 0) -> VarDiff: ...
@overload
def stack_method(x: Var, others: Var | Sequence[Var], axis: int = 0) -> Var: ...
def stack_method(x: Var, others: Var | Sequence[Var], axis: int = 0) -> Var:
    """This variable and ``others`` (of its shape) joined along a new ``axis`` (see
    :func:`stack`): ``(2, 3).stack((2, 3), axis=1) → (2, 2, 3)``.

    >>> nk.ones((2, 3)).stack(nk.ones((2, 3)), axis=1).shape
    (2, 2, 3)
    """
    return stack([x, *_as_list(others)], axis)
