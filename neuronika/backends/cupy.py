"""CuPy backend (devices ``"cuda"`` and ``"cuda:N"``).

Placement is structural: CuPy 14's creation functions have no ``device=`` argument (they allocate
on the *current* GPU) and array-api-compat's wrappers accept ``device=`` and ignore it, so the
backend's ``xp`` is array-api-compat's CuPy namespace with every function run inside
``cupy.cuda.Device(N)`` (:class:`DeviceNamespace`). The same holds for :meth:`CupyBackend.asarray`,
the random generator and the kernel overrides: whatever the backend makes lands on the GPU the
device string names, whichever GPU the caller has current. Array *methods and operators*
(``a + b``, ``a.reshape``) run on the current GPU, as CuPy runs them: the graph engine and the
optimizers run their kernels inside :meth:`CupyBackend.scope`.

CuPy 14 has no cuDNN bindings: convolution is neuronika's own (im2col + one cuBLAS GEMM,
registered below). A CuPy installed without its CUDA libraries (no ``[ctk]`` extra and no CUDA
Toolkit) imports and counts GPUs but fails at the first cuRAND, NVRTC or cuBLAS use; the backend
makes that first use when it is created and turns the failure into one
:class:`BackendUnavailableError` line with the install hint.
"""

from __future__ import annotations

import functools
import os
import types
from typing import Any, Callable, ContextManager, Sequence

from ._base import Backend, BackendUnavailableError, DType

_HINT = (
    'install CuPy with its CUDA libraries for your CUDA version, pip install "neuronika[cuda12]" or '
    '"neuronika[cuda13]" (cupy-cuda12x[ctk] / cupy-cuda13x[ctk]), on a machine with an NVIDIA GPU and driver'
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


def on_device(function: Callable[..., Any], index: int) -> Callable[..., Any]:
    """``function`` run inside ``cupy.cuda.Device(index)`` (a fresh context object per call, so
    threads do not share its stack of previous devices)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with cupy.cuda.Device(index):
            return function(*args, **kwargs)

    return run


class DeviceNamespace:
    """An Array API namespace whose every function runs inside ``cupy.cuda.Device(index)``.

    Attributes are looked up once on the wrapped namespace and cached: functions come back wrapped
    by :func:`on_device`, sub-namespaces (``linalg``, ``fft``) as ``DeviceNamespace`` themselves,
    dtypes and constants unchanged.
    """

    def __init__(self, namespace: Any, index: int) -> None:
        self._namespace = namespace
        self._index = index
        self.__name__ = namespace.__name__

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._namespace, name)
        if isinstance(value, types.ModuleType):
            value = DeviceNamespace(value, self._index)
        elif callable(value) and not isinstance(value, type):
            value = on_device(value, self._index)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"<{self.__name__} on cuda:{self._index}>"


class CupyBackend(Backend):
    name = "cupy"
    supports_out = True

    def __init__(self, index: int) -> None:
        self.xp = DeviceNamespace(cupy_namespace, index)
        super().__init__()
        self.index = index
        self.native_device = cupy.cuda.Device(index)
        with self.native_device:
            # RandomState (cuRAND) is the generator whose sampling methods all take a dtype;
            # Philox is counter-based, so the reseeding of every draw (see _generator) is cheap
            self._rng = cupy.random.RandomState(method=cupy.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
        self._rng_key, self._rng_draws = int.from_bytes(os.urandom(8), "little"), 0
        from . import _cupy_kernels

        self.kernels.update({name: on_device(kernel, index) for name, kernel in _cupy_kernels.KERNELS.items()})

    def scope(self) -> ContextManager[Any]:
        return cupy.cuda.Device(self.index)  # type: ignore[no-any-return]

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        with cupy.cuda.Device(self.index):
            if isinstance(obj, cupy.ndarray):
                # CuPy copies between GPUs only from a contiguous array: order "C" makes one first
                out = obj if obj.device.id == self.index else cupy.array(obj, copy=True, order="C")
            elif isinstance(obj, (np.ndarray, np.generic, list, tuple, int, float)):
                out = cupy.asarray(obj)
            elif hasattr(obj, "__dlpack__") and "numpy" not in type(obj).__module__:
                try:
                    out = cupy.from_dlpack(obj)
                except Exception:
                    out = cupy.asarray(np.from_dlpack(obj))
                # a zero-copy import stays on the producer's GPU
                if out.device.id != self.index:
                    out = cupy.array(out, copy=True, order="C")
            else:
                out = cupy.asarray(np.asarray(obj))
            return out if dtype is None else out.astype(dtype.name, copy=False)

    def asarray_copy(self, obj: Any, dtype: DType) -> Any:
        with self.native_device:
            out = self.asarray(obj, dtype)
            if isinstance(obj, (np.ndarray, np.generic, list, tuple, int, float)):
                return out  # copied from the host: device memory of its own
            return cupy.array(out, copy=True)  # a CuPy or DLPack source may share memory

    def to_host(self, array: Any) -> Any:
        return array.get()

    def owns(self, array: Any) -> bool:
        return isinstance(array, cupy.ndarray) and array.device.id == self.index

    def communicator(self, world: Any) -> Any:
        from ._nccl import NcclCommunicator

        return NcclCommunicator(world, self)

    # random numbers: cuRAND's position in its stream cannot be read back, so the generator's
    # whole state is (key, number of draws): draw k reseeds cuRAND with mix(key, k). The state
    # is two ints, restored exactly in any process.
    def seed(self, seed: int) -> None:
        self._rng_key, self._rng_draws = int(seed) % _UINT64, 0

    def _generator(self) -> Any:
        """The cuRAND generator, seeded for the next draw (call inside the device scope)."""
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
        with cupy.cuda.Device(self.index):
            sample = self._generator().random_sample(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if low != 0.0 or high != 1.0:
                sample = sample * (high - low) + low
            return sample.astype(dtype.name, copy=False)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        with cupy.cuda.Device(self.index):
            sample = self._generator().standard_normal(tuple(shape), dtype=cupy.float64 if dtype.name == "float64" else cupy.float32)
            if mean != 0.0 or std != 1.0:
                sample = sample * std + mean
            return sample.astype(dtype.name, copy=False)

    def permutation(self, n: int) -> list[int]:
        with cupy.cuda.Device(self.index):
            return [int(i) for i in self._generator().permutation(n).get()]


_UINT64 = 1 << 64


def _mix(key: int, counter: int) -> int:
    """SplitMix64 of ``key + (counter + 1)·γ``: well-spread 64-bit seeds for consecutive draws."""
    z = (key + (counter + 1) * 0x9E3779B97F4A7C15) % _UINT64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % _UINT64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % _UINT64
    return z ^ (z >> 31)



def _first_use(index: int) -> CupyBackend:
    """Create the backend and run one cuRAND draw, one compiled (NVRTC) kernel and one cuBLAS GEMM
    on the GPU: the CUDA libraries CuPy loads lazily are then known to be present."""
    backend = CupyBackend(index)
    with cupy.cuda.Device(index):
        ones = backend._rng.random_sample((2, 2), dtype=cupy.float32) * 0 + 1
        cupy.matmul(ones, ones).get()
    return backend


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
    try:
        return _first_use(index)
    except (ImportError, OSError, RuntimeError) as error:  # cuda.pathfinder's DynamicLibNotFoundError is a RuntimeError
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BackendUnavailableError(
            f"device 'cuda:{index}': CuPy cannot load a CUDA library it needs ({reason}); {_HINT}"
        ) from None
