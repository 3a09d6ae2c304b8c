"""The error function, which neither the Array API standard nor NumPy has.

Kernel signature (the name under which a backend may register an override, as CuPy does with
``cupyx.scipy.special.erf``)::

    erf(xp, x) -> array of x's shape and dtype

The generic kernel is a piecewise polynomial of ``h(x) = erf(x) / x`` (even, smooth, between
``2/√π`` at 0 and ``1/x`` in the tail), so ``erf(x) = x · h(|x|)`` keeps full *relative* accuracy
down to the smallest ``x``:

* ``[0, 6)`` is cut into :data:`PIECES` intervals of width ``1/2``; on each, ``h`` is the
  Chebyshev interpolant of degree :data:`DEGREE` at Chebyshev points, built here, at import, in
  plain Python from the standard library's ``math.erf`` (no magic constants), and rewritten as a
  polynomial of ``t ∈ [-1, 1]``, the position inside the interval. Per dtype, the highest powers
  whose whole contribution is below a quarter of that dtype's resolution are dropped.
* An element's interval is ``floor(|x| / (1/2))``; its coefficients are gathered with ``take``
  and the polynomial evaluated by Horner's rule: one gather, one multiply and one add per term,
  the same kernel calls for every element (no branches, no Python loop over elements).
* ``|x| ≥ 6`` gives ``±1`` (``1 - erf(6) < 2.2e-17``); NaN stays NaN.
* float32 and float16 are evaluated in float64 and rounded once (where the namespace has
  float64; otherwise in their own precision, with fewer terms).

Measured against ``math.erf`` (tests/test_ops_math.py, a dense grid over [-7, 7] and geometric
tails down to 1e-300): relative error below 3e-15 in float64 (1.6e-15 measured; the issue asks
for 1e-12), and the float32 result is within one unit in the last place of the exact value.
"""

from __future__ import annotations

import math
from typing import Any

#: interval width, number of intervals covering [0, LIMIT), polynomial degree per interval
WIDTH, PIECES, DEGREE = 0.5, 12, 16
LIMIT = WIDTH * PIECES


def _h(x: float) -> float:
    """``erf(x) / x`` (its limit ``2/√π`` at 0)."""
    return math.erf(x) / x if x else 2.0 / math.sqrt(math.pi)


def _monomial_coefficients(lo: float, hi: float) -> list[float]:
    """Coefficients ``c_k`` (lowest first) with ``h(mid + t·half) ≈ Σ c_k t^k`` on ``t ∈ [-1, 1]``:
    Chebyshev interpolation at the ``DEGREE + 1`` Chebyshev points, then the change of basis from
    Chebyshev polynomials to powers of ``t`` (exact recurrences on small integers)."""
    count = DEGREE + 1
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    nodes = [math.cos(math.pi * (j + 0.5) / count) for j in range(count)]
    samples = [_h(mid + half * t) for t in nodes]
    cheb = [
        # the angle π·k(2j+1)/(2·count) reduced exactly (in integers) to one turn first: cos of a
        # large rounded angle would put ~1e-15 of noise into the small high-order coefficients
        (2.0 / count) * math.fsum(s * math.cos(math.pi * (k * (2 * j + 1) % (4 * count)) / (2 * count)) for j, s in enumerate(samples))
        for k in range(count)
    ]
    cheb[0] /= 2
    # T_0 = 1, T_1 = t, T_{k+1} = 2t·T_k - T_{k-1}, as integer power coefficients
    basis = [[1], [0, 1]]
    for k in range(1, DEGREE):
        nxt = [0] + [2 * c for c in basis[k]]
        for i, c in enumerate(basis[k - 1]):
            nxt[i] -= c
        basis.append(nxt)
    powers = [math.fsum(cheb[k] * basis[k][p] for k in range(count) if p < len(basis[k])) for p in range(count)]
    return powers


#: TABLE[k][i]: coefficient of t^k on interval i
_PER_PIECE = [_monomial_coefficients(i * WIDTH, (i + 1) * WIDTH) for i in range(PIECES)]
TABLE = [[piece[k] for piece in _PER_PIECE] for k in range(DEGREE + 1)]


def _terms(resolution: float) -> int:
    """How many powers (from t^0) a dtype of ``resolution`` needs: the highest ones are dropped
    while their summed magnitude stays below ``resolution / 4`` of the smallest ``h`` (1/6)."""
    budget, tail, keep = resolution / 4 / LIMIT, 0.0, DEGREE + 1  # h ≥ erf(6)/6 ≈ 1/LIMIT
    while keep > 1:
        tail += max(abs(c) for c in TABLE[keep - 1])
        if tail >= budget:
            break
        keep -= 1
    return keep


_TERMS = {"float64": _terms(2.0**-52), "float32": _terms(2.0**-23)}
_CACHE: dict[tuple[Any, ...], list[Any]] = {}


def _coefficients(xp: Any, dtype: Any, device: Any, terms: int) -> list[Any]:
    """The table's rows as arrays of ``xp`` (made once per namespace, dtype and device)."""
    key = (id(xp), str(dtype), str(device))
    rows = _CACHE.get(key)
    if rows is None:
        rows = [xp.asarray(TABLE[k], dtype=dtype, device=device) for k in range(terms)]
        _CACHE[key] = rows
    return rows


def erf(xp: Any, x: Any) -> Any:
    """``erf(x) = 2/√π ∫₀ˣ e^(-t²) dt`` element-wise (generic Array API kernel; see the module)."""
    name = str(x.dtype).rsplit(".", 1)[-1]
    if name in ("float16", "float32") and hasattr(xp, "float64"):
        # evaluated in float64 and rounded once: within one rounding of the exact value
        return xp.astype(erf(xp, xp.astype(x, xp.float64)), x.dtype)
    terms = _TERMS.get(name, DEGREE + 1)
    shape = x.shape
    flat = xp.reshape(x, (-1,))
    magnitude = xp.abs(flat)
    finite = xp.where(magnitude < LIMIT, magnitude, xp.zeros_like(magnitude))  # NaN, tail -> 0
    index = xp.astype(xp.floor(finite * (1.0 / WIDTH)), xp.int64)
    index = xp.clip(index, 0, PIECES - 1)
    t = (finite - (xp.astype(index, x.dtype) + 0.5) * WIDTH) * (2.0 / WIDTH)
    rows = _coefficients(xp, x.dtype, x.device, terms)
    value = xp.take(rows[terms - 1], index)
    for k in range(terms - 2, -1, -1):
        # in place on the fresh accumulator: no new array per step (new large arrays cost page faults)
        value *= t
        value += xp.take(rows[k], index)
    value *= flat
    value = xp.where(magnitude < LIMIT, value, xp.sign(flat))  # the tail; NaN keeps NaN (sign(NaN))
    return xp.reshape(value, shape)
