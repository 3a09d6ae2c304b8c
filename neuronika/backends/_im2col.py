"""im2col convolution kernels for an array library (NumPy, and CuPy through ``_cupy_kernels.py``):
the windows of the input gathered by one reshape of a strided view, then one BLAS GEMM (batched
over groups or images) per kernel. They keep the generic signatures
(``neuronika/kernels/convolution.py``)::

    conv_forward(xp, x, w, stride, dilation, groups) -> y
    conv_backward_input(xp, grad_y, w, x_shape, stride, dilation, groups) -> grad_x
    conv_backward_weight(xp, grad_y, x, w_shape, stride, dilation, groups) -> grad_w

The gather's cost is the length of the contiguous runs it copies, so each call reads whichever
layout gives the longer runs:

**channels-last** (runs of ``k_last·C/g`` elements): the input is copied once to ``(N, *S, C)``,
a strided view of its windows ``(N, *out, *k, C)`` (``as_strided``, no copy) is gathered into
``cols (g, N·P, K·C/g)`` (rows: batch × output positions, columns: kernel offsets × channels), and

* forward:        ``y = cols · Wᵀ``                      one GEMM ``(N·P, K·C) · (K·C, O)``
* weight grad:    ``grad_w = gradᵀ · cols``              one GEMM ``(O, N·P) · (N·P, K·C)``
* input grad:     ``dcols[j] = grad · W[j]``             one batched GEMM over the K offsets,
                  then col2im: ``grad_x[window(j)] += dcols[j]`` (one contiguous-run add per offset)

**channels-first** (runs of ``out_last`` elements; few channels, as in a first layer): one
matrix per image, ``cols (N, g, K·C/g, P)``, and the same products batched over the images:
``y[n] = W · cols[n]``, ``grad_w = Σ_n grad[n] · cols[n]ᵀ``, ``dcols[n] = Wᵀ · grad[n]``. Their
results are already in ``(N, O, P)`` order, so neither the output nor its gradient is copied
into a transposed layout (on W2L's first layer, (128, 3, 34, 34) ⋆ (32, 3, 3, 3), the weight
gradient took 3.0 ms instead of 14 ms).

With ``g`` groups every matrix gains a batch axis of size ``g`` (``matmul`` batches it).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

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
