"""Generic scatter-add kernel (Array API only): the standard has no scatter, so this is the
reference that backends override (NumPy: ``backends/_numpy_scatter.py``, CuPy:
``cupyx.scatter_add`` in ``backends/_cupy_kernels.py``).

Kernel signature (the name under which a backend may register an override):

* ``index_add(xp, source, index, size) -> out``: ``source (n, *rest)``, ``index (n,)`` integers
  in ``[0, size)``; ``out (size, *rest)`` is zeros plus, for every ``j``, ``source[j]`` added
  into row ``index[j]`` (repeated indices accumulate). It is the gradient of every gather:
  indexing, ``gather``, ``index_select``, embeddings.

The generic form sorts the indices: with the rows of ``source`` ordered by index, the rows that
land on target ``r`` are the run ``[lo_r, hi_r)`` found by two ``searchsorted`` calls. Each run
is summed by a segmented scan (Hillis-Steele: at step ``d = 1, 2, 4, ...`` a row adds the row
``d`` before it when both have the same index), so its last row holds the run's sum; only
``ceil(log2(longest run))`` steps are taken (none without repeated indices). It costs
``O(n log n + n·rest·log(longest run) + size·rest)`` with no loop over elements; the sums are
kept in float64 where the namespace has it (float32 rows lose nothing). Rows of other indices
never enter a sum: differencing one running sum over all rows (``C[hi_r] - C[lo_r]``) gave 0
for every row after a large one (1e17, then 1) and NaN after an infinite one.
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
    targets = xp.arange(size, dtype=sorted_index.dtype, device=device)
    low = xp.searchsorted(sorted_index, targets, side="left")
    high = xp.searchsorted(sorted_index, targets, side="right")
    longest, step, n = int(xp.max(high - low)), 1, rows.shape[0]
    while step < longest:  # log2(longest run) steps: row i adds row i - step of the same index
        same = xp.reshape(sorted_index[step:] == sorted_index[:-step], (n - step,) + (1,) * len(rest))
        earlier = rows[:-step, ...]
        rows = xp.concat([rows[:step, ...], rows[step:, ...] + xp.where(same, earlier, xp.zeros_like(earlier))], axis=0)
        step *= 2
    last = xp.take(rows, xp.clip(high - 1, min=0), axis=0)  # each run's last row holds its sum
    present = xp.reshape(high > low, (size,) + (1,) * len(rest))
    return xp.astype(xp.where(present, last, xp.zeros_like(last)), source.dtype)
