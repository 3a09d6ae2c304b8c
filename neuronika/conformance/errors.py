"""Conformance area ``errors``: on the backend, bad input raises neuronika's errors when the op is
built (naming the op, shapes, dtypes or devices, and the fix), never an error from inside the
array library and never wrong numbers."""

from __future__ import annotations

import re
from typing import Any, Callable

from .. import backends
from ..autograd import from_ndarray, ones
from ._report import Check, Skip, passed


def _raises(kind: type[BaseException], pattern: str, build: Callable[[], Any]) -> None:
    try:
        build()
    except kind as error:
        if not re.search(pattern, str(error)):
            raise AssertionError(f"{kind.__name__} raised, but its message {str(error)[:160]!r} does not match {pattern!r}") from None
        return
    except Exception as error:
        raise AssertionError(f"expected {kind.__name__} matching {pattern!r}, got {type(error).__name__}: {str(error)[:160]}") from None
    raise AssertionError(f"expected {kind.__name__} matching {pattern!r}; nothing was raised")


def _dtype_mismatch(check: Check) -> tuple[str, str]:
    declared = check.backend.capabilities()["float_dtypes"]
    other = next((name for name in declared if name != "float32"), None)
    if other is None:
        raise Skip("the backend has a single floating dtype")
    _raises(TypeError, r"add: operands have different dtypes.*astype",
            lambda: ones(2, device=check.device) + ones(2, dtype=other, device=check.device))
    return passed(f"float32 + {other}")


def _device_mismatch(check: Check) -> tuple[str, str]:
    other = "array_api_strict" if backends.Device(check.device) == backends.Device("cpu") else "cpu"
    if backends.Device(other).backend_name not in backends.available():
        raise Skip(f"no second device ({other} is unavailable)")
    _raises(ValueError, r"mul: operands live on different devices.*\.to\(",
            lambda: ones(2, device=check.device) * ones(2, device=other))
    return passed(f"{check.device} * {other}")


def _missing_dtype(check: Check) -> tuple[str, str]:
    missing = sorted({"float16", "float32", "float64"} - set(check.backend.capabilities()["float_dtypes"]))
    if not missing:
        raise Skip("the backend has float16, float32 and float64")
    _raises(TypeError, rf"has no {missing[0]}", lambda: ones(2, dtype=missing[0], device=check.device))
    return passed(f"asking for {missing[0]}")


def _shape_errors(check: Check) -> tuple[str, str]:
    device = check.device
    _raises(ValueError, r"mm: cannot multiply \(3, 4\) by \(5, 2\)", lambda: ones((3, 4), device=device).mm(ones((5, 2), device=device)))
    _raises(ValueError, r"add: shapes \(2, 3\) and \(4, 3\) do not broadcast", lambda: ones((2, 3), device=device) + ones((4, 3), device=device))
    leaf = ones((2, 2), device=device)
    _raises(ValueError, r"assign", lambda: leaf.assign(from_ndarray([1.0, 2.0, 3.0])))
    return passed()


def _negative_steps(check: Check) -> tuple[str, str]:
    """The declaration holds: negative steps work, or they raise neuronika's error at build."""
    x = from_ndarray([[1.0, 2.0, 3.0]], device=check.device)
    if check.backend.negative_slice_steps:
        if x[:, ::-1].forward().numpy().tolist() != [[3.0, 2.0, 1.0]]:
            raise AssertionError("x[:, ::-1] is not x reversed")
        return passed("x[:, ::-1] works")
    _raises(ValueError, r"getitem: .* take no negative slice step .*flip", lambda: ones((3, 4), device=check.device)[:, ::-1])
    return passed("x[:, ::-1] raises at build, saying to flip")


CHECKS = {
    "errors": [
        ("dtype mismatch", _dtype_mismatch),
        ("device mismatch", _device_mismatch),
        ("missing dtype", _missing_dtype),
        ("shape errors at build", _shape_errors),
        ("negative slice steps as declared", _negative_steps),
    ],
}
