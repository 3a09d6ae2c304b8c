"""Smoke test of the indexing benchmark: ``bench/ops.py --quick --scatter`` runs every case on
tiny sizes and writes a JSON report with every field (no timing is asserted)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIELDS = {"ms", "min_ms", "ratio_pytorch", "target", "target_met", "agree", "checksum"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("bench_ops") / "ops.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ops.py"), "--quick", "--scatter", "--json", str(path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {"stdout": done.stdout, **json.loads(path.read_text())}


def test_every_case_reports_times_and_agreeing_outputs(report):
    cases = report["cases"]
    assert sorted(cases) == sorted(["index", "gather", "index+grad", "gather+grad"])
    for name, result in cases.items():
        assert FIELDS <= set(result), f"{name} lacks {FIELDS - set(result)}"
        assert result["ms"]["neuronika"] > 0
        assert result["agree"], (name, result["checksum"])  # same output / gradient as the peer
    assert "ratio" in report["stdout"] and "index+grad" in report["stdout"]


def test_pytorch_ratios_are_filled_when_torch_is_installed(report):
    pytest.importorskip("torch")
    for result in report["cases"].values():
        assert result["ms"]["pytorch"] > 0 and result["ratio_pytorch"] > 0


def test_the_scatter_grid_times_every_path(report):
    grid = report["scatter"]
    assert grid and all({"bincount", "add.at", "sort+reduceat", "chosen", "generic"} <= set(row) for row in grid)
