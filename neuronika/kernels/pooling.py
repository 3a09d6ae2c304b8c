"""Generic pooling kernels (Array API only): windows read as strided slices, one slice per
kernel offset, so the work is a short loop over the ``prod(kernel)`` offsets of a window with
whole-array operations inside (no loop over batch entries or output positions).

A *plan* fixes, per spatial axis, the kernel size ``k``, stride ``s``, dilation ``d``, the
padding ``p`` on the left and the output size ``o``; the input is laid into a buffer of the
plan's ``buffer`` size (``p`` fill values on the left, the input, fill values on the right) so
that the window at output position ``i`` reads buffer positions ``i·s + j·d`` for ``j < k``.

Kernel signatures (the names under which a backend may register overrides):

* ``max_pool_forward(xp, x, plan) -> (values, winners)``: ``winners`` holds, per output element,
  the offset (``0 <= offset < prod(k)``, row-major over the window) of the first maximum; a NaN
  in a window wins (PyTorch propagates NaN). Its integer dtype is the kernel's choice (int32
  here; the NumPy override uses int8 where the offsets fit): only the same backend's backward
  reads it.
* ``max_pool_backward(xp, grad, winners, plan, x_shape) -> grad_x``
* ``window_sum(xp, x, plan) -> sums`` (zero fill) and ``window_sum_backward(xp, grad, plan,
  x_shape) -> grad_x``: average pooling divides by its divisor around these.

Each has a ``*_functional`` twin that writes into no array (:mod:`neuronika.kernels.writes`),
which ``Backend.kernel`` hands to immutable backends.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from .writes import FUNCTIONAL, IN_PLACE


@dataclass(frozen=True)
class PoolPlan:
    """Window geometry, one entry per spatial (trailing) axis."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    out: tuple[int, ...]
    buffer: tuple[int, ...]

    def offsets(self) -> list[tuple[int, ...]]:
        """The kernel offsets of a window in row-major order."""
        return list(itertools.product(*(range(k) for k in self.kernel)))

    def window(self, offset: tuple[int, ...]) -> tuple[slice, ...]:
        """The buffer slices read by every window at ``offset`` (one per spatial axis)."""
        return tuple(
            slice(j * d, j * d + (o - 1) * s + 1, s)
            for j, d, o, s in zip(offset, self.dilation, self.out, self.stride)
        )


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size for one axis (a window must start inside the input or the
    left padding: with ``ceil_mode`` a last partial window is kept only then)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def make_plan(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    ceil_mode: bool,
) -> PoolPlan:
    out = tuple(output_size(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding, dilation))
    buffer = tuple(
        max(size + 2 * p, (o - 1) * s + d * (k - 1) + 1)
        for size, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out)
    )
    return PoolPlan(kernel, stride, dilation, padding, out, buffer)


def _buffer(write: Any, xp: Any, x: Any, plan: PoolPlan, fill: float) -> Any:
    """``x`` laid into the plan's buffer, with ``fill`` around it."""
    lead = tuple(x.shape[: x.ndim - len(plan.buffer)])
    spatial = tuple(x.shape[x.ndim - len(plan.buffer):])
    if all(p == 0 for p in plan.padding) and spatial == plan.buffer:
        return x
    key = (...,) + tuple(slice(p, p + n) for p, n in zip(plan.padding, spatial))
    return write.place(xp, x, lead + plan.buffer, key, fill)


def _crop(grad_buffer: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    spatial = x_shape[len(x_shape) - len(plan.buffer):]
    return grad_buffer[(...,) + tuple(slice(p, p + n) for p, n in zip(plan.padding, spatial))]


def max_pool_forward(xp: Any, x: Any, plan: PoolPlan) -> tuple[Any, Any]:
    return _max_pool_forward(IN_PLACE, xp, x, plan)


def max_pool_forward_functional(xp: Any, x: Any, plan: PoolPlan) -> tuple[Any, Any]:
    return _max_pool_forward(FUNCTIONAL, xp, x, plan)


def _max_pool_forward(write: Any, xp: Any, x: Any, plan: PoolPlan) -> tuple[Any, Any]:
    buffer = _buffer(write, xp, x, plan, -math.inf)
    best = winners = None
    for index, offset in enumerate(plan.offsets()):
        window = buffer[(...,) + plan.window(offset)]
        if best is None:
            best = window
            winners = xp.zeros(window.shape, dtype=xp.int32, device=x.device)
            continue
        better = (window > best) | (xp.isnan(window) & ~xp.isnan(best))
        best = xp.where(better, window, best)
        winners = xp.where(better, xp.asarray(index, dtype=xp.int32, device=x.device), winners)
    return best, winners


def max_pool_backward(xp: Any, grad: Any, winners: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    return _max_pool_backward(IN_PLACE, xp, grad, winners, plan, x_shape)


def max_pool_backward_functional(xp: Any, grad: Any, winners: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    return _max_pool_backward(FUNCTIONAL, xp, grad, winners, plan, x_shape)


def _max_pool_backward(write: Any, xp: Any, grad: Any, winners: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    lead = tuple(x_shape[: len(x_shape) - len(plan.buffer)])
    grad_buffer = xp.zeros(lead + plan.buffer, dtype=grad.dtype, device=grad.device)
    zero = xp.zeros((), dtype=grad.dtype, device=grad.device)
    for index, offset in enumerate(plan.offsets()):
        grad_buffer = write.add_at(xp, grad_buffer, (...,) + plan.window(offset), xp.where(winners == index, grad, zero))
    return _crop(grad_buffer, plan, x_shape)


def window_sum(xp: Any, x: Any, plan: PoolPlan) -> Any:
    return _window_sum(IN_PLACE, xp, x, plan)


def window_sum_functional(xp: Any, x: Any, plan: PoolPlan) -> Any:
    return _window_sum(FUNCTIONAL, xp, x, plan)


def _window_sum(write: Any, xp: Any, x: Any, plan: PoolPlan) -> Any:
    buffer = _buffer(write, xp, x, plan, 0.0)
    total = None
    for offset in plan.offsets():
        window = buffer[(...,) + plan.window(offset)]
        total = window if total is None else total + window
    return total


def window_sum_backward(xp: Any, grad: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    return _window_sum_backward(IN_PLACE, xp, grad, plan, x_shape)


def window_sum_backward_functional(xp: Any, grad: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    return _window_sum_backward(FUNCTIONAL, xp, grad, plan, x_shape)


def _window_sum_backward(write: Any, xp: Any, grad: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    lead = tuple(x_shape[: len(x_shape) - len(plan.buffer)])
    grad_buffer = xp.zeros(lead + plan.buffer, dtype=grad.dtype, device=grad.device)
    for offset in plan.offsets():
        grad_buffer = write.add_at(xp, grad_buffer, (...,) + plan.window(offset), grad)
    return _crop(grad_buffer, plan, x_shape)


def average_divisor(spatial: tuple[int, ...], plan: PoolPlan, count_include_pad: bool) -> list[list[int]]:
    """Per axis, the number of elements each window averages (PyTorch's rule): the window
    clipped to the padded input when padding counts, to the input itself when it does not.
    The divisor of a window is the product of its axes' counts."""
    counts = []
    for size, k, s, p, o in zip(spatial, plan.kernel, plan.stride, plan.padding, plan.out):
        axis = []
        for i in range(o):
            start = i * s - p
            end = min(start + k, size + p)
            axis.append(end - start if count_include_pad else min(end, size) - max(start, 0))
        counts.append(axis)
    return counts


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: ``[floor(i·size/out), ceil((i+1)·size/out))``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]
