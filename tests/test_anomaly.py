"""``nk.detect_anomaly()`` stops at the first non-finite value or gradient, naming the op, where
it was built and the input shapes; outside the block nothing is checked."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neuronika as nk
from neuronika.autograd.anomaly import AnomalyError


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns about log(0) itself


def test_forward_stops_at_the_first_non_finite_value(device):
    x = nk.from_ndarray(np.array([1.0, 0.0, 2.0]), device=device)
    with nk.detect_anomaly():
        y = x.ln()  # the culprit: ln(0) = -inf
        z = (y * 2.0).exp().sum()
        with pytest.raises(AnomalyError, match=r"forward of ln built at .*test_anomaly\.py:\d+, input shapes \(3,\)"):
            z.forward()


def test_backward_stops_at_the_op_whose_gradient_is_not_finite(device):
    x = nk.from_ndarray(np.array([1.0, 0.0, 4.0]), device=device).requires_grad()
    with nk.detect_anomaly():
        loss = x.sqrt().sum()  # d sqrt(x)/dx at 0 is inf
        loss.forward()
        with pytest.raises(AnomalyError, match=r"backward of sqrt built at .*gradient for its input 0 \(shape \(3,\)\)"):
            loss.backward(1.0)


def test_ops_built_outside_the_block_are_checked_without_a_location(device):
    x = nk.from_ndarray(np.array([0.0]), device=device)
    y = x.ln()
    with nk.detect_anomaly():
        with pytest.raises(AnomalyError, match="built outside detect_anomaly"):
            y.forward()


def test_off_by_default_and_after_the_block(device):
    x = nk.from_ndarray(np.array([0.0]), device=device)
    with nk.detect_anomaly():
        pass
    y = x.ln()
    assert y._node.origin is None
    assert np.isneginf(y.forward().numpy()[0])  # no error: detection is off
