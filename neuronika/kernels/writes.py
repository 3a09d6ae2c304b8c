"""Writing into arrays, in place or functionally: the two forms of the generic kernels.

A generic kernel that builds a result by writing into a buffer (padding, pooling's backward
passes) takes one of two *writers*:

* :data:`IN_PLACE` writes with ``a[key] = v``, as NumPy, CuPy, PyTorch and array_api_strict
  allow (one buffer, no temporaries);
* :data:`FUNCTIONAL` never writes into an array: it builds the result from ``concat``, ``stack``
  and ``reshape`` (Array API only), for libraries whose arrays are immutable (JAX). A backend
  declares which it needs with ``Backend.mutable_arrays``; ``Backend.kernel`` then hands out the
  functional form (``neuronika.kernels.FUNCTIONAL``).

``key`` is a tuple of basic indices: slices (any step), integers and one ``...`` (the windows of
padding and pooling, the basic part of ``x[key]``); both writers give identical values.
"""

from __future__ import annotations

from typing import Any, Sequence


def _expand(key: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    """``key`` with its ``...`` replaced by full slices, one entry per axis of the target."""
    key = tuple(key)
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (ndim - len(key) + 1) + key[at + 1:]
    return key + (slice(None),) * (ndim - len(key))


def embed(xp: Any, value: Any, shape: Sequence[int], key: tuple[Any, ...], fill: float = 0.0) -> Any:
    """A new array of ``shape`` equal to ``fill`` everywhere but at ``key``, where it is ``value``
    (``out = full(shape, fill); out[key] = value`` without a write): per axis, a step ``t > 1``
    interleaves ``t - 1`` fill slabs after each element, and fill slabs are concatenated before
    and after."""
    out = value
    for axis, index in enumerate(_expand(key, len(shape))):
        if isinstance(index, int):  # one position: the value gains that axis, of size 1
            out = xp.expand_dims(out, axis=axis)
            index = slice(index % shape[axis], index % shape[axis] + 1)
        start, stop, step = index.indices(shape[axis])
        count = out.shape[axis]
        if step < 0:  # the same positions in increasing order, the value flipped
            out = xp.flip(out, axis=axis)
            start, step = start + (count - 1) * step, -step
        if step > 1 and count > 1:
            slab = xp.full(tuple(out.shape), fill, dtype=out.dtype, device=out.device)
            spread = xp.stack([out] + [slab] * (step - 1), axis=axis + 1)
            dims = tuple(out.shape[:axis]) + (count * step,) + tuple(out.shape[axis + 1:])
            out = xp.reshape(spread, dims)[(slice(None),) * axis + (slice(0, (count - 1) * step + 1), ...)]
        after = shape[axis] - start - out.shape[axis]
        parts = []
        for width in (start, None, after):
            if width is None:
                parts.append(out)
            elif width > 0:
                dims = tuple(out.shape[:axis]) + (width,) + tuple(out.shape[axis + 1:])
                parts.append(xp.full(dims, fill, dtype=out.dtype, device=out.device))
        out = xp.concat(parts, axis=axis) if len(parts) > 1 else out
    return out


class InPlace:
    """Writes into the buffer (mutable arrays)."""

    @staticmethod
    def place(xp: Any, value: Any, shape: Sequence[int], key: tuple[Any, ...], fill: float = 0.0) -> Any:
        """``full(shape, fill)`` with ``value`` at ``key``."""
        out = xp.full(tuple(shape), fill, dtype=value.dtype, device=value.device)
        out[key] = value
        return out

    @staticmethod
    def add_at(xp: Any, target: Any, key: tuple[Any, ...], value: Any) -> Any:
        """``target`` with ``value`` added at ``key`` (``target`` itself, written)."""
        target[key] = target[key] + value
        return target


class Functional:
    """Builds new arrays (immutable arrays)."""

    place = staticmethod(embed)

    @staticmethod
    def add_at(xp: Any, target: Any, key: tuple[Any, ...], value: Any) -> Any:
        return target + embed(xp, value, tuple(target.shape), key)


IN_PLACE = InPlace()
FUNCTIONAL = Functional()
