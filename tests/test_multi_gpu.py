"""Multi-GPU placement: whatever neuronika makes for ``cuda:1`` lives on GPU 1, whichever GPU the
caller has current (GPU 0 here, as in a fresh process). Runs where CuPy sees two GPUs: a real pair,
or the CuPy stand-in ``tests/_fake_cupy`` (which enforces CuPy's rule that a kernel refuses arrays
of another GPU, peer access off)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim
from neuronika.autograd.node import topological_order

cupy = pytest.importorskip("cupy", reason="needs CuPy (or its stand-in)")
from neuronika.backends.cupy import device_count  # noqa: E402

pytestmark = pytest.mark.skipif(device_count() < 2, reason="needs two CUDA devices (a real pair, or the stand-in)")
ROOT = pathlib.Path(__file__).resolve().parents[1]
GPU = "cuda:1"


def on_gpu1(array) -> bool:
    return isinstance(array, cupy.ndarray) and array.device.id == 1


@pytest.fixture(autouse=True)
def _gpu0_current():
    with cupy.cuda.Device(0):
        yield


def test_every_constructor_places_its_leaf_on_the_named_gpu():
    made = [
        nk.zeros((2, 3), device=GPU), nk.ones(3, device=GPU), nk.full((2, 2), 0.5, device=GPU),
        nk.eye(3, device=GPU), nk.linspace(0, 1, 5, device=GPU), nk.logspace(0, 2, 3, device=GPU),
        nk.geomspace(1, 8, 4, device=GPU), nk.range(0, 3, device=GPU), nk.rand((2, 2), device=GPU),
        nk.randn(4, device=GPU), nk.from_ndarray(np.arange(6.0), device=GPU), nk.from_ndarray([1.0, 2.0], device=GPU),
        nk.from_ndarray(cupy.arange(4, dtype=cupy.float32), device=GPU),  # a CuPy array of GPU 0
    ]
    for var in made:
        assert on_gpu1(var.data) and var.device == nk.Device(GPU)
    with nk.default_device(GPU):
        assert on_gpu1(nk.zeros(2).data)


def _model():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, device=GPU)
            self.cell = nn.LSTMCell(8, 4, device=GPU)
            self.fc = nn.Linear(4, 3, device=GPU)

        def forward(self, x):
            features = self.conv(x).relu().flatten(1)  # (N, 2·2·2)
            state = (nk.zeros((x.shape[0], 4), device=GPU), nk.zeros((x.shape[0], 4), device=GPU))
            hidden, _ = self.cell(state, features)
            return self.fc(hidden.dropout(0.2))

    return Net()


def test_parameters_gradients_optimizer_state_graph_buffers_and_checkpoints_live_on_the_gpu(tmp_path):
    model = _model()
    for init in (nn.init.xavier_uniform, nn.init.kaiming_normal, nn.init.uniform, nn.init.normal, nn.init.dirac):
        init(model.conv.weight)
    nn.init.zeros(model.conv.bias)
    nn.init.ones(model.cell.parameters()[0])
    nn.init.eye(model.fc.weight)
    nn.init.constant(model.fc.bias, 0.1)
    x = nk.rand((5, 1, 4, 4), device=GPU)
    target = nk.from_ndarray([0, 2, 1, 0, 2], device=GPU)
    loss = nn.loss.nll_loss(model(x).log_softmax(1), target)
    adam = optim.AMSGrad(model.parameters()[:4], lr=0.01)
    sgd = optim.SGD(model.parameters()[4:], lr=0.1, momentum=0.9, penalty=optim.L2(0.01))
    for _ in range(2):
        loss.forward()
        loss.backward()
        adam.step()
        sgd.step()
    nodes = topological_order(loss._node)
    for node in nodes:  # every value and gradient the graph keeps between passes (a replayed
        # plan releases those of intermediates no handle refers to: see autograd/lifetimes.py)
        assert node.value is not None or not (node.is_leaf or node is loss._node), type(node).__name__
        assert node.value is None or on_gpu1(node.value), type(node).__name__
        assert node.grad is None or on_gpu1(node.grad), type(node).__name__
    for param in model.parameters():
        assert on_gpu1(param.data) and on_gpu1(param.grad) and param.device == nk.Device(GPU)
    model_state, adam_state, sgd_state = model.state_dict(), adam.state_dict(), sgd.state_dict()
    buffers = [array for state in (adam_state, sgd_state) for entry in state["state"] for array in entry.values()]
    assert len(buffers) >= 4 + 3 and all(on_gpu1(array) for array in buffers)
    assert all(on_gpu1(array) for array in model_state.values())
    path = tmp_path / "checkpoint.npz"
    nk.save({"model": model_state, "adam": adam_state, "sgd": sgd_state}, path)
    restored = nk.load(path, device=GPU)
    assert all(on_gpu1(array) for array in restored["model"].values())
    assert all(on_gpu1(array) for entry in restored["adam"]["state"] for array in entry.values())
    fresh = _model()
    fresh.load_state_dict(restored["model"])
    fresh_adam = optim.AMSGrad(fresh.parameters()[:4], lr=0.01)
    fresh_adam.load_state_dict(restored["adam"])
    assert all(on_gpu1(p.data) for p in fresh.parameters())
    assert all(on_gpu1(a) for entry in fresh_adam.state_dict()["state"] for a in entry.values())
    np.testing.assert_array_equal(fresh.fc.weight.numpy(), model.fc.weight.numpy())
    model.zero_grad()
    loss.forward()
    loss.backward()
    assert all(on_gpu1(p.grad) for p in model.parameters())


def test_assignments_and_datasets_stay_on_the_gpu():
    w = nk.zeros((2, 3), device=GPU).requires_grad()
    w.assign(np.ones((2, 3)))
    assert on_gpu1(w.data)
    param = nn.Linear(3, 2, device=GPU).parameters()[0]
    param.data = np.ones((2, 3))
    param.grad = np.full((2, 3), 2.0)
    assert on_gpu1(param.data) and on_gpu1(param.grad)
    records, labels = np.arange(12.0).reshape(6, 2), np.arange(6.0).reshape(6, 1)
    data = nk.data.LabeledDataset(records, labels, device=GPU).shuffle(seed=0)
    for batch_records, batch_labels in data.batch(4):
        assert on_gpu1(batch_records) and on_gpu1(batch_labels)
    train, test = data.split([4, 2])
    assert on_gpu1(train.records.data) and on_gpu1(test.labels.data)


def test_a_broadcast_gradient_crosses_gpus_in_the_backward_of_to():
    # sum's backward hands `.to` a broadcast (stride-0) gradient: CuPy copies it between GPUs only
    # once it is contiguous
    w = nk.rand((3, 4), dtype="float64", device=GPU).requires_grad()
    loss = w.to("cuda:0").sum()
    loss.forward()
    loss.backward(1.0)
    assert on_gpu1(w.grad)
    np.testing.assert_array_equal(w.grad.get(), np.ones((3, 4)))


def test_from_ndarray_copies_a_strided_slice_of_another_gpu():
    source = cupy.arange(12, dtype=cupy.float64).reshape(3, 4)[:, ::2]  # on GPU 0, not contiguous
    x = nk.from_ndarray(source, device=GPU)
    assert on_gpu1(x.data)
    np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(3, 4)[:, ::2])


class _CudaProducer:
    """A DLPack producer on GPU 0 that is not a CuPy array (as a PyTorch CUDA tensor is)."""

    def __init__(self, array) -> None:
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_a_dlpack_import_from_another_gpu_lands_on_the_named_gpu():
    producer = _CudaProducer(cupy.arange(6, dtype=cupy.float32).reshape(2, 3))
    assert producer.__dlpack_device__()[1] == 0
    x = nk.from_ndarray(producer, device=GPU)
    assert on_gpu1(x.data)
    np.testing.assert_array_equal(x.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_the_cnn_example_trains_and_checkpoints_on_the_second_gpu(tmp_path):
    if not getattr(cupy, "STAND_IN", False):
        pytest.skip("runs the example on the stand-in; on real GPUs run it by hand (docs/devices.md)")
    stand_in = str(pathlib.Path(cupy.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([stand_in, str(ROOT)]), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "digits_cnn.py"), "--device", GPU, "--epochs", "1", "--limit", "64",
         "--no-progress", "--output", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    checkpoint = nk.load(tmp_path / "digits_cnn.npz", device=GPU)
    assert all(on_gpu1(array) for array in checkpoint["model"].values())
