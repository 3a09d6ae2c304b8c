"""The conformance checks as pytest tests (options and report: ``pytest_plugin.py`` here)."""

from __future__ import annotations

from typing import Any

import pytest


def test_check(conformance_check: Any) -> None:
    check, report, area, name, function = conformance_check
    outcome = check.run(area, name, function)
    report.add(outcome)
    if outcome.status == "skipped":
        pytest.skip(outcome.detail)
    assert outcome.status != "failed", f"{area}/{name}: {outcome.detail}"
