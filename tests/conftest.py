"""Every test that takes the ``device`` fixture runs once per backend: numpy and array_api_strict
always; cupy on ``cuda:0`` (and ``cuda:1`` where there are two GPUs) — on the real CuPy where a
CUDA GPU is present, otherwise on the NumPy-backed CuPy stand-in ``tests/_fake_cupy`` (see
docs/devices.md). ``NEURONIKA_TEST_FAKE_CUPY=0`` leaves the stand-in out (cupy cases then skip
without a GPU); it is never used where the real CuPy has a GPU."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

STAND_IN = pathlib.Path(__file__).resolve().parent / "_fake_cupy"


def _real_cupy_has_a_gpu() -> bool:
    """Whether an installed CuPy sees a GPU (asked in a child process: importing the real CuPy
    here would keep the stand-in from loading under the same name)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    probe = "import cupy; print(cupy.cuda.runtime.getDeviceCount())"
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip().isdigit() and int(done.stdout) > 0


USE_STAND_IN = os.environ.get("NEURONIKA_TEST_FAKE_CUPY", "1") != "0" and not _real_cupy_has_a_gpu()
if USE_STAND_IN:
    sys.path.insert(0, str(STAND_IN))

import neuronika as nk  # noqa: E402 - after the stand-in is on the path
from neuronika.testing import backend_params  # noqa: E402


def pytest_report_header(config: pytest.Config) -> str:
    if USE_STAND_IN:
        return f"cupy: the NumPy-backed CuPy stand-in {STAND_IN} (no GPU with CuPy on this machine)"
    return "cupy: " + ("the real CuPy" if "cupy" in nk.backends.available() else "absent (cupy cases skip)")


@pytest.fixture(params=backend_params())
def device(request: pytest.FixtureRequest) -> str:
    """The device string of the backend under test ("cpu", "array_api_strict", "cupy" or "cuda:1")."""
    return "cpu" if request.param == "numpy" else request.param


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded host generator for test inputs."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    nk.manual_seed(0)
