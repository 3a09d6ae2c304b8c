"""Every test that takes the ``device`` fixture runs once per backend: numpy and array_api_strict
always, cupy where a CUDA GPU is present (skipped with the reason elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import backend_params


@pytest.fixture(params=backend_params())
def device(request: pytest.FixtureRequest) -> str:
    """The device string of the backend under test ("numpy", "array_api_strict" or "cupy")."""
    return "cpu" if request.param == "numpy" else request.param


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded host generator for test inputs."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    nk.manual_seed(0)
