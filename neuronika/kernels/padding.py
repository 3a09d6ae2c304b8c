"""Generic padding kernels (Array API only) and their adjoints.

A padding of ``p`` on a spatial axis of size ``n`` gives size ``n + 2p`` (the same width on both
sides). With ``x = 0 1 2 3 4`` and ``p = 2`` the modes give::

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

``padding`` is a tuple with one width per trailing (spatial) axis of ``x``; leading axes (batch,
channels) are never padded.

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


def pad(xp: Any, x: Any, padding: Sequence[int], mode: str, value: float = 0.0) -> Any:
    """``x`` padded by ``padding[i]`` on both sides of its ``i``-th spatial (trailing) axis.

    ``x``: ``(*lead, *spatial)``; returns ``(*lead, *(s + 2p for s, p in zip(spatial, padding)))``.
    """
    return _pad(IN_PLACE, xp, x, padding, mode, value)


def pad_functional(xp: Any, x: Any, padding: Sequence[int], mode: str, value: float = 0.0) -> Any:
    """:func:`pad` without writing into an array (immutable backends)."""
    return _pad(FUNCTIONAL, xp, x, padding, mode, value)


def pad_backward(xp: Any, grad: Any, padding: Sequence[int], mode: str) -> Any:
    """The adjoint of :func:`pad`: the gradient with respect to the unpadded ``x``.

    ``grad``: the gradient of the padded array; returns an array of ``x``'s shape. Border
    gradients are folded back (reflective: onto the mirrored elements; replicative: onto the
    edge element), so ``<pad(x), g> == <x, pad_backward(g)>`` for every ``x`` and ``g``.
    """
    return _pad_backward(IN_PLACE, xp, grad, padding, mode)


def pad_backward_functional(xp: Any, grad: Any, padding: Sequence[int], mode: str) -> Any:
    """:func:`pad_backward` without writing into an array (immutable backends)."""
    return _pad_backward(FUNCTIONAL, xp, grad, padding, mode)


def _pad(write: Any, xp: Any, x: Any, padding: Sequence[int], mode: str, value: float) -> Any:
    lead = x.ndim - len(padding)
    if mode in ("zero", "constant"):
        shape = tuple(x.shape[:lead]) + tuple(s + 2 * p for s, p in zip(x.shape[lead:], padding))
        fill = float(value) if mode == "constant" else 0.0
        return write.place(xp, x, shape, (...,) + tuple(slice(p, p + s) for s, p in zip(x.shape[lead:], padding)), fill)
    for offset, width in enumerate(padding):
        if width == 0:
            continue
        axis = lead + offset
        size = x.shape[axis]
        if mode == "reflective":
            left = xp.flip(x[_along(axis, slice(1, width + 1))], axis=axis)
            right = xp.flip(x[_along(axis, slice(size - 1 - width, size - 1))], axis=axis)
        else:
            border = list(x.shape)
            border[axis] = width
            left = xp.broadcast_to(x[_along(axis, slice(0, 1))], tuple(border))
            right = xp.broadcast_to(x[_along(axis, slice(size - 1, size))], tuple(border))
        x = xp.concat([left, x, right], axis=axis)
    return x


def _pad_backward(write: Any, xp: Any, grad: Any, padding: Sequence[int], mode: str) -> Any:
    lead = grad.ndim - len(padding)
    if mode in ("zero", "constant"):
        return grad[(...,) + tuple(slice(p, s - p) for s, p in zip(grad.shape[lead:], padding))]
    for offset, width in enumerate(padding):
        if width == 0:
            continue
        axis = lead + offset
        size = grad.shape[axis] - 2 * width
        left = grad[_along(axis, slice(0, width))]
        right = grad[_along(axis, slice(width + size, size + 2 * width))]
        # a fresh array: the folds below write into it, never into the caller's gradient
        folded = xp.asarray(grad[_along(axis, slice(width, width + size))], copy=True)
        if mode == "reflective":
            head = _along(axis, slice(1, width + 1))
            tail = _along(axis, slice(size - 1 - width, size - 1))
            folded = write.add_at(xp, folded, head, xp.flip(left, axis=axis))
            folded = write.add_at(xp, folded, tail, xp.flip(right, axis=axis))
        else:
            head = _along(axis, slice(0, 1))
            tail = _along(axis, slice(size - 1, size))
            folded = write.add_at(xp, folded, head, xp.sum(left, axis=axis, keepdims=True))
            folded = write.add_at(xp, folded, tail, xp.sum(right, axis=axis, keepdims=True))
        grad = folded
    return grad
