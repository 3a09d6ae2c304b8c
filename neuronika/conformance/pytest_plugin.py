"""The pytest form of the conformance suite, a pytest plugin (registered as the ``pytest11``
entry point ``neuronika_conformance`` when neuronika is installed; ``-p
neuronika.conformance.pytest_plugin`` loads it from a source checkout)::

    pytest --pyargs neuronika.conformance --neuronika-backend=mypkg.backend:create [--neuronika-quick]

Each check is one test (``test_check[area/name]``): failed checks fail, skipped ones skip with
the reason, and the one-screen report is printed at the end of the session."""

from __future__ import annotations

from typing import Any

import pytest

from neuronika import backends
from neuronika import conformance


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("neuronika conformance")
    group.addoption("--neuronika-backend", action="append", default=[], metavar="SPEC",
                    help="device string, module:factory or file.py:factory (repeatable; default cpu)")
    group.addoption("--neuronika-quick", action="store_true", help="fewer cases and a shorter training run")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_check" not in metafunc.fixturenames:
        return
    params = []
    for spec in metafunc.config.getoption("--neuronika-backend") or ["cpu"]:
        check = conformance.prepare(spec, metafunc.config.getoption("--neuronika-quick"))
        report = _reports(metafunc.config).setdefault(check.device, conformance.Report(check.device, check.reference, check.backend.capabilities()))
        for area in conformance.AREAS:
            for name, function in conformance.checks(check, area):
                params.append(pytest.param((check, report, area, name, function), id=f"{check.device}/{area}/{name}"))
    metafunc.parametrize("conformance_check", params)


def _reports(config: pytest.Config) -> dict[str, Any]:
    if not hasattr(config, "_neuronika_reports"):
        config._neuronika_reports = {}  # type: ignore[attr-defined]
    return config._neuronika_reports  # type: ignore[attr-defined,no-any-return]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for report in _reports(config).values():
        if report.outcomes:
            terminalreporter.write_line("")
            for line in report.render().splitlines():
                terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _restore_generators() -> Any:
    states = conformance._rng_states()
    yield
    backends.set_rng_state(states)
