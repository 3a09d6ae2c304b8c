"""Kernel overrides of the CuPy backend: convolution by im2col and one cuBLAS GEMM per kernel,
and the scatter-add ``index_add`` (the gradient of indexing and gathers) by ``cupyx.scatter_add``.

CuPy 14 has no cuDNN bindings, so the GPU convolution is neuronika's own. It is the NumPy
override's code (``_im2col.strided_kernels``) built with ``cupy``:

* im2col: CuPy's ``as_strided`` gives a view of the input's windows, channels-last
  ``(N, *out, *k, g, C/g)`` or, with few channels, channels-first ``(N, g, C/g, *out, *k)``; one
  reshape (a single element-wise copy kernel) gathers it into ``cols (g, N·P, K·C/g)`` or one
  matrix per image ``(N, g, K·C/g, P)``;
* forward and weight gradient are one ``cupy.matmul`` each (cuBLAS GEMM, batched over the
  groups, or over the images for the channels-first layout);
* input gradient: one batched ``cupy.matmul`` (over the K kernel offsets, or the images), then
  col2im, one in-place strided add kernel per offset.

Also registered: ``erf`` (``cupyx.scipy.special.erf``) and ``einsum`` (``cupy.einsum``), the two
functions the Array API standard lacks (``neuronika/kernels/special.py`` is the generic erf;
``autograd/contraction.py`` composes einsum where a backend has none).

Which path runs: ``nk.backends.get("cuda").kernels`` lists these names; the op looks them up
once when it is built (``backend.kernel(name, generic)``). ``tests/test_convolution.py`` checks
them against the generic Array API kernels wherever a GPU is present.
"""

from __future__ import annotations

from typing import Any, Callable

import cupy
import cupyx.scipy.special
from cupy.lib.stride_tricks import as_strided

from ._im2col import strided_kernels


def _cupy_windows(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    # CuPy's as_strided has no ``writeable`` flag; the view is only ever read (by one reshape)
    return as_strided(array, shape=shape, strides=strides)


def _erf(xp: Any, x: Any) -> Any:
    """``cupyx.scipy.special.erf``: one element-wise CUDA kernel (the generic kernel would launch ~40)."""
    return cupyx.scipy.special.erf(x).astype(x.dtype, copy=False)


def _einsum(xp: Any, subscripts: str, *operands: Any) -> Any:
    """``cupy.einsum`` (cuTENSOR or cuBLAS where it can): the ``einsum`` capability."""
    return cupy.einsum(subscripts, *operands)


def index_add(xp: Any, source: Any, index: Any, size: int) -> Any:
    """Scatter-add (contract: ``neuronika/kernels/scatter.py``) by ``cupyx.scatter_add``: one
    kernel of atomic adds into zeros. float16 rows are accumulated in float32 (atomic adds on
    halves round at every step and are not available on every GPU) and cast back once."""
    import cupyx  # here, not at import: the backend loads without it until a scatter runs

    wide = cupy.float32 if source.dtype == cupy.float16 else source.dtype
    out = cupy.zeros((size,) + tuple(source.shape[1:]), dtype=wide)
    if index.shape[0]:
        # scatter_add needs a contiguous-enough source of out[index]'s shape; index is int64
        cupyx.scatter_add(out, index.astype(cupy.int64, copy=False), cupy.ascontiguousarray(source, dtype=wide))
    return out if wide == source.dtype else out.astype(source.dtype)


KERNELS: dict[str, Callable[..., Any]] = {
    **strided_kernels(cupy, _cupy_windows),
    "erf": _erf,
    "einsum": _einsum,
    "index_add": index_add,
}
