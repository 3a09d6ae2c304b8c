"""CuPy backend (devices ``"cuda"`` and ``"cuda:N"``).

``xp`` is array-api-compat's CuPy namespace. Every kernel runs inside ``cupy.cuda.Device(N)``
(see :meth:`CupyBackend.scope`), so arrays land on the GPU the device string names. CuPy 14 has no
cuDNN bindings: convolution is neuronika's own (im2col + one cuBLAS GEMM, registered below).
"""

from __future__ import annotations

from typing import Any, ContextManager, Sequence

from ._base import Backend, BackendUnavailableError, DType

_HINT = (
    'install CuPy for your CUDA version with pip install "neuronika[cuda12]" or '
    '"neuronika[cuda13]", on a machine with an NVIDIA GPU and driver'
)

try:
    import cupy
    import numpy as np
    from array_api_compat import cupy as cupy_namespace
except ImportError as error:  # pragma: no cover - exercised only where CuPy is missing
    cupy = None
    _IMPORT_ERROR: Exception | None = error
else:
    _IMPORT_ERROR = None


def device_count() -> int:
    """Number of CUDA devices CuPy sees (0 without CuPy, driver or GPU)."""
    if cupy is None:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


class CupyBackend(Backend):
    name = "cupy"

    def __init__(self, index: int) -> None:
        self.xp = cupy_namespace
        super().__init__()
        self.index = index
        self.native_device = cupy.cuda.Device(index)
        with self.native_device:
            # RandomState (cuRAND) is the generator whose sampling methods all take a dtype
            self._rng = cupy.random.RandomState()
        from . import _cupy_kernels

        self.kernels.update(_cupy_kernels.KERNELS)

    def scope(self) -> ContextManager[Any]:
        return self.native_device  # type: ignore[no-any-return]

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        with self.native_device:
            if isinstance(obj, cupy.ndarray):
                out = obj if obj.device.id == self.index else cupy.array(obj, copy=True)
            elif isinstance(obj, (np.ndarray, np.generic, list, tuple, int, float)):
                out = cupy.asarray(obj)
            elif hasattr(obj, "__dlpack__") and "numpy" not in type(obj).__module__:
                try:
                    out = cupy.from_dlpack(obj)
                except Exception:
                    out = cupy.asarray(np.from_dlpack(obj))
            else:
                out = cupy.asarray(np.asarray(obj))
            return out if dtype is None else out.astype(dtype.name, copy=False)

    def to_host(self, array: Any) -> Any:
        return array.get()

    def owns(self, array: Any) -> bool:
        return isinstance(array, cupy.ndarray) and array.device.id == self.index

    def communicator(self, world: Any) -> Any:
        from ._nccl import NcclCommunicator

        return NcclCommunicator(world, self)

    def seed(self, seed: int) -> None:
        with self.native_device:
            self._rng = cupy.random.RandomState(seed)

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        with self.native_device:
            sample = self._rng.random_sample(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if low != 0.0 or high != 1.0:
                sample = sample * (high - low) + low
            return sample.astype(dtype.name, copy=False)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        with self.native_device:
            sample = self._rng.standard_normal(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if mean != 0.0 or std != 1.0:
                sample = sample * std + mean
            return sample.astype(dtype.name, copy=False)

    def permutation(self, n: int) -> list[int]:
        with self.native_device:
            return [int(i) for i in self._rng.permutation(n).get()]


def create(index: int) -> CupyBackend:
    if cupy is None:
        raise BackendUnavailableError(f"device 'cuda:{index}' needs CuPy, which is not installed: {_HINT}")
    count = device_count()
    if count == 0:
        raise BackendUnavailableError(f"device 'cuda:{index}': CuPy found no CUDA GPU on this machine; {_HINT}")
    if index >= count:
        raise BackendUnavailableError(
            f"device 'cuda:{index}' does not exist: this machine has {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}"
        )
    return CupyBackend(index)


