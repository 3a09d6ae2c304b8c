"""Max-pooling kernel overrides of the NumPy backend (the generic kernels are in
neuronika/kernels/pooling.py; these return bit for bit what they return).

The generic forward folds the ``prod(kernel)`` window offsets with ``where`` (the running
maximum and the winning offset, NaN winning), and its backward adds ``where(winners == offset,
grad, 0)`` per offset: ``numpy.where`` costs 8-12 times a plain ufunc here, and the W2L
benchmark step spent 28% of its time in those two kernels (143 and 126 ms a step on its three
pools, one core, a loaded machine). The same folds are written here without ``where``:

* a select ``where(m, a, b)`` of two float arrays is integer arithmetic on their bit patterns
  (viewed as same-width integers, which wrap): ``b + (a - b)·m`` is ``a``'s pattern where
  ``m`` holds and ``b``'s elsewhere, exactly, NaN payloads and signed zeros included;
* the winning offset likewise: ``winners + (index - winners)·m``;
* the NaN rule (a NaN beats a number, the first NaN stays) costs two ``isnan`` per offset only
  when the input holds a NaN (one ``isnan(x).any()`` per call);
* the backward's ``where(winners == index, grad, 0)`` is ``_numpy_fast._where_zero``.

Two shorter paths, still bit for bit the generic kernels:

* an input without NaN and without -0.0 (two reductions tell) folds by ``maximum``: equal
  numbers then have equal bit patterns, so the running maximum is the first maximum's value, and
  the winner is the last offset that beat it (int8 winners while the offsets fit: only this
  backward reads them). W2L's first pool: 2x faster;
* windows that tile the input (stride = kernel, no dilation) leave every input element in one
  window: the backward writes the masked gradient straight into its slots (``+ 0.0`` first, as
  the generic accumulation onto zeros turns -0.0 into +0.0), with no zero fill and no adds.

(Stacking the windows and taking ``argmax`` was tried: slower than the generic kernel.)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..kernels.pooling import PoolPlan, _buffer, _crop
from ..kernels.writes import IN_PLACE
from ._numpy_fast import _SAME_WIDTH, SMALL, _where_zero


def _plain(x: Any) -> tuple[bool, bool]:
    """``(holds a NaN, holds a -0.0)``: two reductions, no temporary array."""
    if x.size == 0:
        return False, False
    bits = _SAME_WIDTH[x.dtype.itemsize]
    return bool(np.isnan(x.max())), bool(x.view(bits).min() == np.iinfo(bits).min)  # -0.0: sign bit only


def _fold_by_maximum(buffer: Any, plan: PoolPlan, offsets: list[tuple[int, ...]]) -> tuple[Any, Any]:
    """The forward on an input without NaN and without -0.0: the running maximum is ``maximum``
    (equal numbers then have equal bit patterns, so it is exactly the first maximum's value), and
    the winner is the last offset that beat the running maximum (``maximum`` of ``index · beat``,
    in int8 while the offsets fit, and returned so: the winners go only to this backend's
    backward)."""
    best = np.array(buffer[(...,) + plan.window(offsets[0])], copy=True)
    small = np.int8 if len(offsets) <= 127 else np.int32
    winners = np.zeros(best.shape, dtype=small)
    for index, offset in enumerate(offsets[1:], 1):
        window = buffer[(...,) + plan.window(offset)]
        beat = np.greater(window, best).view(np.int8)
        np.maximum(best, window, out=best)
        np.maximum(winners, np.multiply(beat, small(index), dtype=small), out=winners)
    return best, winners  # int8 here: a quarter of the memory the backward reads per offset


def max_pool_forward(xp: Any, x: Any, plan: PoolPlan) -> tuple[Any, Any]:
    buffer = _buffer(IN_PLACE, xp, x, plan, -np.inf)
    offsets = plan.offsets()
    with_nan, with_negative_zero = _plain(x)
    if len(offsets) > 1 and not with_nan and not with_negative_zero:
        return _fold_by_maximum(buffer, plan, offsets)
    first = buffer[(...,) + plan.window(offsets[0])]
    best = np.array(first, copy=True)
    winners = np.zeros(best.shape, dtype=np.int32)
    if len(offsets) == 1:
        return best, winners
    bits = _SAME_WIDTH[best.dtype.itemsize]
    best_bits = best.view(bits)
    for index, offset in enumerate(offsets[1:], 1):
        window = buffer[(...,) + plan.window(offset)]
        better = window > best
        if with_nan:
            better |= np.isnan(window) & ~np.isnan(best)
        mask = better.view(np.int8)
        step = np.subtract(window.view(bits), best_bits)  # wraps: exact modulo 2^width
        step *= mask
        best_bits += step
        moved = np.subtract(np.int32(index), winners)
        moved *= mask
        winners += moved
    return best, winners


def _tiles(plan: PoolPlan) -> bool:
    """Whether the windows tile the buffer: each buffer element lies in exactly one window
    (stride = kernel, no dilation, ``out · kernel`` = the buffer's size on every axis)."""
    return all(
        s == k and (d == 1 or k == 1) and o * k == b
        for k, s, d, o, b in zip(plan.kernel, plan.stride, plan.dilation, plan.out, plan.buffer)
    )


def max_pool_backward(xp: Any, grad: Any, winners: Any, plan: PoolPlan, x_shape: tuple[int, ...]) -> Any:
    lead = tuple(x_shape[: len(x_shape) - len(plan.buffer)])
    if _tiles(plan) and grad.size >= SMALL:
        # every buffer element is written once: no zero fill and no accumulation, the masked
        # gradient goes straight into its window's slots (2x faster on W2L's first pool)
        grad_buffer = np.empty(lead + plan.buffer, dtype=grad.dtype)
        bits = _SAME_WIDTH[grad.dtype.itemsize]
        # + 0.0 as the generic kernel's accumulation onto zeros does it: -0.0 becomes +0.0
        pattern = np.add(grad, 0.0, dtype=grad.dtype).view(bits)
        for index, offset in enumerate(plan.offsets()):
            slot = grad_buffer[(...,) + plan.window(offset)].view(bits)
            np.multiply(pattern, np.equal(winners, index).view(np.int8), out=slot)
        return _crop(grad_buffer, plan, x_shape)
    grad_buffer = np.zeros(lead + plan.buffer, dtype=grad.dtype)
    for index, offset in enumerate(plan.offsets()):
        key = (...,) + plan.window(offset)
        grad_buffer[key] += _where_zero(winners == index, grad)
    return _crop(grad_buffer, plan, x_shape)


KERNELS: dict[str, Callable[..., Any]] = {"max_pool_forward": max_pool_forward, "max_pool_backward": max_pool_backward}
