"""The conformance suite (neuronika.conformance) on every built-in backend and on the two example
backends (examples/backends: PyTorch tensors, JAX arrays), and the suite's own rules: it reports
a wrong override, an unknown override and a missing capability, and the CLI exits 1 on failure."""

from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika import conformance
from neuronika.backends import Backend
from neuronika.backends.numpy import NumpyBackend
from neuronika.kernels import FUNCTIONAL, GENERIC
from neuronika.kernels.writes import FUNCTIONAL as FUNCTIONAL_WRITER, IN_PLACE

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "backends"


@pytest.fixture
def registry(monkeypatch):
    """Backends registered by a test (example and broken ones) are gone after it."""
    backends = nk.backends
    for table in ("_FACTORIES", "_PROBES", "_INSTANCES"):
        monkeypatch.setattr(backends, table, dict(getattr(backends, table)))
    yield
    nk.manual_seed(0)


def _assert_passes(report: conformance.Report) -> None:
    text = report.render()
    assert report.ok, text
    for area in conformance.AREAS:
        assert area in text, text
    assert text.splitlines()[-1] == "RESULT: PASS"


def test_builtin_backend_passes_the_suite(device):
    report = conformance.run(device, quick=True)
    _assert_passes(report)
    # the overrides a built-in backend registers are each checked (provided), never skipped
    for name in nk.backends.get(device).kernels:
        assert name in report.by_status("provided", "kernels"), report.render()


@pytest.mark.parametrize("library, spec", [
    ("torch", "torch_backend.py:create"),
    ("jax", "jax_backend.py:create"),
])
def test_example_backend_passes_the_suite(library, spec, registry):
    pytest.importorskip(library, reason=f"{library} is not installed (the example backend needs it)")
    report = conformance.run(str(EXAMPLES / spec), quick=True)
    _assert_passes(report)
    if library == "torch":  # PyTorch's native convolution replaces the generic kernels
        assert {"conv_forward", "conv_backward_input", "conv_backward_weight"} <= set(report.by_status("provided", "kernels"))
    else:  # immutable: the writing kernels run in their functional form and agree
        assert report.capabilities["mutable_arrays"] is False
        assert set(FUNCTIONAL) <= set(report.by_status("fallback", "kernels"))
        assert any(name.startswith("optimizer") for name in report.by_status("passed", "training"))


class _Broken(NumpyBackend):
    """NumPy under another name (so it claims the cpu backend's arrays as its own), with a wrong
    convolution override, an override under a name neuronika never calls, and no RNG-state
    capability."""

    name = "broken"

    def __init__(self) -> None:
        super().__init__()
        self.kernels["conv_forward"] = lambda xp, x, w, stride, dilation, groups: GENERIC["conv_forward"](xp, x, w, stride, dilation, groups) * 1.001
        self.kernels["conv_fast_path"] = lambda xp, x: x

    def get_rng_state(self):
        raise NotImplementedError("no state here")


def test_the_report_names_what_failed_and_what_was_skipped(registry):
    nk.backends.register("broken", lambda index: _Broken())
    report = conformance.run("broken", areas=["capabilities", "kernels"], quick=True)
    failed = {outcome.name: outcome.detail for outcome in report.failed}
    assert set(failed) == {"owns", "conv_forward", "conv_fast_path"}
    assert "owns(an array of cpu) is True" in failed["owns"]
    assert "conv_forward case 0 output 0" in failed["conv_forward"]
    assert "no conformance case" in failed["conv_fast_path"]
    skipped = {o.name: o.detail for o in report.outcomes if o.status == "skipped"}
    assert "no state here" in skipped["get/set_rng_state"]
    text = report.render()
    assert "FAILED: conv_forward" in text and "RESULT: FAIL (3 failed)" in text
    assert len(text.splitlines()) < 40  # one screen


def test_cli_prints_the_report_and_exits_nonzero_on_failure(tmp_path):
    good = subprocess.run([sys.executable, "-m", "neuronika.conformance", "cpu", "--quick", "--area", "capabilities"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert good.returncode == 0, good.stderr
    assert "neuronika conformance: cpu" in good.stdout and "RESULT: PASS" in good.stdout
    module = tmp_path / "bad_backend.py"
    module.write_text(
        "from neuronika.backends.numpy import NumpyBackend\n"
        "class Bad(NumpyBackend):\n"
        "    name = 'bad'\n"
        "    def to_host(self, array):\n"
        "        return array  # not a copy\n"
        "def create(index):\n"
        "    return Bad()\n"
    )
    bad = subprocess.run([sys.executable, "-m", "neuronika.conformance", f"{module}:create", "--area", "capabilities"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAILED: to_host" in bad.stdout
    missing = subprocess.run([sys.executable, "-m", "neuronika.conformance", "no_such_device"],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert missing.returncode == 1 and not missing.stderr
    assert "no_such_device: cannot load the backend: ValueError: unknown device" in missing.stdout


@pytest.mark.parametrize("shape, key", [
    ((2, 7, 6), (..., slice(1, 6), slice(0, 4))),
    ((3, 9), (slice(None), slice(1, 8, 3))),
    ((2, 3, 8, 5), (..., slice(2, 8, 2), slice(0, 5, 2))),
    ((4, 6), (slice(1, 2), ...)),
    ((3, 4, 5), (1, slice(None, None, -2), -1)),  # integers and a negative step (the basic part of x[key])
    ((4, 5), (..., slice(3, 0, -1))),
])
def test_functional_writes_equal_in_place_writes(device, shape, key):
    backend = nk.backends.get(device)
    rng = np.random.default_rng(0)
    target = rng.standard_normal(shape)
    value = rng.standard_normal(target[key].shape)
    with backend.scope():
        xp = backend.xp
        placed = [writer.place(xp, backend.asarray(value), shape, key, 0.5) for writer in (IN_PLACE, FUNCTIONAL_WRITER)]
        added = [writer.add_at(xp, backend.asarray(target.copy(), nk.float64), key, backend.asarray(value)) for writer in (IN_PLACE, FUNCTIONAL_WRITER)]
    expected = np.full(shape, 0.5)
    expected[key] = value
    np.testing.assert_array_equal(backend.to_host(placed[0]), expected)
    np.testing.assert_array_equal(backend.to_host(placed[1]), expected)
    expected = target.copy()
    expected[key] += value
    np.testing.assert_allclose(backend.to_host(added[1]), expected, rtol=1e-15)
    np.testing.assert_allclose(backend.to_host(added[0]), expected, rtol=1e-15)


class _Immutable(NumpyBackend):
    name = "immutable_numpy"
    mutable_arrays = False


def test_immutable_backends_get_the_functional_kernels_and_share_owned_arrays():
    backend = _Immutable()
    for name, generic in GENERIC.items():
        assert backend.kernel(name, generic) is FUNCTIONAL.get(name, generic) or name in backend.kernels
    array = backend.asarray([1.0, 2.0], nk.float32)
    assert Backend.asarray_copy(backend, array, nk.float32) is array  # nobody can write into it
    assert Backend.asarray_copy(NumpyBackend(), array, nk.float32) is not array
    assert NumpyBackend().asarray_copy(array, nk.float32) is not array


def test_capabilities_are_declared_not_guessed(device):
    backend = nk.backends.get(device)
    caps = backend.capabilities()
    assert caps["mutable_arrays"] is True
    assert "float32" in caps["float_dtypes"] and backend.has_dtype("float32")
    assert ("float16" in caps["float_dtypes"]) == (device != "array_api_strict")
    assert set(caps["native_ops"]) >= {name for name in ("einsum", "erf") if name in backend.kernels}
    assert backend.native("einsum") == ("einsum" in backend.kernels)


def test_the_pytest_form_runs_each_check_as_a_test_and_prints_the_report(tmp_path):
    # an installed neuronika registers the plugin (pytest11 entry point); a source checkout names it
    installed = any(e.name == "neuronika_conformance" for e in importlib.metadata.entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "neuronika.conformance.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin,
         "--pyargs", "neuronika.conformance", "--neuronika-backend=array_api_strict", "--neuronika-quick",
         "-k", "capabilities or errors", "-q"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "neuronika conformance: array_api_strict" in done.stdout and "RESULT: PASS" in done.stdout
    check = conformance.prepare("array_api_strict", quick=True)
    expected = len(conformance.checks(check, "capabilities")) + len(conformance.checks(check, "errors"))
    assert f"{expected} passed" in done.stdout  # one test per check, none skipped on array_api_strict
