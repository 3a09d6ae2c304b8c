"""``cupy.random`` of the stand-in: ``RandomState`` (cuRAND in CuPy; NumPy's PCG64 here).

A generator belongs to the GPU that was current when it was made; sampling happens on the current
device and needs it to be that GPU (CuPy would launch the cuRAND generator of another device).
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from .. import _api, _core, _state


class RandomState:
    def __init__(self, seed: Any = None, method: Any = None) -> None:
        _state.require_library("curand")
        self._device_id = _state.current()
        self.seed(seed)

    def seed(self, seed: Any = None) -> None:
        self._generator = _np.random.default_rng(None if seed is None else int(seed))

    def _sample(self, draw: Any, size: Any, dtype: Any) -> Any:
        if _state.current() != self._device_id:
            raise ValueError(
                f"the cuRAND generator of device {self._device_id} was used with device {_state.current()} current"
            )
        dtype = _np.dtype(float if dtype is None else dtype)
        if dtype.char not in "fd":
            raise TypeError(f"cupy.random only supports float32 and float64 (got {dtype})")
        return _core.ndarray._make(_np.asarray(draw(size, dtype)), self._device_id)

    def random_sample(self, size: Any = None, dtype: Any = float) -> Any:
        return self._sample(lambda s, d: self._generator.random(s, dtype=d), size, dtype)

    def standard_normal(self, size: Any = None, dtype: Any = float) -> Any:
        return self._sample(lambda s, d: self._generator.standard_normal(s, dtype=d), size, dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
        return self._sample(lambda s, d: self._generator.uniform(low, high, s).astype(d), size, dtype)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
        return self._sample(lambda s, d: self._generator.normal(loc, scale, s).astype(d), size, dtype)

    def permutation(self, a: Any) -> Any:
        if _state.current() != self._device_id:
            raise ValueError(f"the cuRAND generator of device {self._device_id} was used with device {_state.current()} current")
        if not isinstance(a, int):
            raise TypeError("the stand-in models permutation(n) with an int only")
        return _core.ndarray._make(self._generator.permutation(a), self._device_id)


for _name in ("__init__", "seed", "random_sample", "standard_normal", "uniform", "normal", "permutation"):
    _original = getattr(RandomState, _name)
    _validated = _api._named(f"cupy.random.RandomState.{_name}", lambda *a, **k: None,
                             _api.signature(f"cupy.random.RandomState.{_name}")[1])

    def _checked(self: Any, *args: Any, _o: Any = _original, _v: Any = _validated, **kwargs: Any) -> Any:
        _v(*args, **kwargs)
        return _o(self, *args, **kwargs)

    _checked.__name__ = _name
    setattr(RandomState, _name, _checked)

__all__ = ["RandomState"]
