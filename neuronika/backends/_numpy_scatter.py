"""NumPy override of the scatter-add kernel ``index_add`` (generic form and contract:
``neuronika/kernels/scatter.py``): ``source (n, *rest)`` rows summed into rows ``index`` of
``(size, *rest)`` zeros.

Three NumPy ways, each fastest somewhere (measured with ``bench/ops.py --scatter``, float32,
n = 4096 indices, rows of d = prod(rest) elements, on the 2-core benchmark machine; ms; the
generic Array API kernel for comparison):

==========  ========  ==========  ================  =======
d, size     add.at    bincount    sort + reduceat   generic
==========  ========  ==========  ================  =======
1, 1 000    0.029     **0.009**   0.181             0.171
1, 50 000   0.030     **0.017**   0.166             0.914
4, 50 000   0.147     **0.094**   0.188             1.03
16, 50 000  0.511     0.261       **0.225**         1.58
64, 10      1.69      0.425       **0.300**         2.07
64, 1 000   1.70      **0.444**   0.676             1.88
64, 50 000  1.84      1.63        **0.381**         5.87
256, 1 000  8.24      **1.97**    2.55              14.9
256, 50 000 8.07      14.0        **1.42**          44.7
==========  ========  ==========  ================  =======

* ``bincount`` over the flattened positions ``index·d + column`` (weights in float64, then cast)
  does one pass over the source but allocates and converts a float64 array of the whole output:
  it wins while the output is not much larger than the source (``size <= 4·n``), and for narrow
  rows up to ``size <= 16·n`` while the output has at most 2^20 elements (the gather benchmark's
  backward, 1M indices into 12.8M targets of width 1: bincount 20 ms, add.at 10 ms).
* wide rows (d >= 16) into a large output: sort the indices (stable); write every row into
  place with one fancy assignment, then sum each run of a repeated index with one
  ``np.add.reduceat`` over those rows only and overwrite their rows with the sums (reduceat
  alone over every run, singletons included, took 9-11 ms for 256 x 50 000; this form 1.4 ms,
  the embedding case's whole backward 3 ms against PyTorch's 10 ms).
* ``np.add.at`` is unbuffered, with a fast path for one-dimensional targets but a cost per row
  on wide ones; on a lazily zeroed (calloc) output much larger than the source it touches only
  the rows it adds to: narrow rows into outputs over 16 times the number of indices (e.g.
  12.8M targets of width 1 from 1M indices: 22 ms, bincount 26 ms).

The sums differ from the generic kernel's only by rounding (order of additions; ``bincount``
accumulates in float64); ``tests/test_scatter.py`` compares every path with it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

#: outputs up to this many times the number of indices (in rows) use bincount ...
BINCOUNT_RATIO = 4
#: ... and up to this many times for narrow rows, while the output is small enough that its
#: float64 copy is cheap (beyond, add.at's cost per index wins)
NARROW_BINCOUNT_RATIO = 16
NARROW_BINCOUNT_ELEMENTS = 1 << 20
#: rows at least this wide, into larger outputs, use sort + reduceat
WIDE_ROW = 16


def index_add_bincount(source: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    rest = source.shape[1:]
    width = int(np.prod(rest, dtype=np.int64)) if rest else 1
    positions = index if width == 1 else (index[:, None] * width + np.arange(width)).reshape(-1)
    sums = np.bincount(positions, weights=source.reshape(-1), minlength=size * width)
    return sums.astype(source.dtype, copy=False).reshape((size,) + rest)


def index_add_at(source: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size,) + source.shape[1:], dtype=source.dtype)
    np.add.at(out, index, source)
    return out


def index_add_sorted(source: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size,) + source.shape[1:], dtype=source.dtype)
    if index.shape[0] == 0:
        return out
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    lengths = np.diff(np.append(starts, index.shape[0]))
    # every row is first written straight into its place (a repeated index keeps one of its
    # rows); add.reduceat, which runs at about 1 GB/s even on one-row runs, then sums only the
    # runs of repeated indices and overwrites their rows
    out[index] = source
    repeated = lengths > 1
    if repeated.any():
        rows = order[np.repeat(repeated, lengths)]
        run_starts = np.concatenate(([0], np.cumsum(lengths[repeated])[:-1]))
        out[ordered[starts[repeated]]] = np.add.reduceat(source[rows], run_starts, axis=0)
    return out


def index_add(xp: Any, source: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """The fastest of the three for the case (see the table above)."""
    count = index.shape[0]
    if count == 0 or size == 0:
        return np.zeros((size,) + source.shape[1:], dtype=source.dtype)
    width = 1
    for dim in source.shape[1:]:
        width *= dim
    narrow = width < WIDE_ROW
    if size <= BINCOUNT_RATIO * count or (
        narrow and size <= NARROW_BINCOUNT_RATIO * count and size * width <= NARROW_BINCOUNT_ELEMENTS
    ):
        return index_add_bincount(source, index, size)
    if narrow:
        return index_add_at(source, index, size)
    return index_add_sorted(source, index, size)


KERNELS: dict[str, Callable[..., Any]] = {"index_add": index_add}
#: every path, by name (for tests and ``bench/ops.py --scatter``)
PATHS: dict[str, Callable[..., Any]] = {
    "bincount": index_add_bincount, "add.at": index_add_at, "sort+reduceat": index_add_sorted,
}
