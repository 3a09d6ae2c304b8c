"""Leaf constructors: ``zeros``, ``ones``, ``full``, ``rand``, ``randn``, ``eye``,
``from_ndarray``, ``linspace``, ``logspace``, ``geomspace`` and ``range``.

Each takes ``dtype=`` (default ``float32``) and ``device=`` (default: the default device).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence, Union

from .._args import integer, integers, is_integer, real
from ..backends import Backend, Device, DType, float32, get as get_backend, int64, to_dtype
from ..backends._values import inspect, to_array
from .node import Leaf
from .variable import Var

Shape = Union[int, Sequence[int]]


def _shape(op: str, shape: Any) -> tuple[int, ...]:
    try:
        return integers(op, "shape", shape, minimum=0)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: shape must be a non-negative int or a tuple of them, got {shape!r}") from None


def _place(device: "str | Device | None", dtype: "DType | str | None") -> tuple[Backend, DType]:
    backend, dt = get_backend(device), to_dtype(dtype) if dtype is not None else float32
    backend.dtype(dt)  # a dtype the backend lacks raises here, naming the ones it has
    return backend, dt


def _allocate(op: str, backend: Backend, dt: DType, shape: tuple[int, ...], make: Callable[[], Any]) -> Var:
    """A leaf holding ``make()``; a shape too large for memory raises a MemoryError naming it."""
    try:
        with backend.scope():
            array = make()
    except (MemoryError, ValueError) as error:
        if isinstance(error, ValueError) and "too big" not in str(error) and "Maximum allowed" not in str(error):
            raise
        size = math.prod(shape) * dt.itemsize
        raise MemoryError(
            f"{op}: cannot allocate a {shape} {dt} array ({_bytes(size)}) on {backend.device}"
        ) from None
    return Var(Leaf(array, backend, dt))


def _bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:.3g} EiB"


def _float_place(op: str, device: "str | Device | None", dtype: "DType | str | None") -> tuple[Backend, DType]:
    backend, dt = _place(device, dtype)
    if not dt.is_floating:
        raise TypeError(f"{op}: makes floating-point values; dtype {dt} is not floating (use float16, float32 or float64)")
    return backend, dt


def _fill_value(value: Any, dt: DType) -> "float | int | bool":
    """A Python scalar of the kind of ``dt`` (the Array API does not fill an integer array with a float)."""
    return float(value) if dt.kind == "f" else (int(value) if dt.kind == "i" else bool(value))


def _leaf(backend: Backend, dtype: DType, value: Any) -> Var:
    return Var(Leaf(value, backend, dtype))


def _filled(op: str, shape: Any, value: float, dtype: Any, device: Any) -> Var:
    backend, dt = _place(device, dtype)
    dims, fill = _shape(op, shape), _fill_value(real(op, "value", value), dt)
    return _allocate(op, backend, dt, dims, lambda: backend.xp.full(dims, fill, dtype=backend.dtype(dt), device=backend.native_device))


def _count(op: str, num: Any) -> int:
    return integer(op, "num", num, minimum=0)


def zeros(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of zeros.

    >>> nk.zeros((2, 3)).numpy().tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return _filled("zeros", shape, 0.0, dtype, device)


def ones(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of ones.

    >>> nk.ones(3, dtype="float64").numpy().tolist()
    [1.0, 1.0, 1.0]
    """
    return _filled("ones", shape, 1.0, dtype, device)


def full(shape: Shape, value: float, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf filled with ``value``.

    >>> nk.full((1, 2), 7.0).numpy().tolist()
    [[7.0, 7.0]]
    """
    return _filled("full", shape, value, dtype, device)


def rand(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of samples of U[0, 1) from the device's generator (see ``nk.manual_seed``).

    >>> x = nk.rand((2, 3)); x.shape, bool(((x.numpy() >= 0) & (x.numpy() < 1)).all())
    ((2, 3), True)
    """
    backend, dt = _float_place("rand", device, dtype)
    dims = _shape("rand", shape)
    return _allocate("rand", backend, dt, dims, lambda: backend.uniform(dims, dt))


def randn(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of samples of N(0, 1) from the device's generator.

    >>> nk.randn((4, 5)).shape
    (4, 5)
    """
    backend, dt = _float_place("randn", device, dtype)
    dims = _shape("randn", shape)
    return _allocate("randn", backend, dt, dims, lambda: backend.normal(dims, dt))


def eye(n: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """The ``n × n`` identity matrix (``n`` an int, as the crate's ``eye(n)``).

    >>> nk.eye(2).numpy().tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    backend, dt = _place(device, dtype)
    if not is_integer(n):
        raise TypeError(f"eye: n must be an int (the matrix is n × n), got {type(n).__name__} {n!r}")
    size = integer("eye", "n", n, minimum=0)
    return _allocate("eye", backend, dt, (size, size), lambda: backend.xp.eye(size, dtype=backend.dtype(dt), device=backend.native_device))


def from_ndarray(array: Any, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf holding a copy of ``array``: a NumPy, CuPy, Array API or DLPack array, nested
    lists or a number, holding real numbers (floats, integers or bools). An array keeps its dtype
    (float16/32/64, int32/64 or bool) unless ``dtype`` says otherwise, and other integer arrays
    (int8, uint16, ...) become int64; nested lists and Python numbers become the default
    ``float32``, as in ``torch.tensor`` for floats (give ``dtype="int64"`` for indices). ``None``, complex numbers, datetimes, strings, objects, masked arrays and
    ``longdouble`` raise a TypeError (none of them is a real number neuronika can hold).

    >>> import numpy as np
    >>> nk.from_ndarray(np.array([3, 1])).dtype, nk.from_ndarray([3, 1]).dtype
    (neuronika.int64, neuronika.float32)
    """
    backend = get_backend(device)
    value = inspect("from_ndarray", array)
    is_array = hasattr(array, "dtype")  # lists and Python numbers have no dtype to keep
    if dtype is not None:
        dt = to_dtype(dtype)
    elif value.dtype is not None and (value.dtype.is_floating or is_array):
        dt = value.dtype
    else:
        dt = int64 if value.kind == "int" and is_array else float32
    backend.dtype(dt)
    # always our own copy: a conversion may share memory with the caller's array
    return _leaf(backend, dt, to_array(backend, value.obj, dt, "from_ndarray"))


def linspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included).

    >>> nk.linspace(0.0, 1.0, 5).numpy().tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    backend, dt = _float_place("linspace", device, dtype)
    low, high, count = real("linspace", "start", start), real("linspace", "stop", stop), _count("linspace", num)
    return _allocate("linspace", backend, dt, (count,), lambda: backend.xp.linspace(
        low, high, count, dtype=backend.dtype(dt), device=backend.native_device))


def logspace(
    start: float, stop: float, num: int, base: float = 10.0,
    dtype: "DType | str | None" = None, device: "str | Device | None" = None,
) -> Var:
    """``sign(base) · |base| ** linspace(start, stop, num)``: ``base ** x`` for a positive
    base; for a negative base every value is negative, as the crate (ndarray's rule), where
    ``base ** x`` would be NaN for fractional exponents.

    >>> nk.logspace(0.0, 2.0, 3).numpy().tolist()
    [1.0, 10.0, 100.0]
    """
    backend, dt = _float_place("logspace", device, dtype)
    low, high, count = real("logspace", "start", start), real("logspace", "stop", stop), _count("logspace", num)
    radix = real("logspace", "base", base)
    sign = -1.0 if radix < 0 else 1.0

    def make() -> Any:
        exponents = backend.xp.linspace(low, high, count, dtype=backend.dtype(dt), device=backend.native_device)
        return sign * abs(radix) ** exponents

    return _allocate("logspace", backend, dt, (count,), make)


def geomspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` values from ``start`` to ``stop`` spaced evenly on a log scale (a geometric
    progression). ``start`` and ``stop`` must be non-zero and of the same sign.

    >>> nk.geomspace(1.0, 8.0, 4).numpy().round(4).tolist()
    [1.0, 2.0, 4.0, 8.0]
    """
    start, stop, count = real("geomspace", "start", start), real("geomspace", "stop", stop), _count("geomspace", num)
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise ValueError(
            f"geomspace: start ({start}) and stop ({stop}) must be non-zero and have the same sign"
        )
    backend, dt = _float_place("geomspace", device, dtype)
    sign = -1.0 if start < 0 else 1.0

    def make() -> Any:
        exponents = backend.xp.linspace(
            math.log10(abs(start)), math.log10(abs(stop)), count,
            dtype=backend.xp.float64 if "float64" in backend._xp_dtypes else backend.dtype(dt),
            device=backend.native_device,
        )
        return backend.xp.astype((10.0 ** exponents) * sign, backend.dtype(dt))

    return _allocate("geomspace", backend, dt, (count,), make)


def range(start: float, stop: float, step: float = 1.0, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """Values ``start, start + step, …`` below ``stop`` (as Python's range; with an integer
    ``dtype`` the bounds and step must be integers).

    >>> nk.range(0.0, 1.0, 0.25).numpy().tolist()
    [0.0, 0.25, 0.5, 0.75]
    """
    start, stop, step = real("range", "start", start), real("range", "stop", stop), real("range", "step", step)
    if step == 0:
        raise ValueError("range: step must not be zero")
    backend, dt = _place(device, dtype)
    if dt.kind == "b" or (dt.kind == "i" and not all(float(v).is_integer() for v in (start, stop, step))):
        raise TypeError(f"range: cannot make {dt} values from start={start!r}, stop={stop!r}, step={step!r}")
    count = max(0, math.ceil((stop - start) / step)) if math.isfinite((stop - start) / step) else -1
    if count < 0:
        raise ValueError(f"range: start ({start}), stop ({stop}) and step ({step}) must be finite")
    low, high, stride = (_fill_value(v, dt) for v in (start, stop, step))
    return _allocate("range", backend, dt, (count,), lambda: backend.xp.arange(
        low, high, stride, dtype=backend.dtype(dt), device=backend.native_device))


