"""A NumPy-backed stand-in for CuPy 14, for neuronika's tests on machines without a GPU.

It models exactly the CuPy surface neuronika and array-api-compat's CuPy wrappers use (the names in
``_signatures.py``, generated from the real CuPy by ``../generate_signatures.py``), with CuPy's
signatures and its device rules (see ``_core``): arrays live on a GPU, ``cuda.Device(i)`` changes
the current GPU, kernels refuse arrays of another GPU, ``.get()`` is the only way to the host. It
never computes anything NumPy would not, so it proves placement and API use, not GPU numerics or
speed. ``tests/conftest.py`` puts it on ``sys.path`` when no real CuPy with a GPU is present.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from . import _api, _core, _state, _util, cuda
from ._core import ndarray
from ._signatures import CUPY_VERSION, SIGNATURES

__version__ = CUPY_VERSION
STAND_IN = True  # how a test tells the stand-in from the real CuPy

# dtypes and constants are NumPy's own objects in CuPy too
dtype = _np.dtype
bool_ = _np.bool_
intp = _np.intp
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
integer, floating, number, complexfloating = _np.integer, _np.floating, _np.number, _np.complexfloating
signedinteger, unsignedinteger, inexact, generic = _np.signedinteger, _np.unsignedinteger, _np.inexact, _np.generic
newaxis = None
inf, nan, pi, e = _np.inf, _np.nan, _np.pi, _np.e

_SPECIAL = {"array", "asarray", "from_dlpack"}
for _qualified in SIGNATURES:
    _prefix, _, _name = _qualified.rpartition(".")
    if _prefix == "cupy" and _name not in _SPECIAL:
        globals()[_name] = _api.function(_qualified, _api.numpy_function(_np, _name))
_api.install_methods()


def _array(obj: Any, dtype: Any = None, copy: Any = True, order: Any = "K", subok: bool = False, ndmin: int = 0,
           *, blocking: bool = False) -> ndarray:
    order = "K" if order is None else order
    if isinstance(obj, ndarray):
        target = obj.dtype if dtype is None else _np.dtype(dtype)
        if copy is False and (obj._device_id != _state.current() or target != obj.dtype):
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        if obj._device_id == _state.current():
            out = obj.astype(target, order=order, copy=bool(copy))  # copy=None: only when needed
        else:  # CuPy's _array_from_cupy_ndarray: a copy (order as given) onto the current GPU
            out = obj.copy(order=order).astype(target, copy=False)
        return out if ndmin <= out.ndim else out.reshape((1,) * (ndmin - out.ndim) + out.shape)
    if copy is False:
        raise ValueError("Unable to avoid copy while creating an array as requested.")
    if hasattr(obj, "__cuda_array_interface__"):
        raise NotImplementedError("the stand-in does not model __cuda_array_interface__")
    host = _np.array(obj, dtype=dtype, order=order, ndmin=ndmin, copy=True)  # __array__ of ours raises
    if host.dtype.kind in "OUSV":
        raise ValueError(f"Unsupported dtype {host.dtype}")
    return ndarray._make(host, _state.current())


def _asarray(a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None, blocking: bool = False) -> ndarray:
    return _array(a, dtype, copy, order, blocking=blocking)


class _HostView:
    """Hands a CUDA producer's buffer (the stand-in's memory is host memory) to NumPy's importer."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.producer.__dlpack__(**{k: v for k, v in kwargs.items() if k in ("max_version", "copy")})


def _from_dlpack(array: Any, *, device: Any = None, copy: Any = None) -> ndarray:
    """Zero-copy import of a DLPack producer; the result stays on the producer's GPU."""
    if isinstance(array, ndarray):
        return ndarray._make(array._a.view(), array._device_id)
    kind, index = array.__dlpack_device__()
    if int(kind) not in (2, 3):  # kDLCUDA, kDLCUDAHost
        raise BufferError(f"from_dlpack: the producer lives on DLPack device type {int(kind)}, not a CUDA device")
    return ndarray._make(_np.from_dlpack(_HostView(array)), int(index))


array = _api._named("cupy.array", _array, _api.signature("cupy.array")[1])
asarray = _api._named("cupy.asarray", _asarray, _api.signature("cupy.asarray")[1])
from_dlpack = _api._named("cupy.from_dlpack", _from_dlpack, _api.signature("cupy.from_dlpack")[1])

from . import fft, lib, linalg, random  # noqa: E402

__all__ = sorted(
    name for name in globals()
    if not name.startswith("_") and name not in {"annotations", "Any", "CUPY_VERSION", "SIGNATURES", "STAND_IN"}
)
