"""Reading an indexing key at build time: NumPy's rules turned into a plan of steps.

``expand`` turns ``x[key]``'s key into one entry per step — ``("none", None)`` for a new axis,
``("int", i)``, ``("slice", s)``, or ``("array", IndexSource)`` for an index array (a concrete
array, checked here once, or an int variable, checked on every forward) — with ``...`` expanded,
bool masks turned into index arrays and missing trailing axes filled with full slices. The
indexing ops (``indexing.py``) build their shape rule and kernels from these entries.
"""

from __future__ import annotations

import math
from typing import Any

from ..backends import Backend
from .node import Node
from . import variable as _handles  # the handles; variable.py imports indexing first


def checked_index(xp: Any, index: Any, size: int, op: str, axis: int, allow_negative: bool) -> Any:
    """``index`` as int64 with every value in ``[0, size)`` (negative ones wrapped when allowed),
    or an IndexError naming the offending value."""
    index = xp.astype(index, xp.int64) if index.dtype != xp.int64 else index
    if math.prod(index.shape) == 0:
        return index
    low, high = int(xp.min(index)), int(xp.max(index))
    floor = -size if allow_negative else 0
    if low < floor or high >= size:
        bad = low if low < floor else high
        valid = f"{-size}..{size - 1}" if allow_negative else f"0..{size - 1}"
        raise IndexError(f"{op}: index {bad} is out of range for axis {axis} of size {size} (valid: {valid})")
    return xp.where(index < 0, index + size, index) if low < 0 else index


class IndexSource:
    """One index array of an advanced key: a concrete array (checked at build) or an int node
    (checked at every forward)."""

    __slots__ = ("node", "array", "axis", "size")

    def __init__(self, node: Node | None, array: Any, axis: int, size: int) -> None:
        self.node, self.array, self.axis, self.size = node, array, axis, size

    @property
    def shape(self) -> tuple[int, ...]:
        return self.node.shape if self.node is not None else tuple(self.array.shape)


def expand(op: str, operand: Node, key: Any, backend: Backend, allow_negative: bool) -> list[tuple[str, Any]]:
    """The key as one entry per output-building step: ``("none", None)``, ``("int", i)`` with
    ``i`` in range, ``("slice", s)`` or ``("array", IndexSource)``; ``...`` expanded, bool masks
    turned into index arrays, missing trailing axes filled with full slices."""
    raw = list(key) if isinstance(key, tuple) else [key]
    items: list[tuple[str, Any]] = []
    for item in raw:
        if item is None or item is Ellipsis or isinstance(item, slice):
            items.append(("none" if item is None else "ellipsis" if item is Ellipsis else "slice", item))
        elif isinstance(item, bool):
            raise TypeError(f"{op}: a Python bool is not an index; use a bool mask array of the indexed axes' shape")
        elif isinstance(item, int):
            items.append(("int", item))
        elif isinstance(item, _handles.Var):
            node = item._node
            if node.dtype.kind == "b":
                raise TypeError(
                    f"{op}: a bool variable {node.shape} cannot index: the result's shape would depend on "
                    f"its values, which are not known when the graph is built; select with "
                    f"nk.where(mask, x, 0) instead, or pass the mask as a concrete array"
                )
            if node.dtype.kind != "i":
                raise TypeError(f"{op}: index variables must hold integers, got {node.dtype}; convert with .astype('int64')")
            if node.backend is not operand.backend:
                raise ValueError(
                    f"{op}: the index lives on {node.backend.device}, the variable on {operand.backend.device}; "
                    f"move the index with .to({str(operand.backend.device)!r})"
                )
            items.append(("var", node))
        else:
            items.append(array_entry(op, item, backend))
    if sum(kind == "ellipsis" for kind, _ in items) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    consumed = sum(1 if kind in ("int", "slice", "var", "array") else value.ndim if kind == "mask" else 0 for kind, value in items)
    ndim = len(operand.shape)
    if consumed > ndim:
        raise IndexError(f"{op}: too many indices for a variable of shape {operand.shape}: {consumed} axes indexed")
    entries: list[tuple[str, Any]] = []
    axis = 0
    filled = False
    for kind, value in items + [("ellipsis", None)]:
        if kind == "ellipsis":
            if filled:
                continue
            filled = True
            for _ in range(ndim - consumed):
                entries.append(("slice", slice(None)))
                axis += 1
        elif kind == "none":
            entries.append(("none", None))
        elif kind == "slice":
            _check_slice(op, value)
            entries.append(("slice", _in_bounds(value, operand.shape[axis])))
            axis += 1
        elif kind == "int":
            size = operand.shape[axis]
            if not -size <= value < size:
                raise IndexError(f"{op}: index {value} is out of range for axis {axis} of size {size} (valid: {-size}..{size - 1})")
            entries.append(("int", value % size))
            axis += 1
        elif kind == "var":
            entries.append(("array", IndexSource(value, None, axis, operand.shape[axis])))
            axis += 1
        elif kind == "array":
            size = operand.shape[axis]
            array = checked_index(backend.xp, value, size, op, axis, allow_negative)
            entries.append(("array", IndexSource(None, array, axis, size)))
            axis += 1
        else:  # a bool mask over the next value.ndim axes
            covered = operand.shape[axis:axis + value.ndim]
            if tuple(value.shape) != covered:
                raise IndexError(
                    f"{op}: a bool mask of shape {tuple(value.shape)} does not match the indexed "
                    f"axes {axis}..{axis + value.ndim - 1} of shape {covered}"
                )
            for offset, positions in enumerate(backend.xp.nonzero(value)):
                entries.append(("array", IndexSource(None, positions, axis + offset, operand.shape[axis + offset])))
            axis += value.ndim
    return entries


def array_entry(op: str, item: Any, backend: Backend) -> tuple[str, Any]:
    """A concrete index (list, NumPy/backend array): ``("array", int64 array)`` or ``("mask", bool array)``."""
    try:
        array = backend.asarray(item)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{op}: cannot index with {type(item).__name__}: {error}") from error
    xp = backend.xp
    if xp.isdtype(array.dtype, "bool"):
        if array.ndim == 0:
            raise TypeError(f"{op}: a 0-d bool is not an index; use a bool mask array of the indexed axes' shape")
        return "mask", array
    if math.prod(array.shape) == 0:
        return "array", xp.astype(array, xp.int64)
    if not xp.isdtype(array.dtype, "integral"):
        raise TypeError(f"{op}: index arrays must hold integers or bools, got {array.dtype}")
    return "array", array


def _check_slice(op: str, item: slice) -> None:
    for part in (item.start, item.stop, item.step):
        if part is not None and (isinstance(part, bool) or not isinstance(part, int)):
            raise TypeError(f"{op}: slice bounds and steps must be ints or None, got {item}")
    if item.step == 0:
        raise ValueError(f"{op}: slice step cannot be zero")


def _in_bounds(item: slice, size: int) -> slice:
    """``item`` as the slice selecting the same elements with every bound inside the axis (Python
    clips out-of-range bounds; the Array API leaves them unspecified and array_api_strict refuses
    them): ``slice(-5, None, -1)`` on size 2 is ``slice(1, None, -1)``."""
    picked = range(*item.indices(size))
    if not picked:
        return slice(0, 0, 1)
    stop = picked[-1] + (1 if picked.step > 0 else -1)
    return slice(picked[0], stop if stop >= 0 else None, picked.step)
