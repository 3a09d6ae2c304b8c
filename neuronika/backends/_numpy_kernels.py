"""Kernel overrides of the NumPy backend: convolution by im2col + one BLAS GEMM, or in the
frequency domain, whichever a cost rule of the shapes predicts faster.

The three convolution kernels keep the generic signatures (``neuronika/kernels/convolution.py``)::

    conv_forward(xp, x, w, stride, dilation, groups) -> y
    conv_backward_input(xp, grad_y, w, x_shape, stride, dilation, groups) -> grad_x
    conv_backward_weight(xp, grad_y, x, w_shape, stride, dilation, groups) -> grad_w

and each call takes one of two paths, chosen by :func:`path` (cached per shape):

**im2col** (:data:`STRIDED`), channels-last, which measured fastest on the CNN shapes of the
benchmark (``bench/conv.py``): the input is copied once to ``(N, *S, C)``, a strided view of its
windows ``(N, *out, *k, C)`` (``as_strided``, no copy) is gathered by one reshape into the im2col
matrix ``(N·P, K·C)`` (rows: batch × output positions, columns: kernel offsets × channels, each row
made of runs of ``k_last·C`` contiguous floats), and then

* forward:        ``y = cols · Wᵀ``                      one GEMM ``(N·P, K·C) · (K·C, O)``
* weight grad:    ``grad_w = gradᵀ · cols``              one GEMM ``(O, N·P) · (N·P, K·C)``
* input grad:     ``dcols[j] = grad · W[j]``             one batched GEMM over the K offsets,
                  then col2im: ``grad_x[window(j)] += dcols[j]`` (one contiguous-run add per offset)

With ``g`` groups every matrix gains a leading batch axis of size ``g`` (``matmul`` batches it).
The same code runs on CuPy (``_cupy_kernels.py`` builds it with ``cupy`` and CuPy's
``as_strided``): :func:`strided_kernels` takes the array library as an argument.

**fft** (:data:`FFT`, ``_fft_conv.py``): spectra of the input, the kernel and the output gradient
on the padded input's grid, one batched complex ``matmul`` over the channels per frequency, and
the inverse transform at the wanted positions (NumPy only, float32 and float64). Its cost grows
with the grid size rather than with the kernel size, so it wins on wide channels and kernels over
small grids (the benchmark CNN's second layer: 2–3× faster than im2col) and loses on one input
channel or large grids.
"""

from __future__ import annotations

import functools
import itertools
import math
import weakref
from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _fft_conv

Windows = Callable[[Any, tuple[int, ...], tuple[int, ...]], Any]


def _output_size(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    return tuple((s - d * (k - 1) - 1) // t + 1 for s, k, t, d in zip(size, kernel, stride, dilation))


def strided_kernels(lib: Any, windows: Windows) -> dict[str, Callable[..., Any]]:
    """The convolution overrides for an array library ``lib`` (``numpy`` or ``cupy``).

    ``windows(array, shape, strides)`` returns a read-only strided view of ``array`` (``as_strided``).
    """

    def unfold(x: Any, kernel: tuple[int, ...], stride: Sequence[int], dilation: Sequence[int], groups: int) -> tuple[Any, tuple[int, ...]]:
        """Channels-last im2col: ``x (N, C, *S)`` -> C-contiguous ``cols (g, N·P, K·C/g)`` (columns
        ordered ``(*k, c)``, each row made of runs of ``k_last·C/g`` contiguous floats) and the
        output size. The gather is one reshape of a strided window view."""
        batch, channels = x.shape[0], x.shape[1]
        per_group = channels // groups
        ndim = len(kernel)
        out = _output_size(x.shape[2:], kernel, stride, dilation)
        rows, columns = batch * math.prod(out), math.prod(kernel) * per_group
        last = lib.ascontiguousarray(lib.moveaxis(x, 1, -1))  # (N, *S, C)
        strides = last.strides
        spatial = strides[1:-1]
        view = windows(
            last,
            (batch,) + out + kernel + (groups, per_group),
            (strides[0],)
            + tuple(s * t for s, t in zip(spatial, stride))
            + tuple(s * d for s, d in zip(spatial, dilation))
            + (strides[-1] * per_group, strides[-1]),
        )  # (N, *out, *k, g, C/g), no copy
        order = (1 + 2 * ndim,) + tuple(range(1 + 2 * ndim)) + (2 + 2 * ndim,)
        return view.transpose(order).reshape(groups, rows, columns), out

    def unfold_first(x: Any, kernel: tuple[int, ...], stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
        """Channels-first im2col, one matrix per image: ``x (N, C, *S)`` -> C-contiguous ``cols (N,
        g, K·C/g, P)`` (rows ordered ``(*k, c)``). The products then run batched over the images
        with the result already in ``(N, O, P)`` order: no transposing copy of the output (forward)
        or of the output gradient (both backward kernels)."""
        batch, channels = x.shape[0], x.shape[1]
        per_group, ndim = channels // groups, len(kernel)
        out = _output_size(x.shape[2:], kernel, stride, dilation)
        first = lib.ascontiguousarray(x)
        strides = first.strides
        spatial = strides[2:]
        view = windows(
            first,
            (batch, groups, per_group) + out + kernel,
            (strides[0], strides[1] * per_group, strides[1])
            + tuple(s * t for s, t in zip(spatial, stride))
            + tuple(s * d for s, d in zip(spatial, dilation)),
        )  # (N, g, C/g, *out, *k), no copy
        order = (0, 1) + tuple(range(3 + ndim, 3 + 2 * ndim)) + (2,) + tuple(range(3, 3 + ndim))
        return view.transpose(order).reshape(batch, groups, math.prod(kernel) * per_group, math.prod(out))

    def channels_first(x_shape: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int) -> bool:
        """Whether the gather reads longer runs channels-first (``out_last``) than channels-last
        (``k_last·C/g``)."""
        out_last = _output_size(x_shape[-1:], kernel[-1:], stride[-1:], dilation[-1:])[0]
        run_last = (x_shape[1] // groups) * (kernel[-1] if dilation[-1] == 1 else 1)
        return (out_last if stride[-1] == 1 else 1) >= run_last

    def weight_matrix(w: Any, groups: int) -> Any:
        """``w (O, C/g, *k)`` -> ``(g, K·C/g, O/g)``, columns ordered as :func:`unfold`'s."""
        return lib.moveaxis(w, 1, -1).reshape(groups, w.shape[0] // groups, -1).transpose(0, 2, 1)

    def grad_rows(grad: Any, groups: int) -> Any:
        """``grad (N, O, *out)`` -> ``(g, N·P, O/g)``, C-contiguous (a broadcast gradient, e.g.
        from ``sum``, would otherwise reach BLAS with zero strides, which it cannot take)."""
        batch, out_channels, points = grad.shape[0], grad.shape[1], math.prod(grad.shape[2:])
        # sizes spelled out, not -1: an empty batch (N = 0) leaves -1 undetermined
        rows = grad.reshape(batch, groups, out_channels // groups, points).transpose(1, 0, 3, 2)
        return lib.ascontiguousarray(rows).reshape(groups, batch * points, out_channels // groups)

    def conv_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
        batch, out_channels = x.shape[0], w.shape[0]
        if channels_first(x.shape, w.shape[2:], stride, dilation, groups):
            cols = unfold_first(x, tuple(w.shape[2:]), stride, dilation, groups)  # (N, g, K·C/g, P)
            y = lib.matmul(weight_matrix(w, groups).transpose(0, 2, 1), cols)  # (N, g, O/g, P)
            return y.reshape((batch, out_channels) + _output_size(x.shape[2:], w.shape[2:], stride, dilation))
        cols, out = unfold(x, tuple(w.shape[2:]), stride, dilation, groups)
        y = lib.matmul(cols, weight_matrix(w, groups))  # (g, N·P, O/g)
        y = y.reshape(groups, batch, math.prod(out), out_channels // groups).transpose(1, 0, 3, 2)
        return y.reshape((batch, out_channels) + out)

    def conv_backward_weight(
        xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
    ) -> Any:
        kernel = tuple(w_shape[2:])
        if channels_first(x.shape, kernel, stride, dilation, groups):
            cols = unfold_first(x, kernel, stride, dilation, groups)  # (N, g, K·C/g, P)
            rows = lib.ascontiguousarray(grad).reshape(cols.shape[:2] + (-1, cols.shape[3]))  # (N, g, O/g, P)
            grad_w = lib.matmul(rows, cols.transpose(0, 1, 3, 2)).sum(axis=0)  # (g, O/g, K·C/g)
            grad_w = grad_w.reshape((w_shape[0],) + kernel + (w_shape[1],))
            return lib.ascontiguousarray(lib.moveaxis(grad_w, -1, 1))
        cols, _ = unfold(x, kernel, stride, dilation, groups)
        grad_w = lib.matmul(grad_rows(grad, groups).transpose(0, 2, 1), cols)  # (g, O/g, K·C/g)
        grad_w = grad_w.reshape((w_shape[0],) + kernel + (w_shape[1],))
        return lib.ascontiguousarray(lib.moveaxis(grad_w, -1, 1))

    def conv_backward_input(
        xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
    ) -> Any:
        batch, channels = x_shape[0], x_shape[1]
        per_group, out_channels = channels // groups, w.shape[0]
        kernel, out = tuple(w.shape[2:]), tuple(grad.shape[2:])
        ndim, size = len(kernel), math.prod(kernel)
        if channels_first(x_shape, kernel, stride, dilation, groups):
            rows = lib.ascontiguousarray(grad).reshape(batch, groups, out_channels // groups, -1)  # (N, g, O/g, P)
            dcols = lib.matmul(weight_matrix(w, groups), rows)  # (N, g, K·C/g, P)
            dcols = dcols.reshape((batch, groups, size, per_group) + out)
            grad_x = lib.zeros((batch, groups, per_group) + tuple(x_shape[2:]), dtype=grad.dtype)
            for index, offset in enumerate(itertools.product(*(range(k) for k in kernel))):
                where = (slice(None),) * 3 + tuple(
                    slice(j * d, j * d + (o - 1) * t + 1, t) for j, o, t, d in zip(offset, out, stride, dilation)
                )
                grad_x[where] += dcols[:, :, index]
            return grad_x.reshape(tuple(x_shape))
        # (g, K, O/g, C/g): one matrix per group and kernel offset
        taps = lib.ascontiguousarray(w.reshape(groups, out_channels // groups, per_group, size).transpose(0, 3, 1, 2))
        dcols = lib.matmul(grad_rows(grad, groups)[:, None], taps)  # (g, K, N·P, C/g)
        dcols = dcols.reshape((groups, size, batch) + out + (per_group,))
        # col2im into a channels-last buffer, where each window's rows are contiguous runs
        grad_x = lib.zeros((groups, batch) + tuple(x_shape[2:]) + (per_group,), dtype=grad.dtype)
        everything = (slice(None), slice(None))
        for index, offset in enumerate(itertools.product(*(range(k) for k in kernel))):
            where = everything + tuple(
                slice(j * d, j * d + (o - 1) * t + 1, t) for j, o, t, d in zip(offset, out, stride, dilation)
            )
            grad_x[where] += dcols[:, index]
        order = (1, 0, 2 + ndim) + tuple(range(2, 2 + ndim))  # (N, g, C/g, *S)
        return grad_x.transpose(order).reshape(tuple(x_shape))

    return {
        "conv_forward": conv_forward,
        "conv_backward_input": conv_backward_input,
        "conv_backward_weight": conv_backward_weight,
    }


def _numpy_windows(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    return as_strided(array, shape=shape, strides=strides, writeable=False)


STRIDED: dict[str, Callable[..., Any]] = strided_kernels(np, _numpy_windows)
"""The im2col kernels on NumPy (the CuPy override is the same code built with ``cupy``)."""

#: input spectra the frequency-domain forward computed, kept for the weight gradient of the same
#: input: ``id(x) -> (weakref to x, groups, x̂)``. An entry is taken by the backward that uses it,
#: and dropped when ``x`` itself is freed (the next forward of a replayed graph replaces it), so
#: nothing outlives the input it was computed from.
_SPECTRA: dict[int, tuple[Any, int, Any]] = {}


def _keep_spectrum(x: Any, groups: int, x_hat: Any) -> None:
    key = id(x)

    def forget(_: Any) -> None:
        _SPECTRA.pop(key, None)

    _SPECTRA[key] = (weakref.ref(x, forget), groups, x_hat)


def _kept_spectrum(x: Any, groups: int) -> Any:
    entry = _SPECTRA.get(id(x))
    if entry is None or entry[0]() is not x or entry[1] != groups:
        return None
    del _SPECTRA[id(x)]
    return entry[2]


def _fft_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    x_hat = _fft_conv.input_spectrum(x, groups)
    if path("conv_backward_weight", x.shape, w.shape, tuple(stride), tuple(dilation), groups, x.dtype) == "fft":
        _keep_spectrum(x, groups, x_hat)  # the weight gradient will transform the same input
    return _fft_conv.conv_forward(x, w, stride, dilation, groups, x_hat=x_hat)


def _fft_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    return _fft_conv.conv_backward_input(grad, w, x_shape, stride, dilation, groups)


def _fft_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    return _fft_conv.conv_backward_weight(grad, x, w_shape, stride, dilation, groups, x_hat=_kept_spectrum(x, groups))


FFT: dict[str, Callable[..., Any]] = {
    "conv_forward": _fft_forward,
    "conv_backward_input": _fft_backward_input,
    "conv_backward_weight": _fft_backward_weight,
}
"""The frequency-domain kernels (``_fft_conv.py``, float32 and float64 only), generic signatures."""

# Seconds per unit of work on this project's 2-core development VM (OpenBLAS 0.3.31, 2 threads,
# float32): fitted (least squares on log time) to min-of-18 timings of both paths on 207 random
# shapes x 3 kernels, with the product rate and the per-call constants measured on their own
# (batched complex matmuls of 16-64 rows and columns; the smallest convolutions).
# docs/convolution.md, "Which path the NumPy override takes", has the data and how to check the
# rule on another machine.
IM2COL_SECONDS = {"flop": 1 / 76e9, "element": 1 / 1.48e9, "col2im": 1 / 2.95e9, "call": 15e-6}
FFT_SECONDS = {"transform": 1 / 202e9, "product": 1 / 60e9, "element": 1 / 1.27e9, "call": 25e-6}
FFT_LARGEST_GRID = 512
"""The largest padded spatial size the frequency-domain path takes (its DFT matrices are ``L × L``)."""


def im2col_work(x_shape: Sequence[int], w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int) -> tuple[float, float]:
    """``(GEMM flops, gathered elements)`` of one im2col kernel: ``2·N·P·K·C·O/g`` and the
    ``N·P·K·C`` entries of the im2col matrix (``P`` output positions, ``K`` kernel taps)."""
    out = _output_size(x_shape[2:], w_shape[2:], stride, dilation)
    gathered = float(x_shape[0]) * math.prod(out) * math.prod(w_shape[2:]) * x_shape[1]
    return 2.0 * gathered * w_shape[0] / groups, gathered


@functools.lru_cache(maxsize=1024)
def path(
    name: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], groups: int, dtype: np.dtype
) -> str:
    """``"fft"`` or ``"im2col"``: the path the NumPy override takes for kernel ``name`` on a padded
    input of shape ``x_shape`` and a kernel of shape ``w_shape``, whichever this cost model predicts
    faster (float32 and float64; other dtypes always take im2col)::

        im2col = flops / 76 GFLOP/s + gathered / 1.48 G/s (+ gathered / 2.95 G/s: col2im) + 15 µs
        fft    = transform flops / 202 GFLOP/s + product flops / 60 GFLOP/s
                 + moved elements / 1.27 G/s + 25 µs

    with the work counted by :func:`im2col_work` and ``_fft_conv.work``. A kernel with a single
    tap (a plain GEMM) and a padded input longer than :data:`FFT_LARGEST_GRID` on some axis (whose
    DFT matrices would take megabytes each) always take im2col. A rule of the shapes alone (no
    timing at run time), cached per shape. The rates are effective ones, fitted to measured times
    of both paths (``IM2COL_SECONDS``, ``FFT_SECONDS``)."""
    if (
        np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64))
        or math.prod(w_shape[2:]) == 1
        or max(x_shape[2:]) > FFT_LARGEST_GRID
    ):
        return "im2col"
    flops, gathered = im2col_work(x_shape, w_shape, stride, dilation, groups)
    im2col = flops * IM2COL_SECONDS["flop"] + gathered * IM2COL_SECONDS["element"] + IM2COL_SECONDS["call"]
    if name == "conv_backward_input":
        im2col += gathered * IM2COL_SECONDS["col2im"]
    transform, product, moved = _fft_conv.work(x_shape, w_shape, stride, dilation, groups)
    fft = (
        transform * FFT_SECONDS["transform"]
        + product * FFT_SECONDS["product"]
        + moved * FFT_SECONDS["element"]
        + FFT_SECONDS["call"]
    )
    return "fft" if fft < im2col else "im2col"


def _conv_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    choice = path("conv_forward", x.shape, w.shape, tuple(stride), tuple(dilation), groups, x.dtype)
    return (FFT if choice == "fft" else STRIDED)["conv_forward"](xp, x, w, stride, dilation, groups)


def _conv_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    choice = path("conv_backward_input", tuple(x_shape), w.shape, tuple(stride), tuple(dilation), groups, grad.dtype)
    return (FFT if choice == "fft" else STRIDED)["conv_backward_input"](xp, grad, w, x_shape, stride, dilation, groups)


def _conv_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    choice = path("conv_backward_weight", x.shape, tuple(w_shape), tuple(stride), tuple(dilation), groups, x.dtype)
    return (FFT if choice == "fft" else STRIDED)["conv_backward_weight"](xp, grad, x, w_shape, stride, dilation, groups)


KERNELS: dict[str, Callable[..., Any]] = {
    "conv_forward": _conv_forward,
    "conv_backward_input": _conv_backward_input,
    "conv_backward_weight": _conv_backward_weight,
}
"""The NumPy backend's overrides: each call takes the path :func:`path` picks for its shapes."""
