"""array_api_strict backend: the conformance referee.

It has no kernel overrides, so every op runs its generic Array API kernel; a graph that runs here
runs on any conforming library. Random numbers are drawn on the host with NumPy and copied in.
Devices ``array_api_strict:0`` (its CPU device), ``:1`` and ``:2`` (its two test devices, which
let the suite check device-mismatch errors without a GPU).
"""

from __future__ import annotations

from typing import Any, Sequence

import array_api_strict as strict
from array_api_strict._array_object import Array as StrictArray
import numpy as np

from . import _malloc, host
from ._base import Backend, DType

_DEVICES = {0: strict.Device("CPU_DEVICE"), 1: strict.Device("device1"), 2: strict.Device("device2")}


class StrictBackend(host.HostGenerator, Backend):
    name = "array_api_strict"
    xp = strict

    def __init__(self, index: int) -> None:
        super().__init__()
        self.native_device = _DEVICES[index]
        self._rng = np.random.default_rng()
        _malloc.tune()  # glibc keeps a step's freed arrays for the next one (see _malloc.py)

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        if isinstance(obj, StrictArray):
            out = obj if obj.device == self.native_device else strict.asarray(obj, device=self.native_device, copy=True)
            return out if dtype is None else strict.astype(out, self.dtype(dtype))
        if hasattr(obj, "get") and type(obj).__module__.startswith("cupy"):
            obj = obj.get()
        host = np.asarray(obj, dtype=None if dtype is None else dtype.name)
        return strict.asarray(host, device=self.native_device)

    def asarray_copy(self, obj: Any, dtype: DType) -> Any:
        if isinstance(obj, StrictArray):
            return strict.astype(strict.asarray(obj, device=self.native_device, copy=True), self.dtype(dtype), copy=False)
        if hasattr(obj, "get") and type(obj).__module__.startswith("cupy"):
            obj = obj.get()
        # strict.asarray wraps a NumPy array without copying: the host copy is the private one
        return strict.asarray(np.array(obj, dtype=dtype.name, copy=True), device=self.native_device)

    def to_host(self, array: Any) -> Any:
        on_cpu = strict.asarray(array, device=_DEVICES[0], copy=True)
        return np.from_dlpack(on_cpu)

    def owns(self, array: Any) -> bool:
        return isinstance(array, StrictArray) and array.device == self.native_device

    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        host = self._rng.random(tuple(shape)) * (high - low) + low
        return strict.asarray(host.astype(dtype.name), device=self.native_device)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        host = self._rng.standard_normal(tuple(shape)) * std + mean
        return strict.asarray(host.astype(dtype.name), device=self.native_device)


def create(index: int) -> StrictBackend:
    if index not in _DEVICES:
        raise ValueError(
            f"device 'array_api_strict:{index}': array_api_strict has devices 0, 1 and 2"
        )
    return StrictBackend(index)
