"""NumPy backend (device ``"cpu"``).

NumPy 2 implements the Array API standard in its main namespace, so ``xp`` is ``numpy`` itself:
no wrapper layer sits between the graph and the ufuncs on the hot path.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _malloc, host
from ._base import Backend, DType


class NumpyBackend(host.HostGenerator, Backend):
    name = "numpy"
    supports_out = True
    xp = np
    native_device = "cpu"

    def __init__(self) -> None:
        super().__init__()
        self._rng = np.random.default_rng()
        _malloc.tune()  # glibc keeps a step's freed arrays for the next one (see _malloc.py)
        from . import _numpy_fast, _numpy_kernels, _numpy_pool, _numpy_scatter

        self.kernels.update(_numpy_kernels.KERNELS)
        self.kernels.update(_numpy_fast.KERNELS)
        self.kernels.update(_numpy_pool.KERNELS)
        self.kernels.update(_numpy_scatter.KERNELS)

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        out = np.asarray(_host(obj), dtype=None if dtype is None else dtype.name)
        # a zero-copy import of an immutable library's array (JAX) is read-only: NumPy arrays
        # are written in place (optimizer state, gradient buffers), so such an import is copied
        return out if out.flags.writeable or out is obj else out.copy()

    def asarray_copy(self, obj: Any, dtype: DType) -> Any:
        return np.array(_host(obj), dtype=dtype.name, copy=True)  # one copy, a plain ndarray

    def to_host(self, array: Any) -> Any:
        return np.array(array, copy=True)

    def owns(self, array: Any) -> bool:
        return isinstance(array, (np.ndarray, np.generic))

    def host_view(self, array: Any) -> Any | None:
        if isinstance(array, np.ndarray) and array.flags.c_contiguous and array.flags.writeable:
            return array
        return None

    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        sample = self._rng.random(tuple(shape), dtype=np.float64 if dtype.name == "float64" else np.float32)
        if low != 0.0 or high != 1.0:
            sample = sample * (high - low) + low
        return sample.astype(dtype.name, copy=False)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        sample = self._rng.standard_normal(tuple(shape), dtype=np.float64 if dtype.name == "float64" else np.float32)
        if mean != 0.0 or std != 1.0:
            sample = sample * std + mean
        return sample.astype(dtype.name, copy=False)


    @staticmethod
    def host_rng(seed: int | None = None) -> np.random.Generator:
        """An independent host generator (test probes, data shuffling), never the graph's."""
        return np.random.default_rng(seed)


def _host(obj: Any) -> Any:
    """``obj`` as something ``np.asarray`` reads: CuPy arrays are copied to the host, other
    DLPack arrays are wrapped without a copy where possible."""
    if not isinstance(obj, (np.ndarray, np.generic, list, tuple, int, float)):
        if hasattr(obj, "get") and type(obj).__module__.startswith("cupy"):
            return obj.get()  # CuPy -> host
        if hasattr(obj, "__dlpack__"):
            try:
                return np.from_dlpack(obj)
            except (BufferError, TypeError, RuntimeError):
                return np.asarray(obj)
    return obj


def create(index: int) -> NumpyBackend:
    if index != 0:
        raise ValueError(f"device 'cpu:{index}': the NumPy backend has a single device, 'cpu'")
    return NumpyBackend()
