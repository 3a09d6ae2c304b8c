"""Convolution in the frequency domain (NumPy): the three kernels as products of spectra.

With ``L_d`` = the padded input's size on spatial axis ``d`` and all signals zero-extended to
``L``, every sum the kernels compute is a *circular* correlation or convolution that never wraps
around (the largest index it reaches is ``L - 1``), so it is exact on a grid of ``L`` points — no
padding to ``S + k - 1`` is needed. Spectra ``x̂ = DFT_L(x)``, per frequency ``f``::

    forward            ŷ[f, n, o]  = Σ_c x̂[f, n, c] · conj(ŵ[f, o, c])    y  = IDFT(ŷ) at p·stride
    input gradient     ĝx[f, n, c] = Σ_o ĝ[f, n, o] · ŵ[f, o, c]           gx = IDFT(ĝx) at 0 … L-1
    weight gradient    ĝw[f, o, c] = Σ_n conj(ĝ[f, n, o]) · x̂[f, n, c]    gw = IDFT(ĝw) at j·dilation

where ``w`` sits at the positions ``j·dilation`` (the dilated kernel) and the output gradient ``g``
at ``p·stride`` (the zero-stuffed gradient) of the grid. Each line is **one** batched complex
``matmul`` with the frequency (and the group) as batch axes: ``(F, g, N, C/g) @ (F, g, C/g, O/g)``.

The transforms are matrix DFTs, not ``numpy.fft``: each spatial axis is one GEMM with a cached
``(positions × frequencies)`` matrix of ``exp(∓2πi·f·position/L)``, real-to-half-spectrum
(``L//2 + 1`` frequencies, real and imaginary parts interleaved so that the float result *is* the
complex array) on the last axis, complex on the others. The matrices take only the positions that
carry data or are wanted, so striding, dilation and the crop to the valid output cost nothing
extra. On the small grids where this path wins, BLAS beats ``numpy.fft`` by far: for the
benchmark's second layer (1024 images of 24×24, float32) ``numpy.fft.rfftn`` took 3.7–5.7 ms, the
two DFT GEMMs 0.8 ms. The cost grows with ``L`` per element instead of ``log L``, which the
dispatch rule (``_numpy_kernels.path``) accounts for. A conjugated spectrum (``conj(ŵ)`` of a real
``w``) is the transform with the opposite sign.

Shapes follow the generic kernels: ``x (N, C, *S)``, ``w (O, C/g, *k)``, ``y (N, O, *out)``.
Only float32 (complex64 spectra) and float64 (complex128) arrays come here.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

_COMPLEX = {np.dtype(np.float32): np.dtype(np.complex64), np.dtype(np.float64): np.dtype(np.complex128)}


@functools.lru_cache(maxsize=64)
def _dft(length: int, count: int, step: int, sign: int, half: bool, inverse: bool, dtype: np.dtype) -> np.ndarray:
    """The DFT matrix of one axis of a grid of ``length`` points, for the positions ``0, step, …,
    (count-1)·step`` and the frequencies ``0 … length-1`` (``half``: ``0 … length//2``).

    Analysis (``inverse=False``): ``(count, F)`` with entries ``exp(sign·2πi·f·pos/L)``; for
    ``half`` a real ``(count, 2F)`` matrix ``[cos, sign·sin]`` interleaved per frequency.
    Synthesis (``inverse=True``, always sign +): ``(F, count)`` with ``exp(2πi·f·pos/L)/L``; for
    ``half`` a real ``(2F, count)`` matrix that takes the interleaved half spectrum of a real
    signal to its values: ``c_f·(Re·cos − Im·sin)/L`` with ``c_f = 2`` except at ``f = 0`` and the
    Nyquist frequency. Angles are reduced modulo ``L`` in integers, so float64 keeps 1e-16 accuracy.
    """
    frequencies = np.arange(length // 2 + 1 if half else length)
    positions = np.arange(count) * step
    angle = (2 * np.pi / length) * ((positions[:, None] * frequencies[None, :]) % length)  # (count, F)
    if not half:
        matrix = np.exp(1j * sign * angle)
        matrix = matrix.T / length if inverse else matrix
        result: np.ndarray = matrix.astype(_COMPLEX[dtype])
    elif not inverse:
        result = np.stack([np.cos(angle), sign * np.sin(angle)], axis=-1).reshape(count, -1).astype(dtype)
    else:
        weight = np.full(frequencies.shape, 2.0)
        weight[0] = 1.0
        if length % 2 == 0:
            weight[-1] = 1.0
        weight /= length
        pairs = np.stack([weight * np.cos(angle), -weight * np.sin(angle)], axis=-1)  # (count, F, 2)
        result = pairs.reshape(count, -1).T.astype(dtype)
    result.flags.writeable = False
    return result


def _batch_last(a: Any, order: Sequence[int]) -> Any:
    """``(*B, X)`` contiguous -> contiguous ``(X, *B[order])``: the transposing copy of
    :func:`_spectrum`, in slabs of the outer batch axis of about 48k elements, which keeps the
    strided reads in cache (2× faster than one ``ascontiguousarray`` when ``X`` is in the
    thousands; measured on the benchmark's shapes)."""
    batch, columns = a.shape[:-1], a.shape[-1]
    view = a.transpose((a.ndim - 1,) + tuple(order))
    out = np.empty(view.shape, a.dtype)
    rows = max(1, 49152 // (columns * math.prod(batch[1:])))
    if rows >= batch[0]:
        out[...] = view
        return out
    axis = 1 + list(order).index(0)
    for start in range(0, batch[0], rows):
        where = (slice(None),) * axis + (slice(start, start + rows),)
        out[where] = view[where]
    return out


def _batch_first(a: Any, order: Sequence[int]) -> Any:
    """``(X, *B)`` contiguous -> contiguous ``(*B[order], X)``: the transposing copy of
    :func:`_signal`, in slabs of 8 rows of ``X`` when the batch is large (each slab then writes one
    cache line per batch element: 3–4× faster than one ``ascontiguousarray`` on the benchmark's
    shapes)."""
    batch = a.shape[1:]
    view = a.transpose(tuple(1 + i for i in order) + (0,))
    out = np.empty(view.shape, a.dtype)
    if math.prod(batch) < 128:
        out[...] = view
        return out
    rows = 8 if a.shape[0] <= 1024 else 16
    for start in range(0, a.shape[0], rows):
        out[..., start : start + rows] = view[..., start : start + rows]
    return out


def _spectrum(a: Any, grid: Sequence[int], steps: Sequence[int], sign: int, order: Sequence[int]) -> Any:
    """``a (*B, *P)`` real, its samples at the positions ``p·steps`` of the grid -> the contiguous
    complex spectrum ``(F, *B[order])``, ``F = L_0 ⋯ L_{d-2}·(L_{d-1}//2 + 1)`` frequencies.

    The last axis is one real GEMM; then a single copy moves the batch behind the spatial axes
    (in the batch order ``order``, so that the spectrum is laid out for the channel ``matmul``),
    and every other axis is one GEMM, batched over the frequencies already computed."""
    ndim, lead = len(grid), a.ndim - len(grid)
    points = tuple(a.shape[lead:])
    analysis = _dft(grid[-1], points[-1], steps[-1], sign, True, False, a.dtype)
    # contiguous rows: a broadcast gradient (from ``sum``) would reach BLAS with zero strides
    spectrum = np.matmul(np.ascontiguousarray(a).reshape(-1, points[-1]), analysis).view(_COMPLEX[a.dtype])
    spectrum = _batch_last(spectrum.reshape(tuple(a.shape[:lead]) + (-1,)), order)  # (P_0 … P_{d-2}·F_last, *B)
    done = 1
    for axis in range(ndim - 1):
        matrix = _dft(grid[axis], points[axis], steps[axis], sign, False, False, a.dtype).T  # (F_a, P_a)
        spectrum = np.matmul(matrix, spectrum.reshape(done, points[axis], -1))
        done *= grid[axis]
    return spectrum.reshape((-1,) + tuple(a.shape[i] for i in order))


def _signal(spectrum: Any, grid: Sequence[int], counts: Sequence[int], steps: Sequence[int], order: Sequence[int]) -> Any:
    """The inverse of :func:`_spectrum`: the contiguous spectrum ``(F, *B)`` -> the real signal
    ``(*B[order], *Q)`` at the positions ``q·steps`` (``q < counts``) of the grid."""
    ndim, batch = len(grid), tuple(spectrum.shape[1:])
    dtype = np.dtype(spectrum.real.dtype)
    done = 1
    for axis in range(ndim - 1):
        matrix = _dft(grid[axis], counts[axis], steps[axis], 1, False, True, dtype).T  # (Q_a, F_a)
        spectrum = np.matmul(matrix, spectrum.reshape(done, grid[axis], -1))
        done *= counts[axis]
    spectrum = _batch_first(spectrum.reshape((-1,) + batch), order)  # (*B[order], Q_0 … Q_{d-2}·F_last)
    synthesis = _dft(grid[-1], counts[-1], steps[-1], 1, True, True, dtype)
    values = np.matmul(spectrum.view(dtype).reshape(-1, synthesis.shape[0]), synthesis)
    return values.reshape(tuple(batch[i] for i in order) + tuple(counts))


def _output_size(grid: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    return tuple((s - d * (k - 1) - 1) // t + 1 for s, k, t, d in zip(grid, kernel, stride, dilation))


def _product(a: Any, b: Any) -> Any:
    """``a (F, g, M, K) @ b (F, g, K, P)``: one batched ``matmul``, or for ``K = 1`` (one input
    channel per group, as in a first layer or a depthwise convolution) a broadcast product, which
    skips ``F·g`` tiny BLAS calls (10× faster on the benchmark's first layer)."""
    return a * b if a.shape[-1] == 1 else np.matmul(a, b)


def input_spectrum(x: Any, groups: int) -> Any:
    """``x̂ (F, g, N, C/g)`` of an input ``x (N, C, *S)``: what the forward and the weight
    gradient both transform (the NumPy kernels keep the forward's for the backward)."""
    grid = tuple(x.shape[2:])
    x_split = x.reshape((x.shape[0], groups, x.shape[1] // groups) + grid)
    return _spectrum(x_split, grid, (1,) * len(grid), -1, (1, 0, 2))


def conv_forward(x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int, x_hat: Any = None) -> Any:
    """``y = x ⋆ w`` through spectra: ``x (N, C, *S)``, ``w (O, C/g, *k)`` -> ``y (N, O, *out)``
    (``x_hat``: ``input_spectrum(x, groups)`` when the caller has it)."""
    grid = tuple(x.shape[2:])
    batch, out_channels = x.shape[0], w.shape[0]
    out = _output_size(grid, w.shape[2:], stride, dilation)
    w_split = w.reshape((groups, out_channels // groups) + tuple(w.shape[1:]))
    if x_hat is None:
        x_hat = input_spectrum(x, groups)  # (F, g, N, C/g)
    w_conj = _spectrum(w_split, grid, dilation, 1, (0, 2, 1))  # conj(ŵ): (F, g, C/g, O/g)
    y_hat = _product(x_hat, w_conj)  # (F, g, N, O/g)
    return _signal(y_hat, grid, out, stride, (1, 0, 2)).reshape((batch, out_channels) + out)


def grad_spectrum(grad: Any, grid: Sequence[int], stride: Sequence[int], groups: int) -> Any:
    """``ĝ (F, g, N, O/g)`` of an output gradient ``grad (N, O, *out)`` on the padded input's grid:
    what the input gradient transforms, and (conjugated) the weight gradient too."""
    batch, out_channels = grad.shape[0], grad.shape[1]
    g_split = grad.reshape((batch, groups, out_channels // groups) + tuple(grad.shape[2:]))
    return _spectrum(g_split, tuple(grid), stride, -1, (1, 0, 2))


def conv_backward_input(
    grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int,
    g_hat: Any = None,
) -> Any:
    """``∂L/∂x`` through spectra: ``grad (N, O, *out)``, ``w (O, C/g, *k)`` -> ``(N, C, *S)``
    (``g_hat``: ``grad_spectrum(grad, …)`` when the caller has it)."""
    grid = tuple(x_shape[2:])
    out_channels = grad.shape[1]
    w_split = w.reshape((groups, out_channels // groups) + tuple(w.shape[1:]))
    if g_hat is None:
        g_hat = grad_spectrum(grad, grid, stride, groups)  # (F, g, N, O/g)
    w_hat = _spectrum(w_split, grid, dilation, -1, (0, 1, 2))  # (F, g, O/g, C/g)
    grad_x_hat = _product(g_hat, w_hat)  # (F, g, N, C/g)
    return _signal(grad_x_hat, grid, grid, (1,) * len(grid), (1, 0, 2)).reshape(tuple(x_shape))


def conv_backward_weight(
    grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int,
    x_hat: Any = None, g_hat: Any = None,
) -> Any:
    """``∂L/∂w`` through spectra: ``grad (N, O, *out)``, ``x (N, C, *S)`` -> ``(O, C/g, *k)``
    (``x_hat``: the forward's ``input_spectrum(x, groups)`` when the caller kept it; ``g_hat``:
    the input gradient's ``grad_spectrum``, conjugated here in one pass instead of transformed
    again)."""
    grid = tuple(x.shape[2:])
    batch, out_channels = x.shape[0], grad.shape[1]
    if g_hat is not None:
        g_conj = np.conj(g_hat).transpose(0, 1, 3, 2)  # (F, g, O/g, N), BLAS reads it transposed
    else:
        g_split = grad.reshape((batch, groups, out_channels // groups) + tuple(grad.shape[2:]))
        g_conj = _spectrum(g_split, grid, stride, 1, (1, 2, 0))  # conj(ĝ): (F, g, O/g, N)
    if x_hat is None:
        x_hat = input_spectrum(x, groups)  # (F, g, N, C/g)
    grad_w_hat = _product(g_conj, x_hat)  # (F, g, O/g, C/g)
    return _signal(grad_w_hat, grid, tuple(w_shape[2:]), dilation, (0, 1, 2)).reshape(tuple(w_shape))


def _transform_work(batch: int, points: Sequence[int], grid: Sequence[int]) -> tuple[float, float]:
    """GEMM flops and moved real elements (the transposing copy and the spectrum) of
    :func:`_spectrum` for ``batch`` signals with ``points`` samples per axis (and, with ``points``
    the output positions, about those of :func:`_signal`)."""
    half = grid[-1] // 2 + 1
    flops = 4.0 * batch * math.prod(points) * half
    for axis in range(len(grid) - 1):
        flops += 8.0 * batch * half * math.prod(grid[:axis]) * points[axis] * grid[axis] * math.prod(points[axis + 1 : -1])
    # real elements written and read again: the transposing copy, and the spectrum itself
    return flops, 2.0 * batch * half * (math.prod(points[:-1]) + math.prod(grid[:-1]))


def work(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int) -> tuple[float, float, float]:
    """``(transform flops, product flops, moved elements)`` of any of the three frequency-domain
    kernels (each transforms one input-sized, one output-sized and one kernel-sized array and
    multiplies the spectra once) for a padded input of shape ``x_shape`` and a kernel of shape
    ``w_shape``: the inputs of the dispatch rule (``_numpy_kernels.py``)."""
    grid, kernel = tuple(x_shape[2:]), tuple(w_shape[2:])
    batch, channels, out_channels = x_shape[0], x_shape[1], w_shape[0]
    out = _output_size(grid, kernel, stride, dilation)
    parts = (
        _transform_work(batch * channels, grid, grid),
        _transform_work(batch * out_channels, out, grid),
        _transform_work(out_channels * w_shape[1], kernel, grid),
    )
    product = 8.0 * math.prod(grid[:-1]) * (grid[-1] // 2 + 1) * batch * channels * out_channels / groups
    return sum(p[0] for p in parts), product, sum(p[1] for p in parts)
