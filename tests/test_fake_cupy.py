"""The CuPy stand-in (tests/_fake_cupy) is as strict as CuPy 14 on every rule it models — a test
passing on it would fail on a GPU only for what it does not model (docs/devices.md) — and a CuPy
without its CUDA libraries becomes one BackendUnavailableError line. Runs only on the stand-in."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika.backends import BackendUnavailableError

cupy = pytest.importorskip("cupy")
pytestmark = pytest.mark.skipif(not getattr(cupy, "STAND_IN", False), reason="checks the CuPy stand-in itself")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_creation_places_arrays_on_the_current_device_and_takes_no_device_argument():
    assert cupy.cuda.runtime.getDeviceCount() == 2
    assert cupy.zeros(3).device == cupy.cuda.Device(0)
    with cupy.cuda.Device(1):
        assert cupy.zeros(3).device.id == 1 and cupy.asarray(np.ones(2)).device.id == 1
        with cupy.cuda.Device(0):
            assert cupy.ones(2).device.id == 0
        assert cupy.cuda.runtime.getDevice() == 1
    assert cupy.cuda.runtime.getDevice() == 0
    with pytest.raises(TypeError, match="device"):
        cupy.zeros(3, device=cupy.cuda.Device(1))  # CuPy 14's zeros(shape, dtype=float, order='C')
    with pytest.raises(cupy.cuda.runtime.CUDARuntimeError, match="invalid device ordinal"):
        with cupy.cuda.Device(2):
            pass


def test_a_kernel_refuses_arrays_of_another_device_unless_peer_access_is_on(monkeypatch):
    monkeypatch.setattr(cupy._state, "PEER_ACCESS", [False])
    a = cupy.ones(3)
    with cupy.cuda.Device(1):
        b = cupy.ones(3)
        view = a[1:]  # a view launches no kernel
        assert view.device.id == 0
        message = r"resides \(0\) is different from the current device \(1\). Peer access is unavailable"
        for kernel in (lambda: a + b, lambda: a * 2.0, lambda: cupy.exp(a), lambda: cupy.sum(a), lambda: a.astype("float32")):
            with pytest.raises(ValueError, match=message):
                kernel()
        monkeypatch.setattr(cupy._state, "PEER_ACCESS", [True])
        with pytest.warns(cupy._util.PerformanceWarning, match="Peer access has been activated"):
            assert (a + b).device.id == 1


def test_the_host_is_reached_only_through_get():
    a = cupy.arange(3, dtype=cupy.float64)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    host = a.get()
    assert type(host) is np.ndarray and host.tolist() == [0.0, 1.0, 2.0]
    assert float(a[1]) == 1.0  # scalars convert (through a device-to-host copy)


def test_copies_between_devices_need_a_contiguous_source():
    broadcast = cupy.broadcast_to(cupy.ones(3), (2, 3))
    with cupy.cuda.Device(1):
        with pytest.raises(NotImplementedError, match="cannot copy non-contiguous array between devices"):
            cupy.array(broadcast, copy=True)  # order 'K' keeps the stride-0 layout
        copied = cupy.array(broadcast, copy=True, order="C")
        assert copied.device.id == 1 and copied.get().tolist() == [[1.0] * 3] * 2
        assert cupy.asarray(cupy.ones(2)).device.id == 1  # asarray of another GPU's array copies


def test_random_state_belongs_to_the_device_it_was_made_on():
    with cupy.cuda.Device(1):
        generator = cupy.random.RandomState(0)
        assert generator.random_sample((2,), dtype=cupy.float32).device.id == 1
    with pytest.raises(ValueError, match="device 1"):
        generator.standard_normal((2,))


def test_every_modelled_name_has_cupys_signature():
    from cupy._signatures import CUPY_VERSION, SIGNATURES

    assert CUPY_VERSION.startswith("14.")
    assert SIGNATURES["cupy.zeros"] == "function(shape, dtype=None, order='C')"
    assert "order='K'" in SIGNATURES["cupy.array"]
    with pytest.raises(TypeError, match="unexpected keyword"):
        cupy.ones((2, 2)).reshape((4,), device=0)


@pytest.fixture
def missing(monkeypatch):
    """Make CUDA libraries fail to load, with fresh backends (the cached ones loaded them)."""
    def make(*names: str) -> None:
        monkeypatch.setattr(cupy._state, "MISSING_LIBRARIES", set(names))
        monkeypatch.setattr(nk.backends, "_INSTANCES", {})

    return make


@pytest.mark.parametrize("library, soname", [("curand", "libcurand"), ("nvrtc", "libnvrtc"), ("cublas", "libcublas")])
def test_a_missing_cuda_library_is_one_backend_unavailable_line_with_the_install_hint(missing, library, soname):
    missing(library)
    with pytest.raises(BackendUnavailableError) as caught:
        nk.zeros(3, device="cuda:1")
    message = str(caught.value)
    assert "\n" not in message and soname in message and "cuda:1" in message
    assert 'neuronika[cuda12]' in message and "cupy-cuda12x[ctk]" in message
    assert "cupy" not in nk.backends.available()


def test_an_example_refuses_a_gpu_without_cuda_libraries_in_one_line():
    stand_in = str(pathlib.Path(cupy.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([stand_in, str(ROOT)]), NEURONIKA_FAKE_CUPY_MISSING="curand")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_mlp.py"), "--device", "cuda"],
                          capture_output=True, text=True, env=env, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "libcurand" in lines[0] and "[ctk]" in lines[0], done.stderr


def test_the_cuda_extras_pull_the_cuda_libraries():
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads pyproject.toml")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["cuda12"] == ["cupy-cuda12x[ctk]>=14"]
    assert extras["cuda13"] == ["cupy-cuda13x[ctk]>=14"]
