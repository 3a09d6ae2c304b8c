"""Checkpoints: round trips across backends, atomic writes that survive a killed process, and
clear errors (never code execution) for truncated, corrupted, foreign and crafted files."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import neuronika as nk
from neuronika.io import CheckpointError


def sample_state(device: str) -> dict:
    return {
        "model": {"fc.weight": nk.rand((3, 4), dtype="float64", device=device), "fc.bias": nk.zeros(3, device=device).data},
        "optimizer": {"lr": 0.1, "step": 7, "state": [{"exp_avg": nk.ones(2, device=device).data}], "betas": (0.9, 0.999)},
        "epoch": 12,
        "note": "best so far",
        "finished": False,
        "extra": None,
    }


def host(tree):
    if isinstance(tree, dict):
        return {k: host(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(host(v) for v in tree)
    if isinstance(tree, nk.Var):
        return tree.numpy()
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):
        return nk.backends.to_host(tree)
    return tree


def assert_same(a, b):
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.parametrize("target", ["cpu", "array_api_strict"])
def test_round_trip_onto_any_backend(device, tmp_path, target):
    state = sample_state(device)
    path = tmp_path / "checkpoint.npz"
    nk.save(state, path)
    loaded = nk.load(path, device=target)
    assert nk.backends.owner(loaded["model"]["fc.bias"]).device == nk.Device(target)
    assert_same(host(state), host(loaded))


def test_save_leaves_no_temporary_files(tmp_path):
    nk.save({"x": nk.ones(2).data}, tmp_path / "a.npz")
    assert sorted(os.listdir(tmp_path)) == ["a.npz"]


def test_unsupported_objects_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store object at obj\['bad'\]"):
        nk.save({"bad": object()}, tmp_path / "a.npz")
    with pytest.raises(TypeError, match="keys must be strings"):
        nk.save({1: 2}, tmp_path / "a.npz")
    assert not os.listdir(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read .*nope.npz"):
        nk.load(tmp_path / "nope.npz")


def test_truncated_file(tmp_path):
    path = tmp_path / "a.npz"
    nk.save(sample_state("cpu"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="a.npz"):
        nk.load(path)


def test_corrupted_bytes_are_detected(tmp_path):
    path = tmp_path / "a.npz"
    nk.save({"w": nk.ones(1000, dtype="float64").data}, path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 8] = b"\xff" * 8  # inside the array's bytes: the zip CRC catches it
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        nk.load(path)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a neuronika checkpoint"):
        nk.load(text)
    foreign = tmp_path / "other.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="no __neuronika__ record"):
        nk.load(foreign)


def _write_npz(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=True)
            archive.writestr(f"{name}.npy", buffer.getvalue())


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_crafted_file_cannot_execute_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    meta = json.dumps({"format": "neuronika-checkpoint", "version": 1, "tree": {"dict": [["w", {"array": "a0"}]]}})
    payload = np.empty(1, dtype=object)
    payload[0] = _Exploit()
    path = tmp_path / "evil.npz"
    _write_npz(path, {"__neuronika__": np.frombuffer(meta.encode(), dtype=np.uint8), "a0": payload})
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        nk.load(path)
    assert not (tmp_path / "pwned").exists()


def test_an_inconsistent_structure_record_is_reported(tmp_path):
    meta = json.dumps({"format": "neuronika-checkpoint", "version": 1, "tree": {"dict": [["w", {"array": "a9"}]]}})
    path = tmp_path / "broken.npz"
    _write_npz(path, {"__neuronika__": np.frombuffer(meta.encode(), dtype=np.uint8)})
    with pytest.raises(CheckpointError, match="inconsistent structure"):
        nk.load(path)


def test_a_process_killed_mid_save_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "ckpt.npz"
    nk.save({"generation": 0, "w": nk.zeros(4_000_000, dtype="float64").data}, path)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {os.getcwd()!r})
        import neuronika as nk
        weights = nk.ones(4_000_000, dtype="float64").data
        print("ready", flush=True)
        generation = 1
        while True:
            nk.save({{"generation": generation, "w": weights * generation}}, {str(path)!r})
            generation += 1
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.4)  # several saves of 32 MB: the kill lands mid-write with high probability
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    loaded = nk.load(path)
    generation = loaded["generation"]
    np.testing.assert_array_equal(loaded["w"], np.full(4_000_000, float(generation)))
