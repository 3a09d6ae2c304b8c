"""The backend registry, devices, default-device selection, constructors and the install hint."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika.backends import Backend, BackendUnavailableError
from neuronika.backends.numpy import NumpyBackend


def test_available_lists_both_cpu_backends():
    names = nk.backends.available()
    assert "numpy" in names and "array_api_strict" in names


@pytest.mark.parametrize(
    "spec, shown",
    [("cpu", "cpu"), ("numpy", "cpu"), ("cuda", "cuda:0"), ("cuda:1", "cuda:1"), ("array_api_strict", "array_api_strict"),
     ("array_api_strict:1", "array_api_strict:1")],
)
def test_device_strings_parse_and_print(spec, shown):
    assert str(nk.Device(spec)) == shown
    assert nk.Device(spec) == nk.Device(shown)


@pytest.mark.parametrize("spec, message", [("tpu", "unknown device"), ("cpu:x", "index"), ("cuda:-1", "index")])
def test_bad_device_strings_raise(spec, message):
    with pytest.raises(ValueError, match=message):
        nk.Device(spec)


WITHOUT_CUPY = """
import sys
import neuronika as nk
try:
    nk.zeros(3, device="cuda")
except nk.backends.BackendUnavailableError as error:
    print(error)
assert "cupy" not in nk.backends.available()
assert "cupy" not in sys.modules  # nothing in the CPU path imported CuPy
"""


def test_cuda_without_cupy_raises_with_the_install_hint():
    # in a fresh process whose path has neither CuPy nor the test suite's CuPy stand-in
    root = pathlib.Path(__file__).resolve().parents[1]
    probe = subprocess.run([sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('cupy') is None)"],
                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(root)), timeout=60)
    if probe.stdout.strip() != "True":
        pytest.skip("CuPy is installed here")
    done = subprocess.run([sys.executable, "-c", WITHOUT_CUPY], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(root)), timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"neuronika\[cuda12\].*\[cuda13\]", done.stdout)


def test_default_device_block_restores_the_previous_default_even_on_error():
    assert nk.get_default_device() == nk.Device("cpu")
    with pytest.raises(KeyError):
        with nk.default_device("array_api_strict"):
            assert nk.ones(2).device == nk.Device("array_api_strict")
            raise KeyError("boom")
    assert nk.ones(2).device == nk.Device("cpu")


def test_set_default_device():
    try:
        nk.set_default_device("array_api_strict")
        assert nk.zeros(1).device == nk.Device("array_api_strict")
        with nk.default_device("cpu"):
            assert nk.zeros(1).device == nk.Device("cpu")
    finally:
        nk.set_default_device("cpu")


def test_environment_variable_chooses_the_default_device():
    code = "import neuronika as nk; print(nk.ones(2).device)"
    env = dict(os.environ, NEURONIKA_DEVICE="array_api_strict")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "array_api_strict"


def test_a_third_party_backend_can_be_registered():
    class LoggingNumpy(NumpyBackend):
        name = "logging_numpy"

    nk.backends.register("logging_numpy", lambda index: LoggingNumpy())
    try:
        assert "logging_numpy" in nk.backends.available()
        x = nk.ones((2, 2), device="logging_numpy").requires_grad()
        y = (x * 3.0).sum()
        y.forward()
        y.backward(1.0)
        assert isinstance(nk.backends.get("logging_numpy"), Backend)
        assert str(x.device) == "logging_numpy"
        np.testing.assert_allclose(x.grad, np.full((2, 2), 3.0))
    finally:
        nk.backends._FACTORIES.pop("logging_numpy")
        nk.backends._PROBES.pop("logging_numpy", None)
        nk.backends._INSTANCES.pop(("logging_numpy", 0), None)


# --- constructors --------------------------------------------------------------------------------

def test_every_leaf_constructor(device):
    def check(var, expected, dtype=nk.float32):
        assert var.dtype == dtype and var.device == nk.Device(device) and var.is_leaf
        np.testing.assert_allclose(var.numpy(), expected, rtol=1e-6)

    check(nk.zeros((2, 3), device=device), np.zeros((2, 3)))
    check(nk.ones(4, device=device), np.ones(4))
    check(nk.full((2, 2), 7.5, device=device), np.full((2, 2), 7.5))
    check(nk.eye(3, device=device), np.eye(3))
    check(nk.linspace(0, 1, 5, device=device), np.linspace(0, 1, 5))
    check(nk.logspace(0, 3, 4, device=device), np.logspace(0, 3, 4))
    check(nk.logspace(0, 3, 4, base=2.0, device=device), np.logspace(0, 3, 4, base=2.0))
    check(nk.geomspace(1, 1000, 4, device=device), np.geomspace(1, 1000, 4))
    check(nk.geomspace(-1, -16, 5, device=device), np.geomspace(-1, -16, 5))
    check(nk.range(0, 1, 0.25, device=device), np.arange(0, 1, 0.25))
    check(nk.zeros(3, dtype="float64", device=device), np.zeros(3), nk.float64)
    if device == "array_api_strict":  # the Array API standard has no float16
        with pytest.raises(TypeError, match="array_api_strict backend has no float16"):
            nk.ones(3, dtype=nk.float16, device=device)
    else:
        check(nk.ones(3, dtype=nk.float16, device=device), np.ones(3), nk.float16)
    uniform = nk.rand((100, 100), device=device).numpy()
    assert uniform.shape == (100, 100) and 0 <= uniform.min() and uniform.max() < 1
    assert abs(uniform.mean() - 0.5) < 0.02
    normal = nk.randn((100, 100), dtype="float64", device=device).numpy()
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05


def test_from_ndarray_dtype_rules(device):
    assert nk.from_ndarray(np.ones(2, dtype=np.float64), device=device).dtype == nk.float64
    # integer and bool arrays keep their kind (indices, masks); lists have no dtype: float32
    assert nk.from_ndarray(np.ones(2, dtype=np.int64), device=device).dtype == nk.int64
    assert nk.from_ndarray(np.ones(2, dtype=np.int32), device=device).dtype == nk.int32
    assert nk.from_ndarray(np.ones(2, dtype=np.uint8), device=device).dtype == nk.int64
    assert nk.from_ndarray(np.ones(2, dtype=bool), device=device).dtype == nk.bool
    assert nk.from_ndarray([[1, 2], [3, 4]], device=device).dtype == nk.float32
    assert nk.from_ndarray(np.ones(2), dtype="float32", device=device).dtype == nk.float32
    source = np.ones(2)
    var = nk.from_ndarray(source, device=device)
    source[0] = 5.0  # a copy: later writes to the source do not leak in
    np.testing.assert_allclose(var.numpy(), [1.0, 1.0])


def test_from_ndarray_takes_arrays_of_other_libraries(device):
    import array_api_strict

    strict_array = array_api_strict.asarray([1.0, 2.0], dtype=array_api_strict.float64)
    var = nk.from_ndarray(strict_array, device=device)
    assert var.dtype == nk.float64
    np.testing.assert_allclose(var.numpy(), [1.0, 2.0])


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: nk.zeros(-1), ValueError, "non-negative"),
        (lambda: nk.zeros((2, 2), dtype="uint8"), TypeError, "unsupported dtype"),
        (lambda: nk.rand((2, 2), dtype="int32"), TypeError, "not floating"),
        (lambda: nk.geomspace(0, 10, 3), ValueError, "non-zero"),
        (lambda: nk.geomspace(-1, 10, 3), ValueError, "same sign"),
        (lambda: nk.range(0, 1, 0), ValueError, "step"),
    ],
)
def test_constructor_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_dtype_of_names_neuronika_dtypes_and_rejects_others(device):
    backend = nk.backends.get(device)
    assert backend.dtype_of(nk.ones(2, device=device).data) == nk.float32
    assert backend.dtype_of(nk.ones(2, dtype="float64", device=device).data) == nk.float64
    assert backend.dtype_of(backend.xp.asarray([1, 2], dtype=backend.xp.int32)) == nk.int32
    assert backend.dtype_of(backend.xp.asarray([1, 2], dtype=backend.xp.uint8)) is None
