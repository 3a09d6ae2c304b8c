"""Random-generator state (issue 12, item 17): ``nk.get_rng_state()`` / ``nk.set_rng_state()``
round-trip through checkpoints, and training resumed in a fresh process from a checkpoint that
holds it ends with the very parameters of an uninterrupted run (dropout masks and shuffles
included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import neuronika as nk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def draws(device: str) -> list:
    """One of each kind of random draw the package makes on a device."""
    data = nk.data.LabeledDataset(np.arange(10.0).reshape(5, 2), np.arange(5.0), device=device)
    return [nk.rand((3,), device=device).numpy(), nk.randn((2, 2), dtype="float64", device=device).numpy(),
            nk.ones(6, device=device).dropout(0.5).forward().numpy(), data.shuffle().labels.numpy()]


def assert_same_draws(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_the_state_is_plain_data_per_device(device):
    nk.rand(1, device=device)
    state = nk.get_rng_state()
    assert str(nk.Device(device)) in state and str(nk.get_default_device()) in state
    assert json.loads(json.dumps(state)) == state  # JSON-able: it lives in the checkpoint record


def test_restored_state_repeats_every_kind_of_draw(device, tmp_path):
    nk.manual_seed(3)
    draws(device)
    nk.save({"rng": nk.get_rng_state()}, tmp_path / "rng.npz")
    expected = draws(device)
    assert not np.array_equal(expected[0], draws(device)[0])  # the generator moved on
    nk.set_rng_state(nk.load(tmp_path / "rng.npz")["rng"])
    assert_same_draws(draws(device), expected)


def test_one_device_state_leaves_the_others_alone(device):
    mine, other = str(nk.Device(device)), "array_api_strict:1"
    nk.rand(1, device=device), nk.rand(1, device=other)
    saved = nk.get_rng_state()
    expected = nk.rand(4, device=device).numpy()
    nk.rand(4, device=other)
    other_now = nk.get_rng_state()[other]
    nk.set_rng_state({mine: saved[mine]})  # only the device it names is rewound
    assert nk.get_rng_state()[other] == other_now
    np.testing.assert_array_equal(nk.rand(4, device=device).numpy(), expected)


def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(device):
    name = str(nk.Device(device))
    good = nk.get_rng_state()
    expected = nk.rand(3, device=device).numpy()
    nk.set_rng_state(good)
    with pytest.raises(ValueError, match=f"set_rng_state: {name}"):
        nk.set_rng_state({"cpu": good["cpu"], name: {"bit_generator": "PCG64", "state": "garbage"}}
                         if name != "cpu" else {name: {"bit_generator": "NoSuchGenerator"}})
    with pytest.raises(TypeError, match="get_rng_state"):
        nk.set_rng_state([1, 2])  # type: ignore[arg-type]
    np.testing.assert_array_equal(nk.rand(3, device=device).numpy(), expected)


_TRAIN = textwrap.dedent(
    """
    import sys
    import numpy as np
    import neuronika as nk
    from neuronika import nn, optim

    mode, device, path = sys.argv[1], sys.argv[2], sys.argv[3]
    nk.manual_seed(0)
    host = np.random.default_rng(7)
    x, y = host.standard_normal((40, 4)), host.standard_normal((40, 1))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.drop = nn.Linear(4, 16, device=device), nn.Linear(16, 1, device=device), nn.Dropout(0.3)

        def forward(self, v):
            return self.fc2(self.drop(self.fc1(v).relu()))

    model = Net()
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    def epoch():
        data = nk.data.LabeledDataset(x, y, device=device).shuffle()  # the device generator's order
        for records, labels in data.batch(8):
            loss = nn.loss.mse_loss(model(nk.from_ndarray(records, device=device)), nk.from_ndarray(labels, device=device))
            loss.forward()
            loss.backward(1.0)
            optimizer.step()
            optimizer.zero_grad()

    if mode == "resume":
        checkpoint = nk.load(path + ".ckpt.npz", device=device)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        nk.set_rng_state(checkpoint["rng"])
    for _ in range(6 if mode != "full" else 12):
        epoch()
    if mode == "first":
        nk.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": nk.get_rng_state()},
                path + ".ckpt.npz")
    else:
        nk.save(model.state_dict(), path + "." + mode + ".npz")
    """
)


def _run(mode: str, device: str, path: str) -> None:
    from conftest import STAND_IN, USE_STAND_IN  # the child needs the CuPy stand-in too, where it is used

    paths = ([str(STAND_IN)] if USE_STAND_IN else []) + [ROOT, os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    result = subprocess.run([sys.executable, "-c", _TRAIN, mode, device, path], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr


def test_training_resumed_in_a_fresh_process_ends_bit_for_bit_where_an_uninterrupted_run_does(device, tmp_path):
    path = str(tmp_path / "run")
    _run("full", device, path)  # 12 epochs in one go
    _run("first", device, path)  # 6 epochs, then a checkpoint with the generators' state
    _run("resume", device, path)  # a new process: load, then 6 more epochs
    full, resumed = nk.load(path + ".full.npz", device="cpu"), nk.load(path + ".resume.npz", device="cpu")
    assert list(full) == list(resumed)
    for name in full:
        np.testing.assert_array_equal(resumed[name], full[name], err_msg=name)
