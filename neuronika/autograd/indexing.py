"""Indexing and gathering: ``x[key]``, ``gather``, ``index_select``, ``one_hot``.

``x[key]`` takes every NumPy key: ints (negative too), slices with any step, ``None``, ``...``
and tuples of them (basic indexing), and integer index arrays or int variables, several of them
broadcast together (advanced indexing, NumPy's rules: an int next to an index array counts as
one; the indexed axes' result goes where they stood when they are adjacent, first otherwise).
Bool masks must be concrete arrays when the op is built (the output shape must be known then);
a mask computed in the graph selects with ``nk.where`` instead.

The key is read once, when the op is built (``_keys.py``). An op runs in two steps, both planned
then: the basic part of the key (one slicing view), then the advanced part as one ``take`` along
one axis, after the indexed axes are moved to the front and merged when there are several. The gradient retraces them: a scatter-add of
the output gradient into zeros (the backend's ``index_add`` kernel: repeated indices accumulate),
then a write into the basic part's place. Index arrays given as values are checked (and negative
ones wrapped) at build time; index *variables* may be re-assigned between replays, so they are
checked on every forward (one min and one max): out-of-range indices raise on every backend.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..backends import DType, int64, to_dtype
from ..kernels.scatter import index_add as generic_index_add
from ..kernels.writes import FUNCTIONAL, IN_PLACE
from ._build import broadcast_shapes, normalize_axis
from ._keys import IndexSource, array_entry, checked_index, expand
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var


class Index(Node):
    """``x[key]``: a basic slicing step then, for an advanced key, one ``take`` (see the module)."""

    __slots__ = ("basic", "set_key", "set_shape", "sliced_shape", "sources", "positions", "perm", "batch_shape",
                 "merged_shape", "strides", "final_perm", "flat", "kernel", "allow_negative", "op")
    name = "getitem"
    kinds = "fib"

    def __init__(self, operand: Node, key: Any, op: str = "getitem", allow_negative: bool = True) -> None:
        self.op, self.allow_negative = op, allow_negative
        backend = operand.backend
        entries = expand(op, operand, key, backend, allow_negative)
        advanced = any(kind == "array" for kind, _ in entries)
        basic: list[Any] = []
        set_key: list[Any] = []
        sliced: list[int] = []
        sources: list[IndexSource] = []
        positions: list[int] = []
        new_axes: list[int] = []
        axis = 0
        for kind, value in entries:
            if kind == "none":
                basic.append(None)
                new_axes.append(len(sliced))
                sliced.append(1)
                continue
            dim = operand.shape[axis]
            if kind == "int" and not advanced:
                basic.append(value)
                set_key.append(value)
            elif kind == "slice":
                if value.step is not None and value.step < 0 and not backend.negative_slice_steps:
                    raise ValueError(
                        f"{op}: the {backend.name} backend's arrays take no negative slice step ({value.start}:"
                        f"{value.stop}:{value.step} on axis {axis}); flip first, x.flip({axis}), and slice with a positive step"
                    )
                basic.append(value)
                set_key.append(value)
                sliced.append(len(range(*value.indices(dim))))
            else:  # an index array, or an int that NumPy then treats as a 0-d index array
                if kind == "int":
                    value = IndexSource(None, backend.xp.asarray(value, dtype=backend.xp.int64, device=backend.native_device), axis, dim)
                basic.append(slice(None))
                set_key.append(slice(None))
                positions.append(len(sliced))
                sources.append(value)
                sliced.append(dim)
            axis += 1
        inputs = [operand] + [source.node for source in sources if source.node is not None]
        self.sliced_shape = tuple(sliced)
        trivial = all(isinstance(k, slice) and k == slice(None) for k in basic)
        self.basic = None if trivial else tuple(basic)
        self.set_key = tuple(set_key)
        self.set_shape = tuple(d for i, d in enumerate(sliced) if i not in new_axes)
        self.sources, self.positions = sources, positions
        self.batch_shape: tuple[int, ...] = ()
        shape = self.sliced_shape
        self.flat = None
        if sources:
            shape = self._plan_advanced(op)
        self._setup(inputs, shape, operand.dtype, backend)
        self.kernel = backend.kernel("index_add", generic_index_add)
        if sources and all(source.node is None for source in sources):
            self.flat = self._flat_index(self.xp)

    def _plan_advanced(self, op: str) -> tuple[int, ...]:
        sliced, positions = self.sliced_shape, self.positions
        batch: tuple[int, ...] = ()
        for source in self.sources:
            batch = broadcast_shapes(op, batch, source.shape)
        self.batch_shape = batch
        rest = [p for p in range(len(sliced)) if p not in positions]
        adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
        self.perm = tuple(positions + rest)
        indexed = [sliced[p] for p in positions]
        self.merged_shape = (math.prod(indexed),) + tuple(sliced[p] for p in rest)
        self.strides = [math.prod(indexed[i + 1:]) for i in range(len(indexed))]
        out = batch + tuple(sliced[p] for p in rest)
        self.final_perm = None
        if adjacent and positions[0] > 0:
            lead, nb = positions[0], len(batch)
            self.final_perm = tuple(range(nb, nb + lead)) + tuple(range(nb)) + tuple(range(nb + lead, len(out)))
            out = tuple(out[i] for i in self.final_perm)
        return out

    def _flat_index(self, xp: Any) -> Any:
        """The merged row of every output position: ``Σ index_i · stride_i``, flattened."""
        total: Any = None
        for source, stride in zip(self.sources, self.strides):
            if source.node is None:
                index = source.array
            else:
                index = checked_index(xp, source.node.value, source.size, self.op, source.axis, self.allow_negative)
            term = index if stride == 1 else index * stride
            total = term if total is None else total + term
        if tuple(total.shape) != self.batch_shape:
            total = xp.broadcast_to(total, self.batch_shape)
        return xp.reshape(total, (-1,))

    def _forward(self) -> None:
        xp = self.xp
        value = self.inputs[0].value
        if self.basic is not None:
            value = value[self.basic]
        if self.sources:
            if self.flat is None or len(self.inputs) > 1:
                self.flat = self._flat_index(xp)
            if len(self.sources) == 1:  # one indexed axis: take along it, no copy of the rest
                value = xp.reshape(xp.take(value, self.flat, axis=self.positions[0]), self.shape)
            else:
                rows = xp.reshape(xp.permute_dims(value, self.perm), self.merged_shape)
                taken = xp.take(rows, self.flat, axis=0)
                value = xp.reshape(taken, self.batch_shape + self.merged_shape[1:])
                if self.final_perm is not None:
                    value = xp.permute_dims(value, self.final_perm)
        self.value = value

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        grad = self.grad
        if self.sources:
            if self.final_perm is not None:
                grad = xp.permute_dims(grad, _inverse(self.final_perm))
            rows = xp.reshape(grad, (math.prod(self.batch_shape),) + self.merged_shape[1:])
            merged = self.kernel(xp, rows, self.flat, self.merged_shape[0])
            grad = xp.reshape(merged, tuple(self.sliced_shape[p] for p in self.perm))
            if self.perm != tuple(range(len(self.perm))):
                grad = xp.permute_dims(grad, _inverse(self.perm))
        if self.basic is not None:
            write = IN_PLACE if self.backend.mutable_arrays else FUNCTIONAL  # immutable arrays: no a[key] = v
            grad = write.place(xp, xp.reshape(grad, self.set_shape), operand.shape, self.set_key)
        operand.add_grad(grad)


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    inverse = [0] * len(perm)
    for position, axis in enumerate(perm):
        inverse[axis] = position
    return tuple(inverse)


class Gather(Node):
    """``out[i, j, k] = x[i, index[i, j, k], k]`` (for ``axis = 1``; PyTorch's ``gather``,
    NumPy's ``take_along_axis``): one ``take`` from the flattened ``x`` at the positions
    ``index · stride + base``, ``base`` the flat offset of every output position with the
    gathered axis at 0 (built once, broadcast along that axis). The gradient scatter-adds into the flattened ``x``."""

    __slots__ = ("axis", "base", "stride", "flat", "kernel")
    name = "gather"
    kinds = "fib"

    def __init__(self, operand: Node, axis: int, index: Node) -> None:
        if index.dtype.kind != "i":
            raise TypeError(f"gather: the index must hold integers, got {index.dtype}; convert with .astype('int64')")
        ndim = len(operand.shape)
        axis = normalize_axis(self.name, axis, ndim)
        if len(index.shape) != ndim or any(
            i > s for d, (i, s) in enumerate(zip(index.shape, operand.shape)) if d != axis
        ):
            raise ValueError(
                f"gather: index of shape {index.shape} does not fit a variable of shape {operand.shape} "
                f"along axis {axis}: it needs {ndim} axes, each no longer than the variable's except axis {axis}"
            )
        if index.backend is not operand.backend:
            raise ValueError(f"gather: the index lives on {index.backend.device}, the variable on {operand.backend.device}; move it with .to()")
        self._setup((operand, index), index.shape, operand.dtype, operand.backend)
        xp, device = self.xp, self.backend.native_device
        strides = [math.prod(operand.shape[d + 1:]) for d in range(ndim)]
        # base broadcasts against the index: size 1 along the gathered axis (and along any axis
        # of length 1), so it costs a fraction of the index's memory traffic
        base = xp.zeros(tuple(1 if d == axis else n for d, n in enumerate(index.shape)), dtype=xp.int64, device=device)
        for d in range(ndim):
            if d != axis and index.shape[d] > 1:
                steps = xp.arange(index.shape[d], dtype=xp.int64, device=device) * strides[d]
                base = base + xp.reshape(steps, tuple(-1 if e == d else 1 for e in range(ndim)))
        self.axis, self.base, self.stride, self.flat = axis, base, strides[axis], None
        self.kernel = self.backend.kernel("index_add", generic_index_add)

    def _forward(self) -> None:
        xp = self.xp
        operand, index = self.inputs
        checked = checked_index(xp, index.value, operand.shape[self.axis], self.name, self.axis, False)
        flat = checked * self.stride  # a new array: the in-place add below writes only to it
        flat += self.base
        self.flat = xp.reshape(flat, (-1,))
        self.value = xp.reshape(xp.take(xp.reshape(operand.value, (-1,)), self.flat), self.shape)

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        size = math.prod(operand.shape)
        grad = self.kernel(xp, xp.reshape(self.grad, (-1,)), self.flat, size)
        operand.add_grad(xp.reshape(grad, operand.shape))


class OneHot(Node):
    """``out[..., c] = (index[...] == c)`` for ``c < num_classes``, of ``dtype``; no gradient."""

    __slots__ = ("classes", "out_dtype")
    name = "one_hot"
    kinds = "i"

    def __init__(self, index: Node, num_classes: int, dtype: DType) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
        self._setup((index,), index.shape + (num_classes,), dtype, index.backend)
        self.differentiable = self.requires_grad = False
        self.classes = self.xp.arange(num_classes, dtype=self.xp.int64, device=self.backend.native_device)
        self.out_dtype = self.backend.dtype(dtype)

    def _forward(self) -> None:
        xp = self.xp
        index = checked_index(xp, self.inputs[0].value, self.shape[-1], self.name, -1, False)
        self.value = xp.astype(xp.expand_dims(index, axis=-1) == self.classes, self.out_dtype)


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
def getitem(x: V, key: Any) -> V:
    """``x[key]`` with NumPy's rules for every basic and advanced key (see the module); the
    gradient scatter-adds into ``x`` (repeated indices accumulate).

    ``(4, 5)[1:3, ::-2] → (2, 3)``; ``(4, 5)[[0, 0, 3]] → (3, 5)``; ``(4, 5)[idx, 2] → idx.shape``.

    >>> x = nk.from_ndarray([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    >>> x[1, ::-1].forward().numpy().tolist(), x[:, [2, 0]].forward().numpy().tolist()
    ([5.0, 4.0, 3.0], [[2.0, 0.0], [5.0, 3.0]])
    """
    with x._node.backend.scope():  # the build-time checks and index arrays run on x's device
        return _handles.same(x, Index(x._node, key))


def _index_node(op: str, index: Any, like: Var) -> Node:
    if isinstance(index, _handles.Var):
        return index._node
    backend = like._node.backend
    kind, array = array_entry(op, index, backend)
    if kind != "array":
        raise TypeError(f"{op}: the index must hold integers, got a bool mask")
    from .node import Leaf

    return Leaf(backend.xp.astype(array, backend.xp.int64), backend, int64)


def gather(x: V, axis: int, index: Var | Any) -> V:
    """Values of ``x`` picked along ``axis`` at ``index`` (PyTorch's ``gather``): ``index`` has
    ``x``'s number of axes, the output has ``index``'s shape, and
    ``out[i][j] = x[i][index[i][j]]`` for ``axis=1``. Indices must lie in ``[0, x.shape[axis])``.

    >>> x = nk.from_ndarray([[1.0, 2.0], [3.0, 4.0]])
    >>> x.gather(1, nk.from_ndarray([[0, 0], [1, 0]], dtype="int64")).forward().numpy().tolist()
    [[1.0, 1.0], [4.0, 3.0]]
    """
    with x._node.backend.scope():
        return _handles.same(x, Gather(x._node, axis, _index_node("gather", index, x)))


def index_select(x: V, axis: int, index: Var | Any) -> V:
    """The entries ``index`` (1-d, integers in ``[0, x.shape[axis])``, repeats allowed) along
    ``axis``: ``(4, 5).index_select(1, [0, 0, 2]) → (4, 3)``.

    >>> nk.from_ndarray([[1.0, 2.0, 3.0]]).index_select(1, [2, 0]).forward().numpy().tolist()
    [[3.0, 1.0]]
    """
    axis = normalize_axis("index_select", axis, x.ndim)
    with x._node.backend.scope():
        node = _index_node("index_select", index, x)
        if len(node.shape) != 1:
            raise ValueError(f"index_select: the index must be 1-d, got shape {node.shape}")
        key = (slice(None),) * axis + (_handles.same(x, node),)
        return _handles.same(x, Index(x._node, key, op="index_select", allow_negative=False))


def one_hot(index: Var, num_classes: int, dtype: DType | str = "int64") -> Var:
    """One-hot encoding of an integer variable: ``(*s,) → (*s, num_classes)``, 1 at the index and
    0 elsewhere, of ``dtype`` (int64 by default, as PyTorch; ``dtype="float32"`` for a float
    mask). Indices must lie in ``[0, num_classes)``; ``num_classes`` is required (the shape must
    be known when the graph is built).

    >>> nk.one_hot(nk.from_ndarray([2, 0], dtype="int64"), 3).forward().numpy().tolist()
    [[0, 0, 1], [1, 0, 0]]
    """
    if not isinstance(index, _handles.Var):
        raise TypeError(f"one_hot: expected an integer variable, got {type(index).__name__}")
    with index._node.backend.scope():
        return _handles.Var(OneHot(index._node, num_classes, to_dtype(dtype)))
