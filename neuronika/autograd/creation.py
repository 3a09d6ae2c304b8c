"""Leaf constructors: ``zeros``, ``ones``, ``full``, ``rand``, ``randn``, ``eye``,
``from_ndarray``, ``linspace``, ``logspace``, ``geomspace`` and ``range``.

Each takes ``dtype=`` (default ``float32``) and ``device=`` (default: the default device).
"""

from __future__ import annotations

import math
from typing import Any, Sequence, Union

from ..backends import Backend, Device, DType, float32, get as get_backend, to_dtype
from .node import Leaf
from .variable import Var

Shape = Union[int, Sequence[int]]
_KEPT_NAMES = {"float16", "float32", "float64", "int32", "int64", "bool"}


def _shape(op: str, shape: Any) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise ValueError(f"{op}: shape must be a non-negative int or a tuple of them, got {shape!r}")
    return tuple(int(d) for d in dims)


def _place(device: "str | Device | None", dtype: "DType | str | None") -> tuple[Backend, DType]:
    return get_backend(device), to_dtype(dtype) if dtype is not None else float32


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
    array = backend.xp.full(_shape(op, shape), _fill_value(value, dt), dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, array)


def zeros(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of zeros."""
    return _filled("zeros", shape, 0.0, dtype, device)


def ones(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of ones."""
    return _filled("ones", shape, 1.0, dtype, device)


def full(shape: Shape, value: float, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf filled with ``value``."""
    return _filled("full", shape, value, dtype, device)


def rand(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of samples of U[0, 1) from the device's generator (see ``nk.manual_seed``)."""
    backend, dt = _float_place("rand", device, dtype)
    return _leaf(backend, dt, backend.uniform(_shape("rand", shape), dt))


def randn(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of samples of N(0, 1) from the device's generator."""
    backend, dt = _float_place("randn", device, dtype)
    return _leaf(backend, dt, backend.normal(_shape("randn", shape), dt))


def eye(n: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """The ``n × n`` identity matrix."""
    backend, dt = _place(device, dtype)
    return _leaf(backend, dt, backend.xp.eye(_shape("eye", n)[0], dtype=backend.dtype(dt), device=backend.native_device))


def from_ndarray(array: Any, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf holding a copy of ``array``: a NumPy, CuPy, Array API or DLPack array, nested
    lists or a scalar. An array keeps its dtype (float16/32/64, int32/64 or bool) unless ``dtype``
    says otherwise; other integer arrays (int8, uint16, ...) become int64; nested lists, scalars
    and other arrays become the default ``float32``.

    >>> import numpy as np
    >>> nk.from_ndarray(np.array([3, 1])).dtype, nk.from_ndarray([3, 1]).dtype
    (neuronika.int64, neuronika.float32)
    """
    backend = get_backend(device)
    if dtype is not None:
        dt = to_dtype(dtype)
    else:
        name = getattr(getattr(array, "dtype", None), "name", None) or str(getattr(array, "dtype", ""))
        name = name.rsplit(".", 1)[-1]
        if name in _KEPT_NAMES:
            dt = to_dtype(name)
        elif name.startswith(("int", "uint")):
            dt = to_dtype("int64")
        else:
            dt = float32
    try:
        value = backend.asarray(array, dt)
    except (TypeError, ValueError) as error:
        raise TypeError(f"from_ndarray: cannot convert {type(array).__name__} to a {dt} array: {error}") from error
    # always our own copy: a conversion may share memory with the caller's array
    return _leaf(backend, dt, backend.xp.asarray(value, copy=True))


def linspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included)."""
    backend, dt = _float_place("linspace", device, dtype)
    array = backend.xp.linspace(float(start), float(stop), int(num), dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, array)


def logspace(
    start: float, stop: float, num: int, base: float = 10.0,
    dtype: "DType | str | None" = None, device: "str | Device | None" = None,
) -> Var:
    """``base ** linspace(start, stop, num)``."""
    backend, dt = _float_place("logspace", device, dtype)
    exponents = backend.xp.linspace(float(start), float(stop), int(num), dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, float(base) ** exponents)


def geomspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` values from ``start`` to ``stop`` spaced evenly on a log scale (a geometric
    progression). ``start`` and ``stop`` must be non-zero and of the same sign."""
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise ValueError(
            f"geomspace: start ({start}) and stop ({stop}) must be non-zero and have the same sign"
        )
    backend, dt = _float_place("geomspace", device, dtype)
    sign = -1.0 if start < 0 else 1.0
    exponents = backend.xp.linspace(
        math.log10(abs(start)), math.log10(abs(stop)), int(num), dtype=backend.xp.float64 if "float64" in backend._xp_dtypes else backend.dtype(dt),
        device=backend.native_device,
    )
    values = (10.0 ** exponents) * sign
    return _leaf(backend, dt, backend.xp.astype(values, backend.dtype(dt)))


def range(start: float, stop: float, step: float = 1.0, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """Values ``start, start + step, …`` below ``stop`` (as Python's range; with an integer
    ``dtype`` the bounds and step must be integers)."""
    if step == 0:
        raise ValueError("range: step must not be zero")
    backend, dt = _place(device, dtype)
    if dt.kind == "b" or (dt.kind == "i" and not all(float(v).is_integer() for v in (start, stop, step))):
        raise TypeError(f"range: cannot make {dt} values from start={start!r}, stop={stop!r}, step={step!r}")
    bounds = [_fill_value(v, dt) for v in (start, stop, step)]
    array = backend.xp.arange(*bounds, dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, array)


