"""CuPy backend (devices ``"cuda"`` and ``"cuda:N"``).

``xp`` is array-api-compat's CuPy namespace. Every kernel runs inside ``cupy.cuda.Device(N)``
(see :meth:`CupyBackend.scope`), so arrays land on the GPU the device string names. CuPy 14 has no
cuDNN bindings: convolution is neuronika's own (im2col + one cuBLAS GEMM, registered below).
"""

from __future__ import annotations

import os
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
            # RandomState (cuRAND) is the generator whose sampling methods all take a dtype;
            # Philox is counter-based, so the reseeding of every draw (see _generator) is cheap
            self._rng = cupy.random.RandomState(method=cupy.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
        self._rng_key, self._rng_draws = int.from_bytes(os.urandom(8), "little"), 0
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

    # random numbers: cuRAND's position in its stream cannot be read back, so the generator's
    # whole state is (key, number of draws): draw k reseeds cuRAND with mix(key, k). The state
    # is two ints, restored exactly in any process.
    def seed(self, seed: int) -> None:
        self._rng_key, self._rng_draws = int(seed) % _UINT64, 0

    def _generator(self) -> Any:
        """The cuRAND generator, seeded for the next draw (call inside ``native_device``)."""
        self._rng.seed(np.uint64(_mix(self._rng_key, self._rng_draws)))
        self._rng_draws += 1
        return self._rng

    def get_rng_state(self) -> dict[str, Any]:
        return {"generator": "neuronika.cupy.philox", "key": self._rng_key, "draws": self._rng_draws}

    def check_rng_state(self, state: Any) -> None:
        valid = isinstance(state, dict) and state.get("generator") == "neuronika.cupy.philox" and all(
            isinstance(state.get(field), int) and not isinstance(state.get(field), bool)
            and 0 <= state[field] < _UINT64 for field in ("key", "draws")
        )
        if not valid:
            raise ValueError(
                f"set_rng_state: {self.device}: not a CuPy generator state (expected "
                f"{{'generator': 'neuronika.cupy.philox', 'key': int, 'draws': int}}), got {state!r:.200}"
            )

    def set_rng_state(self, state: Any) -> None:
        self.check_rng_state(state)
        self._rng_key, self._rng_draws = state["key"], state["draws"]

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        with self.native_device:
            sample = self._generator().random_sample(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if low != 0.0 or high != 1.0:
                sample = sample * (high - low) + low
            return sample.astype(dtype.name, copy=False)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        with self.native_device:
            sample = self._generator().standard_normal(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if mean != 0.0 or std != 1.0:
                sample = sample * std + mean
            return sample.astype(dtype.name, copy=False)

    def permutation(self, n: int) -> list[int]:
        with self.native_device:
            return [int(i) for i in self._generator().permutation(n).get()]


_UINT64 = 1 << 64


def _mix(key: int, counter: int) -> int:
    """SplitMix64 of ``key + (counter + 1)·γ``: well-spread 64-bit seeds for consecutive draws."""
    z = (key + (counter + 1) * 0x9E3779B97F4A7C15) % _UINT64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % _UINT64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % _UINT64
    return z ^ (z >> 31)


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


