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
_FLOAT_NAMES = {"float16", "float32", "float64"}


def _shape(op: str, shape: Any) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise ValueError(f"{op}: shape must be a non-negative int or a tuple of them, got {shape!r}")
    return tuple(int(d) for d in dims)


def _place(device: "str | Device | None", dtype: "DType | str | None") -> tuple[Backend, DType]:
    return get_backend(device), to_dtype(dtype) if dtype is not None else float32


def _leaf(backend: Backend, dtype: DType, value: Any) -> Var:
    return Var(Leaf(value, backend, dtype))


def _filled(op: str, shape: Any, value: float, dtype: Any, device: Any) -> Var:
    backend, dt = _place(device, dtype)
    array = backend.xp.full(_shape(op, shape), float(value), dtype=backend.dtype(dt), device=backend.native_device)
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
    backend, dt = _place(device, dtype)
    return _leaf(backend, dt, backend.uniform(_shape("rand", shape), dt))


def randn(shape: Shape, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf of samples of N(0, 1) from the device's generator."""
    backend, dt = _place(device, dtype)
    return _leaf(backend, dt, backend.normal(_shape("randn", shape), dt))


def eye(n: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """The ``n × n`` identity matrix."""
    backend, dt = _place(device, dtype)
    return _leaf(backend, dt, backend.xp.eye(_shape("eye", n)[0], dtype=backend.dtype(dt), device=backend.native_device))


def from_ndarray(array: Any, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """A leaf holding a copy of ``array``: a NumPy, CuPy, Array API or DLPack array, nested
    lists or a scalar. A floating array keeps its dtype unless ``dtype`` says otherwise; any other
    input becomes the default ``float32``."""
    backend = get_backend(device)
    if dtype is not None:
        dt = to_dtype(dtype)
    else:
        name = getattr(getattr(array, "dtype", None), "name", None) or str(getattr(array, "dtype", ""))
        name = name.rsplit(".", 1)[-1]
        dt = to_dtype(name) if name in _FLOAT_NAMES else float32
    try:
        value = backend.asarray(array, dt)
    except (TypeError, ValueError) as error:
        raise TypeError(f"from_ndarray: cannot convert {type(array).__name__} to a {dt} array: {error}") from error
    # always our own copy: a conversion may share memory with the caller's array
    return _leaf(backend, dt, backend.xp.asarray(value, copy=True))


def linspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included)."""
    backend, dt = _place(device, dtype)
    array = backend.xp.linspace(float(start), float(stop), int(num), dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, array)


def logspace(
    start: float, stop: float, num: int, base: float = 10.0,
    dtype: "DType | str | None" = None, device: "str | Device | None" = None,
) -> Var:
    """``base ** linspace(start, stop, num)``."""
    backend, dt = _place(device, dtype)
    exponents = backend.xp.linspace(float(start), float(stop), int(num), dtype=backend.dtype(dt), device=backend.native_device)
    with backend.scope():  # an operator runs on the current device: make it the variable's
        return _leaf(backend, dt, float(base) ** exponents)


def geomspace(start: float, stop: float, num: int, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """``num`` values from ``start`` to ``stop`` spaced evenly on a log scale (a geometric
    progression). ``start`` and ``stop`` must be non-zero and of the same sign."""
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise ValueError(
            f"geomspace: start ({start}) and stop ({stop}) must be non-zero and have the same sign"
        )
    backend, dt = _place(device, dtype)
    sign = -1.0 if start < 0 else 1.0
    exponents = backend.xp.linspace(
        math.log10(abs(start)), math.log10(abs(stop)), int(num), dtype=backend.xp.float64 if "float64" in backend._xp_dtypes else backend.dtype(dt),
        device=backend.native_device,
    )
    with backend.scope():
        values = (10.0 ** exponents) * sign
        return _leaf(backend, dt, backend.xp.astype(values, backend.dtype(dt)))


def range(start: float, stop: float, step: float = 1.0, dtype: "DType | str | None" = None, device: "str | Device | None" = None) -> Var:
    """Values ``start, start + step, …`` below ``stop`` (as Python's range, for floats)."""
    if step == 0:
        raise ValueError("range: step must not be zero")
    backend, dt = _place(device, dtype)
    array = backend.xp.arange(float(start), float(stop), float(step), dtype=backend.dtype(dt), device=backend.native_device)
    return _leaf(backend, dt, array)


