"""Element-wise kernel overrides of the NumPy backend, for ops whose Array API form is slow in
NumPy, and the two functions the standard lacks that NumPy's ecosystem has: ``einsum`` (NumPy)
and ``erf`` (SciPy, when it is installed; it agrees with the generic kernel to 1e-15, which
``tests/test_ops_math.py`` checks). Each returns bit for bit what the generic kernel returns (NaN, ±inf and the sign of zero
included); ``tests/test_fast_kernels.py`` checks that on special values.

``numpy.where`` with a scalar branch runs at about 2.5 ns per element on the benchmark machine
(and ~4 ns on large 4-d activations), eight to twelve times a plain ufunc, so ReLU's
``where(mask, values, 0)`` is written as integer arithmetic instead: the bit pattern of
``values`` (viewed as a same-width integer) times the 0/1 mask, which is the pattern itself or
all bits clear. That is exactly ``where``: NaN and ±inf are kept where the mask holds, and an
element outside it becomes +0.0. (``fmax(x, 0)`` would not do: NumPy returns -0.0 for
``fmax(-0.0, 0.0)`` on some paths.) Below :data:`SMALL` elements ``where``'s single call is as
fast, so small arrays keep it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

#: integer dtypes of the same width as each floating dtype (to handle bit patterns)
_SAME_WIDTH = {2: np.int16, 4: np.int32, 8: np.int64}
#: arrays with fewer elements than this keep ``numpy.where`` (fewer calls win on tiny arrays)
SMALL = 1024


def _where_zero(mask: Any, values: Any) -> Any:
    """``where(mask, values, 0)`` for a boolean ``mask`` of ``values``' shape."""
    if values.size < SMALL:
        return np.where(mask, values, 0.0)
    # integer product of the bit pattern and the 0/1 mask: the pattern itself, or all bits clear
    kept = np.multiply(values.view(_SAME_WIDTH[values.dtype.itemsize]), mask.view(np.int8))
    return kept.view(values.dtype)


def relu_forward(xp: Any, x: Any) -> Any:
    """``where(x <= 0, 0, x)`` (NaN stays NaN, as in PyTorch)."""
    return _where_zero(np.logical_not(np.less_equal(x, 0)), x)


def relu_backward(xp: Any, grad: Any, output: Any) -> Any:
    """``where(output <= 0, 0, grad)`` for the ReLU output ``output``."""
    return _where_zero(np.logical_not(np.less_equal(output, 0)), grad)


def einsum(xp: Any, subscripts: str, *operands: Any) -> Any:
    """NumPy's einsum (the ``einsum`` capability: the standard has none), contracting through
    BLAS where it can (``optimize=True``)."""
    return np.einsum(subscripts, *operands, optimize=True)


KERNELS: dict[str, Callable[..., Any]] = {
    "relu_forward": relu_forward,
    "relu_backward": relu_backward,
    "einsum": einsum,
}

try:  # SciPy is optional: without it the generic erf kernel (neuronika/kernels/special.py) runs
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover - depends on the environment
    pass
else:

    def erf(xp: Any, x: Any) -> Any:
        """SciPy's ``erf`` (Cephes), three to four times the generic kernel's speed; same dtype."""
        return _scipy_erf(x).astype(x.dtype, copy=False)  # SciPy computes float16 in float32

    KERNELS["erf"] = erf
