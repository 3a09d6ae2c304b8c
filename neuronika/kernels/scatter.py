"""Generic scatter-add kernel (Array API only): the standard has no scatter, so this is the
reference that backends override (NumPy: ``backends/_numpy_scatter.py``, CuPy:
``cupyx.scatter_add`` in ``backends/_cupy_kernels.py``).

Kernel signature (the name under which a backend may register an override):

* ``index_add(xp, source, index, size) -> out``: ``source (n, *rest)``, ``index (n,)`` integers
  in ``[0, size)``; ``out (size, *rest)`` is zeros plus, for every ``j``, ``source[j]`` added
  into row ``index[j]`` (repeated indices accumulate). It is the gradient of every gather:
  indexing, ``gather``, ``index_select``, embeddings.

The generic form sorts the indices and differences a running sum: with the rows of ``source``
ordered by index, the rows that land on target ``r`` are the run ``[lo_r, hi_r)`` found by two
``searchsorted`` calls, and their sum is ``C[hi_r] - C[lo_r]`` for the cumulative sum ``C``
(with a leading zero row). It costs ``O(n log n + (n + size)·rest)`` with no loop; the running sum
is kept in float64 where the namespace has it, so the differences do not cancel away the
precision of float32 rows.
"""

from __future__ import annotations

from typing import Any


def index_add(xp: Any, source: Any, index: Any, size: int) -> Any:
    """Rows of ``source`` summed into rows ``index`` of a ``(size, *rest)`` array of zeros."""
    rest = tuple(source.shape[1:])
    device = index.device
    if index.shape[0] == 0 or size == 0:
        return xp.zeros((size,) + rest, dtype=source.dtype, device=device)
    order = xp.argsort(index, stable=True)
    sorted_index = xp.take(index, order)
    rows = xp.take(source, order, axis=0)
    wide = getattr(xp, "float64", None)
    if wide is not None and xp.isdtype(source.dtype, "real floating"):
        rows = xp.astype(rows, wide)
    totals = xp.cumulative_sum(rows, axis=0, include_initial=True)
    targets = xp.arange(size, dtype=sorted_index.dtype, device=device)
    low = xp.searchsorted(sorted_index, targets, side="left")
    high = xp.searchsorted(sorted_index, targets, side="right")
    out = xp.take(totals, high, axis=0) - xp.take(totals, low, axis=0)
    return xp.astype(out, source.dtype)
