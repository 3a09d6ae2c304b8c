"""Winograd F(2x2, 3x3) convolution (NumPy): 3x3 kernels, stride 1, no dilation, one group.

Every 2x2 block of outputs is computed from a 4x4 tile ``d`` of the input (tiles overlap by two)
with 16 multiplications per input/output channel pair instead of 36 (Lavin & Gray, 2015)::

    y_tile = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A          U = G w Gᵀ,  V = Bᵀ d B   (4x4 each)

    Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G  = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]
    Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]

The sum over input channels happens inside the ``⊙``: for each of the 16 tile positions ``k``,
``M[k] = U[k] @ V[k]`` with ``U[k] (O, C)`` and ``V[k] (C, T)`` (``T = N ·`` tiles), which is
**one** batched GEMM over the 16 positions. The transforms are sums and differences of strided
slices of whole arrays (the matrices hold only 0, ±1 and ±½), applied along one axis at a time.

* forward: as above; an odd output size is padded to whole tiles and cropped.
* input gradient: a full correlation of the output gradient with the flipped, channel-transposed
  kernel, i.e. the forward on the gradient padded by 2 with ``w'[c, o] = w[o, c, ::-1, ::-1]``.
* weight gradient: the adjoint of the forward: ``∂L/∂U[k] = Ĝ[k] @ V[k]ᵀ`` with ``Ĝ = A g Aᵀ``
  per 2x2 gradient tile ``g``, then ``∂L/∂w = Gᵀ (∂L/∂U) G``. ``V`` is the forward's input
  transform, which the NumPy kernels keep for it (``_numpy_kernels.py``).

Float32 error: about 2e-7 of the largest |output| (measured against float64; see
``tests/test_winograd.py``): the transforms only add, subtract and halve.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(height: int, width: int) -> tuple[int, int]:
    """Tiles per axis for an output of ``height x width``."""
    return -(-height // 2), -(-width // 2)


def _batch_last(x: Any, size: tuple[int, int], pad: int) -> Any:
    """``x (N, C, H, W)`` -> zeros ``(C, *size, N)`` holding ``x`` at ``[pad:pad+H, pad:pad+W]``.

    The batch goes last so that every slice the transforms take has contiguous runs of ``N``
    elements (with ``W`` last, the runs would be ``tiles`` long, and NumPy's short inner loops
    made the transforms 3x slower)."""
    batch, channels, height, width = x.shape
    out = np.zeros((channels,) + size + (batch,), dtype=x.dtype)
    out[:, pad : pad + height, pad : pad + width] = x.transpose(1, 2, 3, 0)
    return out


def input_transform(x: Any, pad: int = 0) -> Any:
    """``V (16, C, th·tw·N)`` of the input ``x (N, C, H, W)`` zero-padded by ``pad`` on each side
    (the output is ``(H + 2·pad - 2) x (W + 2·pad - 2)``, in ``th x tw`` tiles)."""
    batch, channels = x.shape[0], x.shape[1]
    th, tw = tiles(x.shape[2] + 2 * pad - 2, x.shape[3] + 2 * pad - 2)
    d = _batch_last(x, (2 * th + 2, 2 * tw + 2), pad)  # (C, Hp, Wp, N)
    r = [d[:, i : i + 2 * th : 2] for i in range(4)]  # row i of every tile: (C, th, Wp, N)
    rows = (r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3])  # Bᵀ d
    v = np.empty((16, channels, th, tw, batch), dtype=x.dtype)
    for a, h in enumerate(rows):
        c = [h[:, :, j : j + 2 * tw : 2] for j in range(4)]
        np.subtract(c[0], c[2], out=v[4 * a])
        np.add(c[1], c[2], out=v[4 * a + 1])
        np.subtract(c[2], c[1], out=v[4 * a + 2])
        np.subtract(c[1], c[3], out=v[4 * a + 3])  # (Bᵀ d) B
    return v.reshape(16, channels, -1)


def weight_transform(w: Any) -> Any:
    """``U (16, O, C)`` of ``w (O, C, 3, 3)``: ``G w Gᵀ`` per channel pair."""
    g = _G.astype(w.dtype)
    u = np.matmul(np.matmul(g, w), g.T)  # (O, C, 4, 4)
    return np.ascontiguousarray(u.reshape(w.shape[0], w.shape[1], 16).transpose(2, 0, 1))


def _output_transform(m: Any, batch: int, th: int, tw: int, height: int, width: int) -> Any:
    """``M (16, O, th·tw·N)`` -> ``y (N, O, height, width)``: ``Aᵀ M A`` per tile, cropped."""
    out_channels = m.shape[1]
    m = m.reshape(16, out_channels, th, tw, batch)
    cols = []
    for a in range(4):  # M A: per row a of the tile, its two output columns
        middle = m[4 * a + 1] + m[4 * a + 2]
        right = m[4 * a + 1] - m[4 * a + 2]
        right -= m[4 * a + 3]
        middle += m[4 * a]
        cols.append((middle, right))
    y = np.empty((out_channels, 2 * th, 2 * tw, batch), dtype=m.dtype)
    for b in range(2):
        top = y[:, 0::2, b::2]
        np.add(cols[1][b], cols[2][b], out=top)
        top += cols[0][b]
        bottom = y[:, 1::2, b::2]
        np.subtract(cols[1][b], cols[2][b], out=bottom)
        bottom -= cols[3][b]
    return _batch_first(y[:, :height, :width])


def _batch_first(y: Any) -> Any:
    """``(O, H, W, N)`` -> contiguous ``(N, O, H, W)``: a transposing copy, in slabs of 8 output
    channels so that the strided reads stay in cache."""
    out = np.empty((y.shape[3],) + y.shape[:3], dtype=y.dtype)
    view = out.transpose(1, 2, 3, 0)
    for start in range(0, y.shape[0], 8):
        view[start : start + 8] = y[start : start + 8]
    return out


def conv_forward(x: Any, w: Any, v: Any = None, pad: int = 0) -> Any:
    """``y = x ⋆ w`` for ``x (N, C, H, W)`` zero-padded by ``pad``, ``w (O, C, 3, 3)`` -> ``(N, O,
    H + 2·pad - 2, W + 2·pad - 2)`` (``v``: ``input_transform(x, pad)`` when the caller has it)."""
    height, width = x.shape[2] + 2 * pad - 2, x.shape[3] + 2 * pad - 2
    th, tw = tiles(height, width)
    if v is None:
        v = input_transform(x, pad)
    m = np.matmul(weight_transform(w), v)  # (16, O, T): one GEMM per tile position
    return _output_transform(m, x.shape[0], th, tw, height, width)


def conv_backward_input(grad: Any, w: Any) -> Any:
    """``∂L/∂x (N, C, H, W)`` from ``grad (N, O, H - 2, W - 2)``: the forward of the gradient
    padded by 2 with the flipped, channel-transposed kernel."""
    flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    return conv_forward(grad, flipped, pad=2)


def conv_backward_weight(grad: Any, x: Any, v: Any = None) -> Any:
    """``∂L/∂w (O, C, 3, 3)`` from ``grad (N, O, H - 2, W - 2)`` and ``x (N, C, H, W)`` (``v``: the
    forward's ``input_transform(x)`` when the caller kept it)."""
    batch, out_channels, height, width = grad.shape
    th, tw = tiles(height, width)
    if v is None:
        v = input_transform(x)
    g = _batch_last(grad, (2 * th, 2 * tw), 0)  # (O, 2th, 2tw, N)
    rows = (g[:, 0::2], g[:, 1::2])  # the two rows of every 2x2 gradient tile
    expanded = (rows[0], rows[0] + rows[1], rows[0] - rows[1], np.negative(rows[1]))  # A g
    g_hat = np.empty((16, out_channels, th, tw, batch), dtype=grad.dtype)
    for a, h in enumerate(expanded):
        c0, c1 = h[:, :, 0::2], h[:, :, 1::2]
        g_hat[4 * a] = c0
        np.add(c0, c1, out=g_hat[4 * a + 1])
        np.subtract(c0, c1, out=g_hat[4 * a + 2])
        np.negative(c1, out=g_hat[4 * a + 3])  # (A g) Aᵀ
    d_u = np.matmul(g_hat.reshape(16, out_channels, -1), v.transpose(0, 2, 1))  # (16, O, C)
    d_u = d_u.transpose(1, 2, 0).reshape(out_channels, -1, 4, 4)
    gm = _G.astype(grad.dtype)
    return np.ascontiguousarray(np.matmul(np.matmul(gm.T, d_u), gm))  # Gᵀ (∂L/∂U) G


def work(name: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[float, float]:
    """``(product flops, moved elements)`` of the Winograd kernel ``name`` on a padded input of
    shape ``x_shape`` and a kernel of shape ``w_shape``: the 16 GEMMs ``2·16·O·C·T`` and the
    elements the transforms write (the padded batch-last copy, the row pass, the 16 tile
    positions of the transformed operand and of the product, the output), the inputs of the
    dispatch rule (``_numpy_kernels.path``)."""
    batch, channels, out_channels = x_shape[0], x_shape[1], w_shape[0]
    height, width = x_shape[2] - 2, x_shape[3] - 2
    if name == "conv_backward_input":  # the forward of the gradient padded by 2
        channels, out_channels, height, width = out_channels, channels, x_shape[2], x_shape[3]
    th, tw = tiles(height, width)
    t = batch * th * tw
    product = 32.0 * out_channels * channels * t
    if name == "conv_backward_weight":  # Ĝ from the gradient; the input's tiles are kept
        return product, 4.0 * t * out_channels + 16.0 * t * out_channels + 16.0 * channels * out_channels
    padded = batch * channels * (2 * th + 2) * (2 * tw + 2)
    return product, 3.0 * padded + 16.0 * t * channels + 16.0 * t * out_channels + 12.0 * t * out_channels
