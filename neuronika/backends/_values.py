"""What a user value may be: the one place that decides it.

Every door through which a user's numbers enter a graph — ``from_ndarray``, ``Var.assign``,
``Param.data = ...``, ``Param.grad = ...``, a ``backward`` seed, a loss target given as an array,
a dataset, ``load_state_dict`` — goes through :func:`inspect` (what kind of number is it?) and
:func:`to_array` (a private copy on a backend).

Accepted: Python and NumPy real numbers and bools, nested lists of them, and real, integer or
bool arrays of NumPy, CuPy, array_api_strict or any library speaking DLPack. Refused with a
``TypeError`` naming what was passed and what is accepted (instead of a NaN, a dropped imaginary
part or a silent cast): ``None``, complex numbers, datetimes and timedeltas, strings, bytes,
objects, masked arrays (the masked entries have no number) and ``longdouble`` (a float wider than
float64, which no backend holds).

The kind of an accepted value (``"float"``, ``"int"`` or ``"bool"``) and, for a dtype neuronika
holds (float16/32/64, int32, int64, bool), that dtype are reported, so the callers choose the
dtype (``from_ndarray`` keeps an array's).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from ._base import _DTYPES, Backend, DType

ACCEPTED = (
    "real numbers: a Python or NumPy int, float or bool, a nested list of them, or a real, "
    "integer or bool array (NumPy, CuPy, array_api_strict, DLPack)"
)
_INTEGERS = {f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)}
_HINTS = {
    "complex": "take the part you mean explicitly (array.real, array.imag or abs(array))",
    "datetime": "convert the times to numbers explicitly, e.g. (t - t0) / np.timedelta64(1, 's')",
    "timedelta": "convert the durations to numbers explicitly, e.g. d / np.timedelta64(1, 's')",
    "longdouble": "no backend holds floats wider than float64: convert with array.astype('float64')",
}


class Value(NamedTuple):
    """An accepted user value: ``obj`` ready for a backend's ``asarray`` (lists become a NumPy
    array), its ``kind`` (``"float"``, ``"int"`` or ``"bool"``) and, for an array of a dtype
    neuronika holds, that ``dtype`` (None otherwise)."""

    obj: Any
    kind: str
    dtype: DType | None


def _describe(obj: Any) -> str:
    dtype = getattr(obj, "dtype", None)
    if dtype is not None and hasattr(obj, "shape"):
        return f"a {type(obj).__name__} of dtype {_dtype_name(dtype)}"
    text = repr(obj)
    return f"{type(obj).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = str(dtype)
    return name.rsplit(".", 1)[-1]


def _refuse(op: str, obj: Any, reason: str = "") -> TypeError:
    hint = f"; {reason}" if reason else ""
    return TypeError(f"{op}: cannot use {_describe(obj)} as a value{hint}. Accepted: {ACCEPTED}")


def _kind_of_dtype(op: str, obj: Any, dtype: Any) -> Value:
    name = _dtype_name(dtype)
    if name in _DTYPES:  # a dtype neuronika holds as it is: floating, int32, int64 or bool
        known = _DTYPES[name]
        return Value(obj, {"f": "float", "i": "int", "b": "bool"}[known.kind], known)
    if name in _INTEGERS:
        return Value(obj, "int", None)
    if name in ("bool", "bool_"):
        return Value(obj, "bool", None)
    for prefix in ("complex", "datetime", "timedelta"):
        if name.startswith(prefix):
            raise _refuse(op, obj, _HINTS[prefix])
    if name in ("float128", "float96", "longdouble", "longfloat"):
        raise _refuse(op, obj, _HINTS["longdouble"])
    raise _refuse(op, obj, "convert it to a real-valued array first")


#: a plain NumPy array of a dtype neuronika holds -> its Value's kind and dtype (the common
#: case of ``assign``: one lookup instead of the checks below, 3.3 → 0.3 µs)
_NUMPY_KINDS: dict[Any, tuple[str, DType]] = {
    np.dtype(name): ({"f": "float", "i": "int", "b": "bool"}[known.kind], known) for name, known in _DTYPES.items()
}


def inspect(op: str, obj: Any) -> Value:
    """Classify a user value, or raise a TypeError naming ``op``, what was passed and what is
    accepted. Runs once per value (metadata only: no pass over the elements, except that nested
    lists are turned into one NumPy array to learn their kind)."""
    if type(obj) is np.ndarray:
        known = _NUMPY_KINDS.get(obj.dtype)
        if known is not None:
            return Value(obj, known[0], known[1])
    if obj is None:
        raise _refuse(op, obj, "a missing value has no number")
    if isinstance(obj, np.ma.MaskedArray):
        raise _refuse(
            op, obj, "its masked entries have no number: fill them first (array.filled(value)) "
            "or pass array.data to use the values under the mask"
        )
    if isinstance(obj, (bool, np.bool_)):
        return Value(obj, "bool", None)
    if isinstance(obj, (list, tuple)):
        try:
            host = np.asarray(obj)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{op}: cannot read the nested list as a rectangular array of numbers ({error}). Accepted: {ACCEPTED}") from None
        # nested Python numbers have no dtype of their own: like a Python number, the default
        return inspect(op, host)._replace(obj=host, dtype=None)
    dtype = getattr(obj, "dtype", None)
    if dtype is not None and not isinstance(dtype, (str, bytes)):
        return _kind_of_dtype(op, obj, dtype)
    if isinstance(obj, numbers.Integral):
        return Value(int(obj), "int", None)
    if isinstance(obj, numbers.Real):
        return Value(float(obj), "float", None)
    if isinstance(obj, complex):
        raise _refuse(op, obj, _HINTS["complex"])
    if hasattr(obj, "__dlpack__") or hasattr(obj, "__array__"):
        return Value(obj, "float", None)  # a foreign array without a dtype attribute: the backend decides
    raise _refuse(op, obj)


def to_array(backend: Backend, obj: Any, dtype: DType, op: str, copy: bool = True) -> Any:
    """A ``backend`` array of ``dtype`` holding the user value ``obj`` (checked by
    :func:`inspect`). With ``copy`` (the default) the result never shares memory with ``obj``, so
    later writes on either side are not seen by the other."""
    value = inspect(op, obj)
    try:
        return backend.asarray_copy(value.obj, dtype) if copy else backend.asarray(value.obj, dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{op}: cannot convert {_describe(obj)} to a {dtype} array on {backend.device}: {error}") from error
