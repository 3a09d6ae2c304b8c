"""Element-wise maths (unary.py, the erf kernel) and PyTorch's activations (activation_torch.py):
values and gradients against PyTorch, gradients against finite differences (float64), on every
backend; erf against math.erf; PyTorch's gradients at the kinks; build-time errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuronika as nk
from neuronika.kernels import special
from neuronika.testing import gradcheck
from torch_compare import against_torch

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")

# name, PyTorch's function, input range (away from jumps for the step functions)
UNARY = [
    ("log1p", torch.log1p, (-0.5, 2.0)),
    ("expm1", torch.expm1, (-2.0, 2.0)),
    ("log2", torch.log2, (0.2, 3.0)),
    ("log10", torch.log10, (0.2, 3.0)),
    ("sin", torch.sin, (-3.0, 3.0)),
    ("cos", torch.cos, (-3.0, 3.0)),
    ("tan", torch.tan, (-1.2, 1.2)),
    ("square", torch.square, (-2.0, 2.0)),
    ("rsqrt", torch.rsqrt, (0.2, 3.0)),
    ("reciprocal", torch.reciprocal, (0.2, 3.0)),
    ("erf", torch.erf, (-3.0, 3.0)),
    ("sign", torch.sign, (-3.0, 3.0)),
    ("floor", torch.floor, (-3.0, 3.0)),
    ("ceil", torch.ceil, (-3.0, 3.0)),
    ("round", torch.round, (-3.0, 3.0)),
]
STEPS = ("sign", "floor", "ceil", "round")


def _away_from_jumps(a: np.ndarray) -> np.ndarray:
    """Values at least 0.1 from every multiple of 0.5 (jumps of floor, ceil, round and sign)."""
    return np.floor(a * 2) / 2 + 0.1 + 0.3 * (a * 2 - np.floor(a * 2))


@pytest.mark.parametrize("name, reference, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_gradients_match_torch(device, rng, name, reference, domain):
    a = rng.uniform(*domain, (3, 4))
    if name in STEPS:
        a = _away_from_jumps(a)
    against_torch(lambda x: getattr(x, name)(), reference, [a], device)
    against_torch(lambda x: getattr(nk, name)(x), reference, [a], device)  # nk.X as torch.X


@pytest.mark.parametrize("name, reference, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(device, rng, name, reference, domain):
    a = rng.uniform(*domain, (2, 3))
    if name in STEPS:
        a = _away_from_jumps(a)
    assert gradcheck(lambda x: getattr(x, name)(), [a], device=device)


@pytest.mark.parametrize("name", STEPS)
def test_step_functions_have_zero_gradient_even_at_their_jumps(device, name):
    x = nk.from_ndarray([-1.0, -0.5, 0.0, 0.5, 2.0], dtype="float64", device=device).requires_grad()
    (getattr(x, name)() * 3.0 + x * 0.0).sum().backward()
    assert nk.backends.to_host(x.grad).tolist() == [0.0] * 5


def test_round_halves_to_even_as_torch(device):
    values = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    ours = nk.from_ndarray(values, device=device).round().forward().numpy()
    assert ours.tolist() == torch.round(torch.tensor(values)).tolist()


# --- erf -------------------------------------------------------------------------------------------
def _erf_grid() -> np.ndarray:
    dense = np.linspace(-7.0, 7.0, 140_001)
    tails = np.geomspace(1e-300, 7.0, 4_000)
    edges = np.array([0.0, 0.5, 5.999999999, 6.0, 6.000000001, 26.0, 1e300])
    return np.concatenate([dense, tails, -tails, edges, -edges])


def test_generic_erf_matches_math_erf_to_1e_12_in_float64(device):
    grid = _erf_grid()
    backend = nk.backends.get(device)
    with backend.scope():  # raw kernels run in the backend's device scope (CuPy: its GPU)
        ours = backend.to_host(special.erf(backend.xp, backend.asarray(grid, nk.float64)))
    exact = np.array([math.erf(v) for v in grid])
    relative = np.abs(ours - exact) / np.maximum(np.abs(exact), 1e-300)
    assert relative.max() < 1e-12
    assert relative.max() < 3e-15  # what it achieves (docs/ops.md quotes it)


def test_generic_erf_is_float32_rounding_of_the_exact_value(device):
    grid = _erf_grid()
    grid = grid[np.abs(grid) < 1e30].astype(np.float32)
    backend = nk.backends.get(device)
    with backend.scope():
        ours = backend.to_host(special.erf(backend.xp, backend.asarray(grid, nk.float32)))
    assert ours.dtype == np.float32
    exact = np.array([math.erf(float(v)) for v in grid])
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert (np.abs(ours.astype(np.float64) - exact) / np.maximum(ulp, 1e-45)).max() <= 1.0


def test_generic_erf_special_values(device):
    backend = nk.backends.get(device)
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-310]
    with backend.scope():
        ours = backend.to_host(special.erf(backend.xp, backend.asarray(values, nk.float64)))
    assert ours[:4].tolist() == [0.0, 0.0, 1.0, -1.0]
    assert math.isnan(ours[4])
    assert ours[5] == pytest.approx(1e-310 * 2 / math.sqrt(math.pi), rel=1e-12)


def test_generic_erf_keeps_float16(device):
    backend = nk.backends.get(device)
    if "float16" not in backend._xp_dtypes:
        pytest.skip(f"{device} has no float16")
    with backend.scope():
        ours = backend.to_host(special.erf(backend.xp, backend.asarray([0.5, -1.0], nk.float16)))
    assert ours.dtype == np.float16
    np.testing.assert_allclose(ours, [math.erf(0.5), math.erf(-1.0)], rtol=1e-3)


def test_backend_erf_override_agrees_with_generic_kernel(device):
    backend = nk.backends.get(device)
    override = backend.kernels.get("erf")
    if override is None:
        pytest.skip(f"{device} has no erf override (the generic kernel runs)")
    with backend.scope():
        grid = backend.asarray(_erf_grid()[::7], nk.float64)
        got, expected = override(backend.xp, grid), special.erf(backend.xp, grid)
    np.testing.assert_allclose(backend.to_host(got), backend.to_host(expected), rtol=1e-14, atol=1e-300)


def test_erf_kernel_is_looked_up_when_the_op_is_built(device, monkeypatch):
    backend = nk.backends.get(device)
    calls = []

    def spy(xp, x):
        calls.append(x.shape)
        return special.erf(xp, x)

    monkeypatch.setitem(backend.kernels, "erf", spy)
    y = nk.ones((2, 3), device=device).erf()
    monkeypatch.delitem(backend.kernels, "erf")
    y.forward()
    assert calls == [(2, 3)]


# --- activations -----------------------------------------------------------------------------------
# PyTorch's kinks are in every input, so its gradient convention there is compared too
KINKS = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0])
ACTIVATIONS = [
    ("gelu", lambda x: x.gelu(), F.gelu),
    ("gelu_tanh", lambda x: x.gelu(approximate="tanh"), lambda t: F.gelu(t, approximate="tanh")),
    ("silu", lambda x: x.silu(), F.silu),
    ("mish", lambda x: x.mish(), F.mish),
    ("elu", lambda x: x.elu(), F.elu),
    ("elu_alpha", lambda x: x.elu(alpha=0.5), lambda t: F.elu(t, alpha=0.5)),
    ("selu", lambda x: x.selu(), F.selu),
    ("celu", lambda x: x.celu(), F.celu),
    ("celu_alpha", lambda x: x.celu(alpha=2.0), lambda t: F.celu(t, alpha=2.0)),
    ("hardtanh", lambda x: x.hardtanh(), F.hardtanh),
    ("hardtanh_range", lambda x: x.hardtanh(min_val=-3.0, max_val=1.0), lambda t: F.hardtanh(t, -3.0, 1.0)),
    ("relu6", lambda x: x.relu6(), F.relu6),
    ("hardsigmoid", lambda x: x.hardsigmoid(), F.hardsigmoid),
    ("hardswish", lambda x: x.hardswish(), F.hardswish),
    ("softsign", lambda x: x.softsign(), F.softsign),
    ("log_sigmoid", lambda x: x.log_sigmoid(), F.logsigmoid),
]


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_values_and_gradients_match_torch_at_kinks_too(device, rng, name, ours, theirs):
    a = np.concatenate([rng.uniform(-8.0, 8.0, 30), KINKS])
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64
    rtol = 1e-7 if name == "hardsigmoid" else 1e-10
    against_torch(ours, theirs, [a], device, rtol=rtol)


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_gradcheck(device, rng, name, ours, theirs):
    a = rng.uniform(-5.0, 5.0, (3, 4))
    a = np.where(np.min(np.abs(a[..., None] - KINKS), axis=-1) < 0.05, a + 0.1, a)  # off the kinks
    assert gradcheck(ours, [a], device=device)


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_stay_finite_at_large_inputs(device, name, ours, theirs):
    x = nk.from_ndarray([-1e4, -50.0, 50.0, 1e4], dtype="float32", device=device).requires_grad()
    y = ours(x)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(nk.backends.to_host(x.grad)).all()
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor([-1e4, -50.0, 50.0, 1e4])).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda x: x.gelu(approximate="erf"), "approximate must be 'none' or 'tanh'"),
        (lambda x: x.celu(alpha=0.0), "alpha must not be 0"),
        (lambda x: x.hardtanh(min_val=2.0, max_val=1.0), "must not be greater than max_val"),
        (lambda x: x.elu(alpha="1"), "alpha must be a real number"),
    ],
)
def test_activation_arguments_are_checked_when_built(device, build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build(nk.ones(3, device=device))
