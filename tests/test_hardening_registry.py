"""Process-wide state under threads: one backend instance per device however many threads use it
first (issue 12, item 10), anomaly detection that belongs to the thread that switched it on
(item 11), and the install hint for a missing array_api_strict (item 23)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import neuronika as nk
from neuronika.autograd.anomaly import AnomalyError
from neuronika.backends.numpy import NumpyBackend

THREADS = 8
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- item 10: the backend registry -----------------------------------------------------------

@pytest.fixture
def _registry_restored():
    """Give the registry back exactly as it was (same instances, same order: ``owner`` asks them
    in order), whatever the test created or dropped."""
    saved = dict(nk.backends._INSTANCES)
    yield
    nk.backends._INSTANCES.clear()
    nk.backends._INSTANCES.update(saved)


def test_threads_racing_into_a_backend_factory_create_one_instance(monkeypatch, _registry_restored):
    """A factory that waits until every thread has entered it: without the registry's lock all
    of them get in and make their own instance; with it, one thread creates the instance while
    the others wait for it (the factory then gives up waiting after a short bound)."""
    inside = []
    all_inside = threading.Event()

    def slow_factory(index: int) -> NumpyBackend:
        inside.append(threading.get_ident())
        if len(inside) == THREADS:
            all_inside.set()
        all_inside.wait(0.5)
        return NumpyBackend()

    monkeypatch.setitem(nk.backends._FACTORIES, "racing", slow_factory)
    barrier = threading.Barrier(THREADS)

    def first_use(_: int) -> nk.Var:
        barrier.wait()
        return nk.ones(3, device="racing")

    with ThreadPoolExecutor(THREADS) as pool:
        variables = list(pool.map(first_use, range(THREADS)))
    assert len(inside) == 1
    assert len({id(v._node.backend) for v in variables}) == 1
    total = variables[0]
    for v in variables[1:]:
        total = total + v  # variables of one device combine, whichever thread made them
    np.testing.assert_array_equal(total.forward().numpy(), np.full(3, float(THREADS)))


def test_threads_using_a_real_device_first_share_its_instance_and_its_seed(device, _registry_restored):
    dev = nk.Device(device)
    nk.backends._INSTANCES.pop((dev.backend_name, dev.index), None)
    barrier = threading.Barrier(THREADS)

    def first_use(_: int) -> nk.Var:
        barrier.wait()
        return nk.rand(4, device=device)

    with ThreadPoolExecutor(THREADS) as pool:
        variables = list(pool.map(first_use, range(THREADS)))
    assert len({id(v._node.backend) for v in variables}) == 1
    (variables[0] + variables[-1]).forward()
    nk.manual_seed(5)  # reseeds the one instance every thread uses
    first = nk.rand(4, device=device).numpy()
    nk.manual_seed(5)
    with ThreadPoolExecutor(1) as pool:
        again = pool.submit(lambda: nk.rand(4, device=device).numpy()).result()
    np.testing.assert_array_equal(first, again)


# --- item 11: detect_anomaly is per thread ---------------------------------------------------

@pytest.fixture
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns about log(0) itself
        yield


def _log_of_zero(device: str) -> nk.Var:
    return nk.from_ndarray(np.array([1.0, 0.0]), device=device).ln()


def test_a_thread_that_never_enabled_detect_anomaly_is_not_checked(device, _quiet):
    entered, done = threading.Event(), threading.Event()

    def holder() -> None:
        with nk.detect_anomaly():
            entered.set()
            done.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert entered.wait(10)
        y = _log_of_zero(device)
        assert y._node.origin is None  # no build site recorded: detection is off here
        assert np.isneginf(y.forward().numpy()[1])  # no AnomalyError in this thread
    finally:
        done.set()
        thread.join()


def test_overlapping_blocks_in_two_threads_do_not_switch_each_other_off(device, _quiet):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def first() -> None:
        with nk.detect_anomaly():
            first_in.set()
            second_in.wait(10)
        first_out.set()  # leaves its block while the second thread is still inside its own

    def second() -> None:
        first_in.wait(10)
        with nk.detect_anomaly():
            second_in.set()
            first_out.wait(10)
            y = _log_of_zero(device)
            try:
                y.forward()
                outcome.append(None)
            except AnomalyError as error:
                outcome.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], AnomalyError)
    assert "forward of ln built at" in str(outcome[0])


def test_nested_blocks_in_one_thread_restore_the_outer_state(device, _quiet):
    with nk.detect_anomaly():
        with nk.detect_anomaly():
            pass
        with pytest.raises(AnomalyError):
            _log_of_zero(device).forward()
    assert np.isneginf(_log_of_zero(device).forward().numpy()[1])


# --- item 23: array_api_strict missing ---------------------------------------------------------

def test_array_api_strict_missing_raises_backend_unavailable_with_the_install_hint():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["array_api_strict"] = None  # what Python sees when the package is absent
        import neuronika as nk
        assert "array_api_strict" not in nk.backends.available()
        for attempt in (lambda: nk.ones(2, device="array_api_strict"),
                        lambda: nk.set_default_device("array_api_strict:1")):
            try:
                attempt()
            except nk.backends.BackendUnavailableError as error:
                print(error)
            else:
                raise SystemExit("no error")
        """
    )
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "device 'array_api_strict:0' needs the array-api-strict package" in lines[0]
    assert "device 'array_api_strict:1'" in lines[1]
    assert all("pip install array-api-strict" in line for line in lines)
