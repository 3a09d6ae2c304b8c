"""Generic padding kernels (Array API only) and their adjoints.

A padding of ``p`` on an axis of size ``n`` gives size ``n + 2p`` (the same width on both sides;
a pair ``(before, after)`` gives ``n + before + after``). With ``x = 0 1 2 3 4`` and ``p = 2`` the
modes give::

    zero         0 0 [0 1 2 3 4] 0 0
    constant     v v [0 1 2 3 4] v v      (v = value)
    reflective   2 1 [0 1 2 3 4] 3 2      (mirror about the edge, the edge not repeated; p < n)
    replicative  0 0 [0 1 2 3 4] 4 4      (the edge repeated)

``pad_backward`` is the adjoint (the vector-Jacobian product) of ``pad``: the gradient of the
padded array restricted to the source, plus, for ``reflective`` and ``replicative``, the gradient
of every border element folded back onto the source element it copies.

Kernel signatures (the names under which a backend may register overrides):

* ``pad(xp, x, padding, mode, value) -> padded``
* ``pad_backward(xp, grad_padded, padding, mode) -> grad_x``

``padding`` is a tuple with one entry per trailing axis of ``x`` (the spatial axes of a
convolution), each a width for both sides or a ``(before, after)`` pair (``nk.pad``); leading
axes (batch, channels) are never padded. Reflective padding needs widths smaller than the axis.

Both kernels write into buffers through a writer (:mod:`neuronika.kernels.writes`): ``pad`` and
``pad_backward`` write in place, ``pad_functional`` and ``pad_backward_functional`` (what an
immutable backend gets) build new arrays; the values are the same.
"""

from __future__ import annotations

from typing import Any, Sequence

from .writes import FUNCTIONAL, IN_PLACE

PADDING_MODES = ("zero", "constant", "reflective", "replicative")


def _along(axis: int, index: slice) -> tuple[Any, ...]:
    """An index tuple selecting ``index`` on ``axis`` and everything on the other axes."""
    return (slice(None),) * axis + (index, ...)


def _pairs(padding: Sequence[Any]) -> list[tuple[int, int]]:
    """Each entry as a ``(before, after)`` pair (an int pads both sides alike)."""
    return [(int(p), int(p)) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding]


def pad(xp: Any, x: Any, padding: Sequence[Any], mode: str, value: float = 0.0) -> Any:
    """``x`` padded on its trailing axes: ``padding[i]`` (a width for both sides, or a
    ``(before, after)`` pair) on the ``i``-th of them.

    ``x``: ``(*lead, *spatial)``; returns ``(*lead, *(s + before + after for each spatial axis))``.
    """
    return _pad(IN_PLACE, xp, x, padding, mode, value)


def pad_functional(xp: Any, x: Any, padding: Sequence[Any], mode: str, value: float = 0.0) -> Any:
    """:func:`pad` without writing into an array (immutable backends)."""
    return _pad(FUNCTIONAL, xp, x, padding, mode, value)


def _pad(write: Any, xp: Any, x: Any, padding: Sequence[Any], mode: str, value: float) -> Any:
    pairs = _pairs(padding)
    lead = x.ndim - len(pairs)
    if mode in ("zero", "constant"):
        shape = tuple(x.shape[:lead]) + tuple(s + b + a for s, (b, a) in zip(x.shape[lead:], pairs))
        fill = float(value) if mode == "constant" else 0.0
        return write.place(xp, x, shape, (...,) + tuple(slice(b, b + s) for s, (b, _) in zip(x.shape[lead:], pairs)), fill)
    for offset, (before, after) in enumerate(pairs):
        if before == after == 0:
            continue
        axis = lead + offset
        size = x.shape[axis]
        if mode == "reflective":
            left = xp.flip(x[_along(axis, slice(1, before + 1))], axis=axis)
            right = xp.flip(x[_along(axis, slice(size - 1 - after, size - 1))], axis=axis)
        else:
            left = xp.broadcast_to(x[_along(axis, slice(0, 1))], _with(x.shape, axis, before))
            right = xp.broadcast_to(x[_along(axis, slice(size - 1, size))], _with(x.shape, axis, after))
        x = xp.concat([left, x, right], axis=axis)
    return x


def _with(shape: Sequence[int], axis: int, size: int) -> tuple[int, ...]:
    """``shape`` with ``size`` on ``axis``."""
    return tuple(size if i == axis else d for i, d in enumerate(shape))


def pad_backward(xp: Any, grad: Any, padding: Sequence[Any], mode: str) -> Any:
    """The adjoint of :func:`pad`: the gradient with respect to the unpadded ``x``.

    ``grad``: the gradient of the padded array; returns an array of ``x``'s shape. Border
    gradients are folded back (reflective: onto the mirrored elements; replicative: onto the
    edge element), so ``<pad(x), g> == <x, pad_backward(g)>`` for every ``x`` and ``g``.
    """
    return _pad_backward(IN_PLACE, xp, grad, padding, mode)


def pad_backward_functional(xp: Any, grad: Any, padding: Sequence[Any], mode: str) -> Any:
    """:func:`pad_backward` without writing into an array (immutable backends)."""
    return _pad_backward(FUNCTIONAL, xp, grad, padding, mode)


def _pad_backward(write: Any, xp: Any, grad: Any, padding: Sequence[Any], mode: str) -> Any:
    pairs = _pairs(padding)
    lead = grad.ndim - len(pairs)
    if mode in ("zero", "constant"):
        return grad[(...,) + tuple(slice(b, s - a) for s, (b, a) in zip(grad.shape[lead:], pairs))]
    for offset, (before, after) in enumerate(pairs):
        if before == after == 0:
            continue
        axis = lead + offset
        size = grad.shape[axis] - before - after
        left = grad[_along(axis, slice(0, before))]
        right = grad[_along(axis, slice(before + size, before + size + after))]
        # a fresh array: the folds below write into it, never into the caller's gradient
        folded = xp.asarray(grad[_along(axis, slice(before, before + size))], copy=True)
        if mode == "reflective":
            head = _along(axis, slice(1, before + 1))
            tail = _along(axis, slice(size - 1 - after, size - 1))
            folded = write.add_at(xp, folded, head, xp.flip(left, axis=axis))
            folded = write.add_at(xp, folded, tail, xp.flip(right, axis=axis))
        else:
            head = _along(axis, slice(0, 1))
            tail = _along(axis, slice(size - 1, size))
            folded = write.add_at(xp, folded, head, xp.sum(left, axis=axis, keepdims=True))
            folded = write.add_at(xp, folded, tail, xp.sum(right, axis=axis, keepdims=True))
        grad = folded
    return grad
