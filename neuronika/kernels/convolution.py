"""Generic N-d convolution kernels (Array API only): forward and the two vector-Jacobian products.

The convolution is a cross-correlation, as PyTorch's ``conv1d/2d/3d``. For an (already padded)
input ``x`` of shape ``(N, C, *S)``, a kernel ``w`` of shape ``(O, C/g, *k)`` and ``g`` groups
(output channel ``o`` belongs to group ``o // (O/g)`` and sees input channels
``[group·C/g, (group+1)·C/g)``)::

    y[n, o, *p] = Σ_{c in group(o)} Σ_{j in k}  w[o, c mod C/g, *j] · x[n, c, *(p·stride + j·dilation)]

with output size ``(S_d - dilation_d·(k_d - 1) - 1) // stride_d + 1`` per spatial dimension.

Each kernel loops over the ``prod(k)`` kernel offsets ``j``; per offset it takes one strided slice
of ``x`` (all batch elements and output positions at once) and does one batched ``matmul`` over
the groups. There is no loop over batch elements or output positions.

Kernel signatures (the names under which a backend may register overrides; every override must
agree with these, see ``tests/test_convolution.py``):

* ``conv_forward(xp, x, w, stride, dilation, groups) -> y``
* ``conv_backward_input(xp, grad_y, w, x_shape, stride, dilation, groups) -> grad_x``
* ``conv_backward_weight(xp, grad_y, x, w_shape, stride, dilation, groups) -> grad_w``

``x`` is the padded input, ``x_shape`` its shape; ``stride`` and ``dilation`` are tuples with one
entry per spatial dimension; ``groups`` an int. Padding is a separate kernel (``padding.py``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator, Sequence

from .writes import FUNCTIONAL, IN_PLACE


def output_size(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    """Spatial output shape of a convolution of an input of spatial ``size`` (padding included)."""
    return tuple((s - d * (k - 1) - 1) // t + 1 for s, k, t, d in zip(size, kernel, stride, dilation))


def window(offset: Sequence[int], out: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> tuple[slice, ...]:
    """The index of the input elements that kernel offset ``offset`` meets, for all outputs at once:
    ``(:, :, j_d·dilation_d : … : stride_d for each d)``, of shape ``(N, C, *out)``."""
    return (slice(None), slice(None)) + tuple(
        slice(j * d, j * d + (o - 1) * t + 1, t) for j, o, t, d in zip(offset, out, stride, dilation)
    )


def offsets(kernel: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every kernel offset, in C order (the order of a reshaped kernel's flattened axis)."""
    return itertools.product(*(range(k) for k in kernel))


def conv_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    """``y = x ⋆ w``: ``x (N, C, *S)``, ``w (O, C/g, *k)`` -> ``y (N, O, *out)``."""
    batch, channels = x.shape[0], x.shape[1]
    out_channels, kernel = w.shape[0], tuple(w.shape[2:])
    out = output_size(x.shape[2:], kernel, stride, dilation)
    positions = math.prod(out)
    # (g, O/g, C/g, K): one (O/g, C/g) matrix per group and kernel offset
    weights = xp.reshape(w, (groups, out_channels // groups, channels // groups, math.prod(kernel)))
    y = None
    for index, offset in enumerate(offsets(kernel)):
        cols = xp.reshape(x[window(offset, out, stride, dilation)], (batch, groups, channels // groups, positions))
        term = xp.matmul(weights[..., index], cols)  # (g, O/g, C/g) @ (N, g, C/g, P) -> (N, g, O/g, P)
        y = term if y is None else y + term
    return xp.reshape(y, (batch, out_channels) + out)


def conv_backward_input(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    """``∂L/∂x`` from ``∂L/∂y`` (a transposed convolution): ``grad (N, O, *out)`` -> ``(N, C, *S)``.

    Per offset ``j``: ``grad_x[window(j)] += wⱼᵀ · grad`` (scatter-add of one matmul)."""
    return _conv_backward_input(IN_PLACE, xp, grad, w, x_shape, stride, dilation, groups)


def conv_backward_input_functional(
    xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    """:func:`conv_backward_input` without writing into an array (immutable backends)."""
    return _conv_backward_input(FUNCTIONAL, xp, grad, w, x_shape, stride, dilation, groups)


def _conv_backward_input(
    write: Any, xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    batch, channels = x_shape[0], x_shape[1]
    out_channels, kernel = w.shape[0], tuple(w.shape[2:])
    out = tuple(grad.shape[2:])
    weights = xp.reshape(w, (groups, out_channels // groups, channels // groups, math.prod(kernel)))
    weights = xp.permute_dims(weights, (0, 2, 1, 3))  # (g, C/g, O/g, K)
    grads = xp.reshape(grad, (batch, groups, out_channels // groups, math.prod(out)))
    grad_x = xp.zeros(tuple(x_shape), dtype=grad.dtype, device=grad.device)
    for index, offset in enumerate(offsets(kernel)):
        term = xp.reshape(xp.matmul(weights[..., index], grads), (batch, channels) + out)
        grad_x = write.add_at(xp, grad_x, window(offset, out, stride, dilation), term)
    return grad_x


def conv_backward_weight(
    xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int], dilation: Sequence[int], groups: int
) -> Any:
    """``∂L/∂w`` from ``∂L/∂y``: ``grad_w[o, c, *j] = Σ_{n, p} grad[n, o, *p] · x[n, c', *(p·stride + j·dilation)]``.

    ``grad (N, O, *out)``, ``x (N, C, *S)`` -> ``(O, C/g, *k)``; one matmul per offset."""
    batch, channels = x.shape[0], x.shape[1]
    out_channels, kernel = w_shape[0], tuple(w_shape[2:])
    out = tuple(grad.shape[2:])
    rows = batch * math.prod(out)
    # (g, O/g, N·P)
    grads = xp.reshape(grad, (batch, groups, out_channels // groups, math.prod(out)))
    grads = xp.reshape(xp.permute_dims(grads, (1, 2, 0, 3)), (groups, out_channels // groups, rows))
    terms = []
    for offset in offsets(kernel):
        cols = xp.reshape(x[window(offset, out, stride, dilation)], (batch, groups, channels // groups, math.prod(out)))
        cols = xp.reshape(xp.permute_dims(cols, (1, 2, 0, 3)), (groups, channels // groups, rows))
        terms.append(xp.matmul(grads, xp.matrix_transpose(cols)))  # (g, O/g, N·P) @ (g, N·P, C/g)
    return xp.reshape(xp.stack(terms, axis=-1), tuple(w_shape))
