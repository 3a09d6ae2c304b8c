"""``cupy.ndarray`` of the stand-in: a NumPy array that lives on one GPU, with CuPy's device rules.

The rules CuPy 14 enforces, modelled here (``_kernel``/``_view`` below apply them to every call):

* an array lives on the device that was current when it was made (``a.device``);
* a *kernel* (anything that computes or copies data) runs on the current device, and every array
  it reads or writes must live there: otherwise ``ValueError: The device where the array resides
  (0) is different from the current device (1). Peer access is unavailable between these
  devices.`` (with peer access: a ``PerformanceWarning``, and the kernel runs);
* a *view* (basic indexing, reshape without copy, transpose, broadcast_to, as_strided ...) launches
  no kernel: no check, and the view lives where its base lives;
* NumPy arrays are not kernel arguments (``TypeError: Unsupported type``), and an array never turns
  into a NumPy array implicitly (``__array__`` raises); ``.get()`` is the host copy;
* a copy onto another device needs a C- or F-contiguous source (``NotImplementedError: CuPy cannot
  copy non-contiguous array between devices.``), as ``cupy.array(a, copy=True)`` (order 'K') of a
  broadcast or sliced array hits.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable

import numpy as np

from . import _state, _util

_SCALARS = (numbers.Number, np.generic, bool)


def _peer_check(device_id: int) -> None:
    current = _state.current()
    if device_id == current:
        return
    message = f"The device where the array resides ({device_id}) is different from the current device ({current})."
    if not _state.PEER_ACCESS[0]:
        raise ValueError(f"{message} Peer access is unavailable between these devices.")
    warnings.warn(f"{message} Peer access has been activated automatically.", _util.PerformanceWarning, stacklevel=3)


def _unwrap(obj: Any, arrays: list["ndarray"], *, host_ok: bool = False) -> Any:
    """The NumPy payload of ``obj`` (recursing into lists and tuples), collecting the stand-in arrays."""
    if isinstance(obj, ndarray):
        arrays.append(obj)
        return obj._a
    if isinstance(obj, np.ndarray) and not host_ok:
        raise TypeError(f"Unsupported type {type(obj)}")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(item, arrays, host_ok=host_ok) for item in obj)
    return obj


def _wrap(result: Any, device_id: int) -> Any:
    if isinstance(result, np.ndarray):
        return ndarray._make(result, device_id)
    if isinstance(result, np.generic):
        return ndarray._make(np.asarray(result), device_id)
    if isinstance(result, tuple):
        return tuple(_wrap(item, device_id) for item in result)
    if isinstance(result, list):
        return [_wrap(item, device_id) for item in result]
    return result


def _root(a: Any) -> Any:
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _is_view(result: Any, arrays: list["ndarray"]) -> bool:
    """NumPy made no new buffer: ``result`` is (a view of) an operand's memory, even when empty."""
    if not isinstance(result, np.ndarray):
        return False
    root = _root(result)
    return any(root is _root(a._a) or np.may_share_memory(result, a._a) for a in arrays)


def call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, host_ok: bool = False) -> Any:
    """Run a NumPy ``function`` as CuPy runs the same call: a view where NumPy returns one (no
    device check, result on the base's device), a kernel on the current device otherwise."""
    arrays: list[ndarray] = []
    np_args = _unwrap(args, arrays, host_ok=host_ok)
    np_kwargs = {key: _unwrap(value, arrays, host_ok=host_ok) for key, value in kwargs.items()}
    result = function(*np_args, **np_kwargs)
    for array in arrays:
        if result is array._a:  # NumPy handed the operand back (astype(copy=False), ascontiguousarray)
            return array
    if arrays and _is_view(result, arrays):
        return _wrap(result, arrays[0]._device_id)
    _state.require_library("nvrtc")  # CuPy compiles its kernels at run time
    for array in arrays:
        _peer_check(array._device_id)
    return _wrap(result, _state.current())


def ufunc_call(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """An element-wise kernel: operands are arrays of the current device or scalars."""
    for arg in args:
        if not isinstance(arg, (ndarray, *_SCALARS)):
            raise TypeError(f"Unsupported type {type(arg)}")
    out = kwargs.get("out")
    if out is not None:
        kwargs = dict(kwargs, out=out._a if isinstance(out, ndarray) else out)
        for array in [a for a in args if isinstance(a, ndarray)] + ([out] if isinstance(out, ndarray) else []):
            _peer_check(array._device_id)
        function(*[a._a if isinstance(a, ndarray) else a for a in args], **kwargs)
        return out
    return call(function, args, kwargs)


class _Flags:
    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, name: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous, "OWNDATA": self.owndata}[name]


class _MemoryPointer:
    def __init__(self, a: np.ndarray, device_id: int) -> None:
        self.device_id = device_id
        self.ptr = a.__array_interface__["data"][0]


class ndarray:  # noqa: N801 - CuPy's name
    """``cupy.ndarray(shape, dtype=float, memptr=None, strides=None, order='C')``."""

    __slots__ = ("_a", "_device_id", "__weakref__")
    __array_ufunc__ = None  # NumPy ufuncs on a device array: TypeError, as for CuPy's non-NumPy operands
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None, strides: Any = None, order: str = "C") -> None:
        if memptr is not None or strides is not None:
            raise NotImplementedError("the stand-in does not model memptr/strides")
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._device_id = _state.current()

    @classmethod
    def _make(cls, a: np.ndarray, device_id: int) -> "ndarray":
        out = object.__new__(cls)
        out._a = a
        out._device_id = device_id
        return out

    # attributes ------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: _Flags(self._a))
    data = property(lambda self: _MemoryPointer(self._a, self._device_id))
    T = property(lambda self: call(np.transpose, (self,), {}))
    mT = property(lambda self: call(np.matrix_transpose, (self,), {}))

    @property
    def device(self) -> Any:
        from .cuda import Device

        return Device(self._device_id)

    @property
    def base(self) -> Any:
        return None if self._a.base is None else ndarray._make(self._a.base, self._device_id)  # type: ignore[arg-type]

    # host copies: the only doors to NumPy ------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: Any, stream: Any = None) -> None:
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray (got {type(arr)})")
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError("Shape mismatch or dtype mismatch")
        self._a[...] = arr

    def item(self) -> Any:
        return self.get().item()

    def tolist(self) -> Any:
        return self.get().tolist()

    def __float__(self) -> float:
        return float(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

    def __bool__(self) -> bool:
        return bool(self.get())

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return repr(self.get())

    def __str__(self) -> str:
        return str(self.get())

    def __format__(self, spec: str) -> str:
        return format(self.get(), spec)

    def __reduce__(self) -> Any:
        # pickling goes through the host; unpickling puts the array on the current device
        return (_from_host, (self.get(),))

    def __copy__(self) -> "ndarray":
        return self.copy()

    def __deepcopy__(self, memo: Any) -> "ndarray":
        from .cuda import Device

        with Device(self._device_id):
            return self.copy()

    # DLPack: a CUDA producer (device type kDLCUDA = 2) ------------------------------------------
    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, self._device_id)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None) -> Any:
        return self._a.__dlpack__(max_version=max_version, copy=copy)

    # copies ----------------------------------------------------------------------------------
    def copy(self, order: str = "C") -> "ndarray":
        if self.size == 0 or self._device_id == _state.current():
            return call(lambda a: np.array(a, order=order, copy=True), (self,), {})
        # another device: a contiguous copy on the source device, then a peer-to-peer memcpy
        source = self._a.astype(self.dtype, order=order, copy=False)
        if not (source.flags.c_contiguous or source.flags.f_contiguous):
            raise NotImplementedError("CuPy cannot copy non-contiguous array between devices.")
        return ndarray._make(np.array(source, order="A", copy=True), _state.current())

    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None, copy: bool = True) -> "ndarray":
        options = {"order": order, "copy": copy} if casting is None else {"order": order, "copy": copy, "casting": casting}
        return call(lambda a: a.astype(dtype, **options), (self,), {})  # type: ignore[no-any-return]

    # indexing --------------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        return call(lambda a, k: a[k], (self, key), {}, host_ok=True)

    def __setitem__(self, key: Any, value: Any) -> None:
        arrays: list[ndarray] = []
        np_key = _unwrap(key, arrays, host_ok=True)
        np_value = _unwrap(value, arrays, host_ok=True)
        for array in [self, *arrays]:
            _peer_check(array._device_id)
        self._a[np_key] = np_value

    def fill(self, value: Any) -> None:
        self[...] = value

    # operators: element-wise kernels ----------------------------------------------------------
    def _binary(self, other: Any, function: Callable[..., Any], reflected: bool = False) -> Any:
        if isinstance(other, np.ndarray) or not isinstance(other, (ndarray, *_SCALARS)):
            return NotImplemented if not isinstance(other, np.ndarray) else _unsupported(other)
        return ufunc_call(function, (other, self) if reflected else (self, other), {})

    def _inplace(self, other: Any, function: Callable[..., Any]) -> "ndarray":
        if not isinstance(other, (ndarray, *_SCALARS)):
            raise TypeError(f"Unsupported type {type(other)}")
        return ufunc_call(function, (self, other), {"out": self})  # type: ignore[no-any-return]

    def __neg__(self) -> Any:
        return ufunc_call(np.negative, (self,), {})

    def __pos__(self) -> Any:
        return ufunc_call(np.positive, (self,), {})

    def __abs__(self) -> Any:
        return ufunc_call(np.absolute, (self,), {})

    def __invert__(self) -> Any:
        return ufunc_call(np.invert, (self,), {})

    def __matmul__(self, other: Any) -> Any:
        _state.require_library("cublas")
        return call(np.matmul, (self, other), {})

    def __rmatmul__(self, other: Any) -> Any:
        _state.require_library("cublas")
        return call(np.matmul, (other, self), {})

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        import cupy

        implementation = getattr(cupy, func.__name__, None)
        return NotImplemented if implementation is None else implementation(*args, **kwargs)


def _unsupported(other: Any) -> Any:
    raise TypeError(f"Unsupported type {type(other)}")


def _from_host(host: np.ndarray) -> ndarray:
    return ndarray._make(np.array(host, copy=True), _state.current())


_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide, "floordiv": np.floor_divide,
    "mod": np.remainder, "pow": np.power, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift,
}
for _name, _function in _BINARY.items():
    setattr(ndarray, f"__{_name}__", lambda self, other, f=_function: self._binary(other, f))
    setattr(ndarray, f"__r{_name}__", lambda self, other, f=_function: self._binary(other, f, reflected=True))
    setattr(ndarray, f"__i{_name}__", lambda self, other, f=_function: self._inplace(other, f))
for _name, _function in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                         "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(ndarray, f"__{_name}__", lambda self, other, f=_function: self._binary(other, f))
