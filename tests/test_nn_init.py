"""nn.init: gains and fans as PyTorch's formulas, and every initialiser's shape, range or
statistics on every backend, writing into the parameter in place."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.nn import init


def param(shape, device: str, dtype: str = "float64") -> nk.VarDiff:
    return nk.zeros(shape, dtype=dtype, device=device).requires_grad()


def values(p) -> np.ndarray:
    return p._node.backend.to_host(p._node.value)


@pytest.mark.parametrize(
    "name, arg, expected",
    [
        ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
        ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
        ("leaky_relu", 0, math.sqrt(2)),
    ],
)
def test_calculate_gain(name, arg, expected):
    assert init.calculate_gain(name, arg) == pytest.approx(expected)


def test_calculate_gain_matches_torch_and_rejects_unknown_names():
    torch = pytest.importorskip("torch")
    for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="slope must be a number"):
        init.calculate_gain("leaky_relu", "steep")


def test_calculate_fan_in_fan_out(device):
    assert init.calculate_fan_in_fan_out(param((20, 30), device)) == (30, 20)
    assert init.calculate_fan_in_fan_out(param((8, 4, 3, 5), device)) == (4 * 15, 8 * 15)
    assert init.calculate_fan_in_fan_out(nn.Linear(3, 7).parameters()[0]) == (3, 7)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_fan_out(param((5,), device))


def test_constant_zeros_ones_write_in_place_and_mark_graphs_stale(device):
    p = param((3, 4), device)
    out = (p * 2.0).sum()
    assert out.forward().item() == 0.0
    assert init.constant(p, 1.5) is p
    np.testing.assert_array_equal(values(p), np.full((3, 4), 1.5))
    assert out.forward().item() == pytest.approx(36.0)  # the graph sees the new values
    init.ones(p)
    np.testing.assert_array_equal(values(p), np.ones((3, 4)))
    init.zeros(p)
    np.testing.assert_array_equal(values(p), np.zeros((3, 4)))


def test_initialisers_accept_params_and_keep_dtype_and_device(device):
    layer = nn.Linear(3, 4, device=device)
    weight = layer.parameters()[0]
    init.ones(weight)
    assert weight.dtype == nk.float32 and weight.device == device
    np.testing.assert_array_equal(values(layer.weight), np.ones((4, 3)))
    with pytest.raises(TypeError, match="only initialise a leaf"):
        init.zeros(layer.weight * 2.0)
    with pytest.raises(TypeError, match="expected a parameter"):
        init.zeros(np.zeros(3))


def test_eye(device):
    p = param((3, 5), device)
    init.eye(p)
    np.testing.assert_array_equal(values(p), np.eye(3, 5))
    with pytest.raises(ValueError, match="2-d"):
        init.eye(param((2, 2, 2), device))


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 2, 3, 3), 3), ((4, 3, 3, 1, 5), 2), ((2, 5, 3), 1)])
def test_dirac(device, shape, groups):
    p = param(shape, device)
    init.dirac(p, groups)
    expected = np.zeros(shape)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            expected[(g * per_group + d, d) + centre] = 1.0
    np.testing.assert_array_equal(values(p), expected)


def test_dirac_matches_torch_and_checks_its_arguments(device):
    torch = pytest.importorskip("torch")
    reference = torch.empty(6, 2, 3, 3, dtype=torch.float64)
    torch.nn.init.dirac_(reference, groups=3)
    p = param((6, 2, 3, 3), device)
    init.dirac(p, groups=3)
    np.testing.assert_array_equal(values(p), reference.numpy())
    with pytest.raises(ValueError, match="3-, 4- or 5-d"):
        init.dirac(param((3, 3), device))
    with pytest.raises(ValueError, match="divisor"):
        init.dirac(param((5, 2, 3), device), groups=2)


def test_uniform_and_normal_statistics(device):
    p = param((200, 300), device)
    init.uniform(p, -2.0, 3.0)
    sample = values(p)
    assert sample.min() >= -2.0 and sample.max() < 3.0
    assert sample.mean() == pytest.approx(0.5, abs=0.03)
    assert sample.std() == pytest.approx(5 / math.sqrt(12), rel=0.02)
    init.normal(p, 1.0, 0.5)
    sample = values(p)
    assert sample.mean() == pytest.approx(1.0, abs=0.01)
    assert sample.std() == pytest.approx(0.5, rel=0.02)


def test_xavier_statistics(device):
    p = param((200, 300), device, dtype="float32")
    init.xavier_uniform(p, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    sample = values(p)
    assert sample.dtype == np.float32
    assert np.abs(sample).max() <= bound and np.abs(sample).max() > 0.99 * bound
    assert sample.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    init.xavier_normal(p)
    assert values(p).std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


@pytest.mark.parametrize("mode, fan", [("fan_in", 300 * 4), ("fan_out", 200 * 4)])
def test_kaiming_statistics(device, mode, fan):
    p = param((200, 300, 2, 2), device)
    init.kaiming_uniform(p, mode=mode)  # PyTorch's default: leaky_relu with a = 0, i.e. relu's gain
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    sample = values(p)
    assert np.abs(sample).max() <= bound and np.abs(sample).max() > 0.99 * bound
    init.kaiming_normal(p, a=0.1, mode=mode, nonlinearity="leaky_relu")
    expected = math.sqrt(2 / (1 + 0.01)) / math.sqrt(fan)
    assert values(p).std() == pytest.approx(expected, rel=0.02)
    with pytest.raises(ValueError, match="fan_in' or 'fan_out"):
        init.kaiming_normal(p, mode="fan_avg")


def test_random_initialisers_follow_manual_seed(device):
    first, second = param((4, 4), device), param((4, 4), device)
    nk.manual_seed(7)
    init.xavier_uniform(first)
    nk.manual_seed(7)
    init.xavier_uniform(second)
    np.testing.assert_array_equal(values(first), values(second))
    assert init.xavier_uniform_ is init.xavier_uniform  # PyTorch's spelling


def test_dirac_builds_without_writing_into_an_array(monkeypatch):
    """Immutable backends (the JAX example backend declares ``mutable_arrays = False``) have no
    item assignment: dirac is built from comparisons, equal to PyTorch's on them too."""
    pytest.importorskip("jax", reason="jax is not installed (the immutable example backend needs it)")
    from neuronika import backends, conformance

    for table in ("_FACTORIES", "_PROBES", "_INSTANCES"):
        monkeypatch.setattr(backends, table, dict(getattr(backends, table)))
    device = conformance.load(str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "backends" / "jax_backend.py:create"))
    assert nk.backends.get(device).mutable_arrays is False
    torch = pytest.importorskip("torch")
    reference = torch.empty(6, 2, 3, 3)
    torch.nn.init.dirac_(reference, groups=3)
    p = init.dirac(param((6, 2, 3, 3), device), groups=3)
    np.testing.assert_array_equal(p.numpy(), reference.numpy())
