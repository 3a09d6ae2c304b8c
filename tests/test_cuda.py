"""GPU-only checks of the CuPy backend (skipped, with the reason, where CuPy or a GPU is missing),
and the one-line refusal where they are. The rest of the suite runs on cupy through the `device`
fixture."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim

HAS_GPU = "cupy" in nk.backends.available()  # a real GPU, or the CuPy stand-in (tests/_fake_cupy)
STAND_IN = HAS_GPU and getattr(sys.modules.get("cupy"), "STAND_IN", False)
gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU with CuPy on this machine (pip install neuronika[cuda12] or [cuda13])")
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(HAS_GPU and not STAND_IN, reason="a GPU is present: the refusal cannot be observed")
def test_examples_refuse_cuda_in_one_line_with_the_install_hint():
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # without the stand-in
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_cnn.py"), "--device", "cuda"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "neuronika[cuda12]" in lines[0]


@gpu
def test_parameters_and_optimizer_state_live_on_the_gpu():
    import cupy

    model = nn.Linear(4, 3)
    model.to("cuda")
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    x = nk.rand((5, 4), device="cuda")
    loss = model(x).pow(2).mean()
    loss.forward()
    loss.backward(1.0)
    optimizer.step()
    for param in model.parameters():
        assert isinstance(param.data, cupy.ndarray) and param.device == nk.Device("cuda:0")
        assert isinstance(param.grad, cupy.ndarray)
    state = optimizer.state_dict()
    arrays = [value for entry in state["state"] for value in entry.values() if hasattr(value, "shape")]
    assert arrays and all(isinstance(array, cupy.ndarray) for array in arrays)


@gpu
def test_cuda_index_selects_the_gpu():
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    last = f"cuda:{count - 1}"
    x = nk.ones(3, device=last)
    assert x.data.device.id == count - 1
    assert str(x.device) == last
    with pytest.raises(nk.backends.BackendUnavailableError, match="does not exist"):
        nk.ones(3, device=f"cuda:{count}")


@gpu
def test_host_device_round_trips_keep_values_and_gradients():
    values = np.random.default_rng(0).standard_normal((3, 4))
    on_gpu = nk.from_ndarray(values, device="cuda")
    np.testing.assert_array_equal(on_gpu.numpy(), values)
    w = nk.from_ndarray(values, device="cpu").requires_grad()
    loss = (w.to("cuda") * 2.0).sum()
    loss.forward()
    loss.backward(1.0)
    np.testing.assert_array_equal(w.grad, np.full((3, 4), 2.0))
    back = on_gpu.to("cpu")
    np.testing.assert_array_equal(back.numpy(), values)


@gpu
def test_dlpack_interchange_and_module_moves():
    import cupy

    source = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    x = nk.from_ndarray(source, device="cuda")
    np.testing.assert_array_equal(x.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    model = nn.Linear(3, 2)
    before = {name: array.copy() for name, array in model.state_dict().items()}
    model.to("cuda").to("cpu")
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


@gpu
def test_float64_and_float32_on_the_gpu():
    for dtype in ("float32", "float64"):
        w = nk.rand((3, 3), dtype=dtype, device="cuda").requires_grad()
        loss = w.mm(w).tanh().sum()
        loss.forward()
        loss.backward(1.0)
        assert w.grad.dtype == np.dtype(dtype)
