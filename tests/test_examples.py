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


def run_example(name: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("name, epochs", [("digits_mlp", 5), ("digits_cnn", 3), ("digits_resnet", 2)])
def test_digits_examples_train_and_save_a_plot_and_a_checkpoint(tmp_path, name, epochs):
    out = run_example(f"{name}.py", "--epochs", str(epochs), "--limit", "512", "--no-progress", "--output", str(tmp_path))
    assert "final test accuracy" in out
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
    out = run_example("iris_csv.py", "--epochs", "20")
    assert "test accuracy" in out


def test_quickstart_example():
    out = run_example("quickstart.py", "--epochs", "5")
    assert "accuracy" in out and "epoch    0" in out


def test_digits_mlp_on_the_strict_backend(tmp_path):
    out = run_example("digits_mlp.py", "--device", "array_api_strict", "--epochs", "1", "--limit", "64",
                      "--no-progress", "--output", str(tmp_path))
    assert "device array_api_strict" in out


def test_transformer_sort_example(tmp_path):
    out = run_example("transformer_sort.py", "--epochs", "2", "--steps", "20", "--length", "6", "--d-model", "32",
                      "--no-progress", "--output", str(tmp_path))
    accuracy = float(out.rsplit("final token accuracy", 1)[1].split()[0])
    assert accuracy > 0.4  # 40 steps already place most digits (chance is about 0.1)
    assert (tmp_path / "transformer_sort.png").stat().st_size > 1000
    checkpoint = nk.load(tmp_path / "transformer_sort.npz")
    assert {"encoder.layers.1.self_attn.in_proj_weight", "tokens.weight", "head.bias"} <= set(checkpoint["model"])


def test_char_lstm_example(tmp_path):
    out = run_example("char_lstm.py", "--epochs", "2", "--steps", "10", "--chars", "20000", "--hidden", "32",
                      "--seq-len", "16", "--no-progress", "--output", str(tmp_path))
    vocabulary = int(out.split(" distinct")[0].rsplit(",", 1)[1])
    bits = float(out.rsplit("held-out", 1)[1].split()[0])
    assert bits < np.log2(vocabulary)  # better than guessing uniformly after 20 steps
    assert "sample:\ndef " in out
    assert (tmp_path / "char_lstm.png").stat().st_size > 1000
    checkpoint = nk.load(tmp_path / "char_lstm.npz")
    assert {"embedding.weight", "lstm.weight_hh_l1", "head.weight"} <= set(checkpoint["model"])
    assert len(checkpoint["alphabet"]) == vocabulary
