"""Transforms a convolution kernel computed and a later kernel of the same step needs again,
kept between the two calls (NumPy backend).

The kernel signatures carry no state, so the entry is keyed by the array it was computed from
(its ``id``, checked through a weak reference) and a tag: the frequency-domain forward keeps the
input's spectrum for the weight gradient, the frequency-domain input gradient keeps the output
gradient's spectrum for the weight gradient (which conjugates it), the Winograd forward keeps
its input tiles for the weight gradient. An entry is removed by the kernel that takes it, and
when its array is freed (the next forward of a replayed graph replaces it), so nothing outlives
the array it was computed from; in between it costs its memory.
"""

from __future__ import annotations

import weakref
from typing import Any, Hashable

#: ``(id(array), tag) -> (weak reference to array, key, value)``
KEPT: dict[tuple[int, str], tuple[Any, Hashable, Any]] = {}


def keep(array: Any, tag: str, key: Hashable, value: Any) -> None:
    """Keep ``value``, computed from ``array`` with the parameters ``key``, under ``tag``."""
    entry = (id(array), tag)

    def forget(_: Any) -> None:
        KEPT.pop(entry, None)

    KEPT[entry] = (weakref.ref(array, forget), key, value)


def take(array: Any, tag: str, key: Hashable) -> Any:
    """The value kept for ``array`` under ``tag`` with the same ``key`` (removed), or None."""
    entry = KEPT.get((id(array), tag))
    if entry is None or entry[0]() is not array or entry[1] != key:
        return None
    del KEPT[(id(array), tag)]
    return entry[2]
