"""The examples run end to end in a reduced form (few epochs, small subsets): smoke tests that
also check what they leave behind (plot, loadable checkpoint)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk

pytest.importorskip("sklearn", reason="the examples need the 'examples' extra (scikit-learn)")
pytest.importorskip("tqdm", reason="the examples need the 'examples' extra (tqdm)")
pytest.importorskip("matplotlib", reason="the examples need the 'examples' extra (matplotlib)")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(name: str, *args: str, log: pathlib.Path | None = None) -> str:
    """Run an example with its output redirected (not a terminal), as CI and ``nohup`` do; with
    ``log``, stdout and stderr go to that one file, whose text is returned."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    command = [sys.executable, str(ROOT / "examples" / name), *args]
    if log is None:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout
    with open(log, "w") as file:
        code = subprocess.run(command, stdout=file, stderr=subprocess.STDOUT, env=env, timeout=300).returncode
    text = log.read_text()
    assert code == 0, f"{name} failed:\n{text}"
    return text


@pytest.mark.parametrize("name, epochs", [("digits_mlp", 5), ("digits_cnn", 3), ("digits_resnet", 2)])
def test_digits_examples_train_and_save_a_plot_and_a_checkpoint(tmp_path, name, epochs):
    out = run_example(f"{name}.py", "--epochs", str(epochs), "--limit", "512", "--output", str(tmp_path), log=tmp_path / "log.txt")
    # redirected output: no progress bars, one line per epoch and the result (stderr included)
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["epoch", f"{e}/{epochs}"] for e in range(1, epochs + 1)], out
    assert len(lines) == epochs + 1 and "final test accuracy" in lines[-1]
    accuracy = float(out.rsplit("final test accuracy", 1)[1].split()[0])
    assert accuracy > 0.6  # a few short epochs on 512 images already learn something
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    checkpoint = nk.load(tmp_path / f"{name}.npz")
    assert checkpoint["epoch"] == epochs
    assert set(checkpoint) == {"model", "optimizer", "epoch", "rng", "shuffler"}
    nk.set_rng_state(checkpoint["rng"])  # the generators' state comes back usable
    parameters = {k: v for k, v in checkpoint["model"].items() if k.rsplit(".", 1)[-1] != "num_batches_tracked"}
    assert all(tuple(array.shape) for array in parameters.values())
    if name == "digits_resnet":  # BatchNorm's buffers are saved with the parameters
        assert {"stem_bn.running_mean", "stem_bn.running_var", "block3.project_bn.num_batches_tracked"} <= set(checkpoint["model"])


def test_iris_csv_example(tmp_path):
    out = run_example("iris_csv.py", "--epochs", "50", log=tmp_path / "log.txt")
    assert [line.split()[1] for line in out.splitlines()[:-1]] == ["25/50", "50/50"]
    assert "test accuracy" in out.splitlines()[-1]


def test_quickstart_example():
    out = run_example("quickstart.py", "--epochs", "5")
    assert "accuracy" in out and "epoch    0" in out


@pytest.mark.parametrize("name", ["quickstart.py", "iris_csv.py"])
def test_quiet_examples_print_only_the_result(tmp_path, name):
    out = run_example(name, "--epochs", "60", "--quiet", log=tmp_path / "log.txt")
    assert len(out.splitlines()) == 1 and "accuracy" in out, out


def test_quiet_digits_example_prints_only_the_result(tmp_path):
    out = run_example("digits_mlp.py", "--epochs", "2", "--limit", "64", "--quiet", "--output", str(tmp_path), log=tmp_path / "log.txt")
    assert len(out.splitlines()) == 1 and "final test accuracy" in out, out


def test_digits_mlp_on_the_strict_backend(tmp_path):
    out = run_example("digits_mlp.py", "--device", "array_api_strict", "--epochs", "1", "--limit", "64",
                      "--no-progress", "--output", str(tmp_path))
    assert "device array_api_strict" in out


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")
def test_digits_example_shows_progress_bars_on_a_terminal(tmp_path):
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))  # 40 rows, 100 columns
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    command = [sys.executable, str(ROOT / "examples" / "digits_mlp.py"), "--epochs", "2", "--limit", "128", "--output", str(tmp_path)]
    process = subprocess.Popen(command, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the example exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=300) == 0
    os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert "epochs:" in text and "batches:" in text and "\r" in text  # tqdm bars, redrawn in place
    assert "epoch 1/2" not in text  # the plain per-epoch lines are for redirected output only


def test_transformer_sort_example(tmp_path):
    out = run_example("transformer_sort.py", "--epochs", "2", "--steps", "20", "--length", "6", "--d-model", "32",
                      "--output", str(tmp_path), log=tmp_path / "log.txt")
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["epoch", "1/2"], ["epoch", "2/2"]], out
    assert len(lines) == 4 and lines[2].startswith("example:"), out
    accuracy = float(out.rsplit("final token accuracy", 1)[1].split()[0])
    assert accuracy > 0.4  # 40 steps already place most digits (chance is about 0.1)
    assert (tmp_path / "transformer_sort.png").stat().st_size > 1000
    checkpoint = nk.load(tmp_path / "transformer_sort.npz")
    assert {"encoder.layers.1.self_attn.in_proj_weight", "tokens.weight", "head.bias"} <= set(checkpoint["model"])


def test_char_lstm_example(tmp_path):
    out = run_example("char_lstm.py", "--epochs", "2", "--steps", "10", "--chars", "20000", "--hidden", "32",
                      "--seq-len", "16", "--output", str(tmp_path), log=tmp_path / "log.txt")
    lines = out.splitlines()
    assert lines[0].startswith("corpus:") and [line.split()[:2] for line in lines[1:3]] == [["epoch", "1/2"], ["epoch", "2/2"]], out
    vocabulary = int(out.split(" distinct")[0].rsplit(",", 1)[1])
    bits = float(out.rsplit("held-out", 1)[1].split()[0])
    assert bits < np.log2(vocabulary)  # better than guessing uniformly after 20 steps
    assert "sample:\ndef " in out
    assert (tmp_path / "char_lstm.png").stat().st_size > 1000
    checkpoint = nk.load(tmp_path / "char_lstm.npz")
    assert {"embedding.weight", "lstm.weight_hh_l1", "head.weight"} <= set(checkpoint["model"])
    assert len(checkpoint["alphabet"]) == vocabulary


@pytest.mark.parametrize("name", ["transformer_sort.py", "char_lstm.py"])
def test_quiet_sequence_examples_print_only_the_result(tmp_path, name):
    extra = ["--chars", "5000", "--hidden", "16", "--seq-len", "8"] if name == "char_lstm.py" else ["--d-model", "16"]
    out = run_example(name, "--epochs", "1", "--steps", "2", *extra, "--quiet", "--output", str(tmp_path), log=tmp_path / "log.txt")
    assert len(out.splitlines()) == 1 and out.startswith("device"), out
