"""Smoke test of the benchmark: ``bench/run.py --quick`` runs every workload on tiny sizes and
writes a JSON report with every field (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIELDS = {"target", "target_met", "title", "ms", "min_ms", "steps", "ratio_floor", "ratio_pytorch", "first_loss", "losses_agree"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {"stdout": done.stdout, **json.loads(path.read_text())}


def test_every_workload_reports_times_ratios_and_agreeing_losses(report):
    workloads = report["workloads"]
    assert sorted(workloads) == ["W1", "W2", "W2L", "W3", "W4"]
    for name, result in workloads.items():
        assert FIELDS <= set(result), f"{name} lacks {FIELDS - set(result)}"
        assert "neuronika" in result["ms"]
        assert all(ms > 0 for ms in result["ms"].values())
        if name == "W2L":  # no hand-written floor: compared with PyTorch only
            assert "floor" not in result["ms"] and result["ratio_floor"] is None
        else:
            assert "floor" in result["ms"] and result["ratio_floor"] > 0
        # every implementation starts from the same weights and data
        assert result["losses_agree"], (name, result["first_loss"])
    assert workloads["W3"]["ops_per_pass"] == 3 * report["settings"]["chain_links"]
    assert set(workloads["W3"]["us_per_op"]) == set(workloads["W3"]["ms"])


def test_the_report_names_the_machine_and_the_thread_count(report):
    env = report["environment"]
    assert env["threads"] >= 1 and env["quick"] is True
    assert {"numpy", "blas", "torch", "cpu_count", "unset_env"} <= set(env)
    assert "W1" in report["stdout"] and "/floor" in report["stdout"]


def test_pytorch_columns_are_filled_when_torch_is_installed(report):
    pytest.importorskip("torch")
    for result in report["workloads"].values():
        assert "pytorch" in result["ms"] and result["ratio_pytorch"] > 0


def test_cuda_without_a_gpu_exits_with_one_line(tmp_path):
    from neuronika.backends.cupy import device_count

    if device_count() > 0 and not getattr(sys.modules.get("cupy"), "STAND_IN", False):
        pytest.skip("a CUDA GPU is present")  # (the stand-in of the tests is not on bench/run.py's path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--device", "cuda", "--json", str(tmp_path / "r.json")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cuda" in lines[0], done.stderr


def test_w1_gap_benchmark_prices_each_semantic_against_the_floor():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "w1_gap.py"), "--quick", "--steps", "4", "--rounds", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("  ")[1].strip() for line in done.stdout.splitlines()[1:]]
    assert rows == ["floor", "+ batch copy", "+ kept gradient", "+ kept input", "same semantics", "neuronika"]
    # every variant computes the floor's step: one first-step loss for all six
    losses = done.stdout.splitlines()[0].split("first-step losses [")[1].rstrip("]")
    assert "," not in losses and float(losses) > 0


def test_layers_benchmark_runs_every_case_and_prints_ratios():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "layers.py"), "--quick"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line and not line.startswith("(")}
    assert set(lines) == {"lstm", "pool_bn"}
    if importlib.util.find_spec("torch") is not None:
        assert all("ratio" in line for line in lines.values())


def test_scaling_benchmark_reports_time_per_sample_and_step_memory_per_size(tmp_path):
    path = tmp_path / "scaling.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scaling.py"), "--quick", "--series", "W1-batch,W4-T",
         "--impls", "neuronika,rebuilt", "--steps", "1", "--warmup", "1", "--json", str(path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(path.read_text())
    assert set(results) == {"W1-batch", "W4-T"}
    for series in results.values():
        assert set(series) == {"neuronika", "rebuilt"}
        for points in series.values():
            assert len(points) == 2  # the two --quick sizes, each from its own process
            for point in points.values():
                assert point["us_per_sample"] > 0 and point["step_mb"] >= 0 and point["peak_mb"] >= point["step_mb"]
    assert "| W1-batch |" in done.stdout and "µs/sample" in done.stdout


def test_torch_device_times_w1_and_w2_on_the_example_torch_backend(tmp_path):
    pytest.importorskip("torch", reason="--device torch needs PyTorch")
    path = tmp_path / "torch.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--device", "torch", "--json", str(path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(path.read_text())
    assert report["environment"]["device"] == "torch"
    assert sorted(report["workloads"]) == ["W1", "W2"]
    for name, result in report["workloads"].items():
        # neuronika on the PyTorch backend, on the NumPy backend, PyTorch eager and the floor
        assert {"floor", "pytorch", "neuronika", "neuronika_numpy"} == set(result["ms"]), name
        assert result["ratio_numpy_backend"] > 0 and result["losses_agree"], (name, result["first_loss"])
    assert "NumPy bk" in done.stdout
