"""Helpers shared by the conformance checks: host inputs and comparisons of host arrays.

Host arrays are NumPy arrays handed out by the NumPy backend (``to_host``, the test generator);
the checks use only their methods, so nothing here imports NumPy.
"""

from __future__ import annotations

from typing import Any

from .. import backends
from ..testing import backend_rng


def host_rng(seed: int = 0) -> Any:
    """A seeded host generator (NumPy's) for inputs; never the graph's."""
    return backend_rng(seed)


def host(array: Any) -> Any:
    """A host (NumPy) copy of an array of any backend in use."""
    return backends.to_host(array)


def assert_close(actual: Any, expected: Any, what: str, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """Raise AssertionError naming ``what`` unless two host arrays agree in shape and values
    (NaN matching NaN)."""
    actual, expected = host_of(actual), host_of(expected)
    if tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    actual = actual.astype("float64")
    expected = expected.astype("float64")
    both_nan = (actual != actual) & (expected != expected)
    error = abs(actual - expected)
    bad = ~((error <= atol + rtol * abs(expected)) | both_nan)
    if bad.any():
        worst = float(error[bad].max())
        raise AssertionError(f"{what}: {int(bad.sum())} of {actual.size} elements differ (worst by {worst:.3g})")


def host_of(value: Any) -> Any:
    """``value`` as a host array (a variable's values, a backend array, or already host)."""
    if hasattr(value, "numpy") and hasattr(value, "_node"):
        return value.numpy()
    cpu = backends.get("cpu")
    if cpu.owns(value):
        return value
    return host(value)


def tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol) for comparing two implementations in ``dtype``."""
    return {"float64": (1e-9, 1e-11), "float32": (2e-5, 1e-6), "float16": (2e-2, 2e-3)}[dtype]
