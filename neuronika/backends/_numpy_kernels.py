"""Convolution kernel overrides of the NumPy backend: three algorithms, and a cost rule of the
shapes that picks one per kernel call.

The three convolution kernels keep the generic signatures (``neuronika/kernels/convolution.py``)::

    conv_forward(xp, x, w, stride, dilation, groups) -> y
    conv_backward_input(xp, grad_y, w, x_shape, stride, dilation, groups) -> grad_x
    conv_backward_weight(xp, grad_y, x, w_shape, stride, dilation, groups) -> grad_w

and each call takes the path :func:`path` predicts fastest (cached per shape):

**im2col** (:data:`STRIDED`, ``_im2col.py``): the windows gathered by one reshape of a strided
view, then one BLAS GEMM per kernel. The same code runs on CuPy (``_cupy_kernels.py``).

**fft** (:data:`FFT`, ``_fft_conv.py``): spectra of the input, the kernel and the output gradient
on the padded input's grid, one batched complex ``matmul`` over the channels per frequency, and
the inverse transform at the wanted positions (float32 and float64). Its cost grows with the grid
size rather than with the kernel size, so it wins on wide channels and kernels over small grids
(the benchmark CNN's second layer: 2–3× faster than im2col) and loses on one input channel or
large grids.

**winograd** (:data:`WINOGRAD`, ``_winograd_conv.py``): F(2x2, 3x3) for 2-d 3x3 kernels with
stride 1, no dilation and one group (float32 and float64): 16 products per 2x2 output tile
instead of 36, one GEMM per tile position.

Transforms a later kernel of the same step needs again are kept for it (``_kept.py``): the input
spectrum and the input tiles (forward → weight gradient), the output gradient's spectrum (input
gradient → weight gradient).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _fft_conv, _kept, _winograd_conv
from ._im2col import _output_size, strided_kernels

__all__ = ["FFT", "KERNELS", "PATHS", "STRIDED", "WINOGRAD", "im2col_work", "path", "strided_kernels", "winograd_fits"]


def _numpy_windows(array: Any, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
    return as_strided(array, shape=shape, strides=strides, writeable=False)


STRIDED: dict[str, Callable[..., Any]] = strided_kernels(np, _numpy_windows)
"""The im2col kernels on NumPy (the CuPy override is the same code built with ``cupy``)."""


def _fft_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    x_hat = _fft_conv.input_spectrum(x, groups)
    if path("conv_backward_weight", x.shape, w.shape, tuple(stride), tuple(dilation), groups, x.dtype) == "fft":
        _kept.keep(x, "x_hat", groups, x_hat)  # the weight gradient will transform the same input
    return _fft_conv.conv_forward(x, w, stride, dilation, groups, x_hat=x_hat)


def _fft_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    g_hat = _fft_conv.grad_spectrum(grad, x_shape[2:], stride, groups)
    if path("conv_backward_weight", tuple(x_shape), w.shape, tuple(stride), tuple(dilation), groups, grad.dtype) == "fft":
        # the weight gradient conjugates it; the key holds what the spectrum depends on besides
        # the gradient (two convolutions may be handed the same gradient array)
        _kept.keep(grad, "g_hat", (groups, tuple(x_shape), tuple(stride)), g_hat)
    return _fft_conv.conv_backward_input(grad, w, x_shape, stride, dilation, groups, g_hat=g_hat)


def _fft_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    return _fft_conv.conv_backward_weight(
        grad, x, w_shape, stride, dilation, groups,
        x_hat=_kept.take(x, "x_hat", groups), g_hat=_kept.take(grad, "g_hat", (groups, tuple(x.shape), tuple(stride))),
    )


FFT: dict[str, Callable[..., Any]] = {
    "conv_forward": _fft_forward,
    "conv_backward_input": _fft_backward_input,
    "conv_backward_weight": _fft_backward_weight,
}
"""The frequency-domain kernels (``_fft_conv.py``, float32 and float64 only), generic signatures."""

def _winograd_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    v = _winograd_conv.input_transform(x)
    if path("conv_backward_weight", x.shape, w.shape, tuple(stride), tuple(dilation), groups, x.dtype) == "winograd":
        _kept.keep(x, "tiles", None, v)  # the weight gradient multiplies the same input tiles
    return _winograd_conv.conv_forward(x, w, v=v)


def _winograd_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    return _winograd_conv.conv_backward_input(grad, w)


def _winograd_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    return _winograd_conv.conv_backward_weight(grad, x, v=_kept.take(x, "tiles", None))


WINOGRAD: dict[str, Callable[..., Any]] = {
    "conv_forward": _winograd_forward,
    "conv_backward_input": _winograd_backward_input,
    "conv_backward_weight": _winograd_backward_weight,
}
"""Winograd F(2x2, 3x3) (``_winograd_conv.py``): 2-d 3x3 kernels, stride 1, no dilation, one group,
float32 and float64 only (:func:`winograd_fits`), generic signatures."""


def winograd_fits(w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int, dtype: Any) -> bool:
    """Whether the Winograd kernels compute this convolution: a 2-d 3x3 kernel, stride 1, no
    dilation, one group, float32 or float64."""
    return (
        tuple(w_shape[2:]) == (3, 3)
        and tuple(stride) == (1, 1)
        and tuple(dilation) == (1, 1)
        and groups == 1
        and np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))
    )


# Seconds per unit of work on this project's 2-core development VM (OpenBLAS 0.3.31, 2 threads,
# float32): fitted (least squares on log time) to min-of-18 timings of both paths on 207 random
# shapes x 3 kernels, with the product rate and the per-call constants measured on their own
# (batched complex matmuls of 16-64 rows and columns; the smallest convolutions).
# docs/convolution.md, "Which path the NumPy override takes", has the data and how to check the
# rule on another machine.
IM2COL_SECONDS = {"flop": 1 / 76e9, "element": 1 / 1.48e9, "col2im": 1 / 2.95e9, "call": 15e-6}
FFT_SECONDS = {"transform": 1 / 202e9, "product": 1 / 60e9, "element": 1 / 1.27e9, "call": 25e-6}
# Winograd's rates (same keys as FFT_SECONDS' "product"/"element"/"call": flop, element, call), or
# None: the rule then never takes it. On this VM (one BLAS thread) it was the fastest path for 1
# of 78 kernel calls on 26 random 3x3 layers (and for none of W2L's), 1.5x slower than im2col or
# fft in total, and no rates put it in the rule without making the rule's total worse (train and
# held-out); docs/convolution.md has the data. Rates fitted there, for a machine where it wins:
# {"flop": 1 / 164e9, "element": 1 / 1.45e9, "call": 30e-6} (one thread).
WINOGRAD_SECONDS: "dict[str, float] | None" = None
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
    """``"im2col"``, ``"fft"`` or ``"winograd"``: the path the NumPy override takes for kernel
    ``name`` on a padded input of shape ``x_shape`` and a kernel of shape ``w_shape``, whichever
    this cost model predicts fastest (float32 and float64; other dtypes always take im2col)::

        im2col   = flops / 76 GFLOP/s + gathered / 1.48 G/s (+ gathered / 2.95 G/s: col2im) + 15 µs
        fft      = transform flops / 202 GFLOP/s + product flops / 60 GFLOP/s
                   + moved elements / 1.27 G/s + 25 µs
        winograd = product flops · WINOGRAD_SECONDS["flop"] + moved elements · ["element"] + ["call"]
                   (only where :func:`winograd_fits`, and only with rates set: none by default,
                   as it measured slower than the other two on this machine)

    with the work counted by :func:`im2col_work`, ``_fft_conv.work`` and ``_winograd_conv.work``.
    A kernel with a single
    tap (a plain GEMM) and a padded input longer than :data:`FFT_LARGEST_GRID` on some axis (whose
    DFT matrices would take megabytes each) always take im2col. A rule of the shapes alone (no
    timing at run time), cached per shape. The rates are effective ones, fitted to measured times
    of the paths (``IM2COL_SECONDS``, ``FFT_SECONDS``, ``WINOGRAD_SECONDS``)."""
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
    costs = {"im2col": im2col, "fft": fft}
    if WINOGRAD_SECONDS is not None and winograd_fits(w_shape, stride, dilation, groups, dtype):
        product, moved = _winograd_conv.work(name, x_shape, w_shape)
        costs["winograd"] = product * WINOGRAD_SECONDS["flop"] + moved * WINOGRAD_SECONDS["element"] + WINOGRAD_SECONDS["call"]
    return min(costs, key=costs.__getitem__)


def _conv_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    choice = path("conv_forward", x.shape, w.shape, tuple(stride), tuple(dilation), groups, x.dtype)
    return PATHS[choice]["conv_forward"](xp, x, w, stride, dilation, groups)


def _conv_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    choice = path("conv_backward_input", tuple(x_shape), w.shape, tuple(stride), tuple(dilation), groups, grad.dtype)
    return PATHS[choice]["conv_backward_input"](xp, grad, w, x_shape, stride, dilation, groups)


def _conv_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    choice = path("conv_backward_weight", x.shape, tuple(w_shape), tuple(stride), tuple(dilation), groups, x.dtype)
    return PATHS[choice]["conv_backward_weight"](xp, grad, x, w_shape, stride, dilation, groups)


PATHS: dict[str, dict[str, Callable[..., Any]]] = {"im2col": STRIDED, "fft": FFT, "winograd": WINOGRAD}

KERNELS: dict[str, Callable[..., Any]] = {
    "conv_forward": _conv_forward,
    "conv_backward_input": _conv_backward_input,
    "conv_backward_weight": _conv_backward_weight,
}
"""The NumPy backend's overrides: each call takes the path :func:`path` picks for its shapes."""
