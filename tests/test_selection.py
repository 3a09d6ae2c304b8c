"""Selection and clipping: ``nk.where``, ``nk.maximum``, ``nk.minimum``, ``clip``/``clamp``
(issue 13 §3): values and gradients as PyTorch, gradchecked in float64."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import gradcheck


def _leaf(array, device):
    return nk.from_ndarray(array, dtype="float64", device=device).requires_grad()


def _grad(var):
    return nk.backends.to_host(var.grad)


def test_where_matches_pytorch_with_broadcasting(device, rng):
    torch = pytest.importorskip("torch")
    cond = rng.random((3, 1)) > 0.5
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    x, y = _leaf(a, device), _leaf(b, device)
    out = nk.where(nk.from_ndarray(cond, device=device), x, y)
    seed = rng.standard_normal((3, 4))
    out.backward(nk.backends.get(device).asarray(seed))
    ta, tb = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
    theirs = torch.where(torch.from_numpy(cond), ta, tb)
    theirs.backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
    np.testing.assert_allclose(_grad(x), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_grad(y), tb.grad.numpy(), rtol=1e-12)


def test_where_takes_scalars_and_masks_computed_in_the_graph(device, rng):
    values = rng.standard_normal((2, 5))
    assert gradcheck(lambda x: nk.where(x > 0, x * 2.0, 0.5), [values], device=device)
    assert gradcheck(lambda x, y: nk.where(x > y, x, y), [values, rng.standard_normal(5)], device=device)
    x = nk.from_ndarray(values, device=device)
    np.testing.assert_array_equal(nk.where(x > 0, 1.0, -1.0).forward().numpy(), np.where(values > 0, 1.0, -1.0))


def test_where_errors_at_build_time(device):
    x = nk.zeros(3, device=device)
    with pytest.raises(TypeError, match="condition must be a bool variable, got float32"):
        nk.where(x, x, x)
    with pytest.raises(TypeError, match="different dtypes"):
        nk.where(x > 0, x, nk.zeros(3, dtype="float64", device=device))
    with pytest.raises(ValueError, match="do not broadcast"):
        nk.where(x > 0, x, nk.zeros(4, device=device))
    with pytest.raises(TypeError, match="condition must be a bool variable, got ndarray"):
        nk.where(np.ones(3) > 0, x, x)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_match_pytorch_including_ties(device, rng, name):
    torch = pytest.importorskip("torch")
    a = rng.integers(0, 3, (3, 4)).astype(np.float64)  # small integers: many ties
    b = rng.integers(0, 3, (4,)).astype(np.float64)
    x, y = _leaf(a, device), _leaf(b, device)
    out = getattr(nk, name)(x, y)
    seed = rng.standard_normal((3, 4))
    out.backward(nk.backends.get(device).asarray(seed))
    ta, tb = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
    theirs = getattr(torch, name)(ta, tb)
    theirs.backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
    np.testing.assert_allclose(_grad(x), ta.grad.numpy(), rtol=1e-12)  # ties: 0.5 / 0.5
    np.testing.assert_allclose(_grad(y), tb.grad.numpy(), rtol=1e-12)


def test_maximum_and_minimum_gradcheck_and_scalars(device, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert gradcheck(lambda x, y: nk.maximum(x, y) + nk.minimum(y, x), [a, b], device=device)
    x = nk.from_ndarray(np.array([-1.0, 0.0, 2.0]), device=device)
    assert nk.maximum(x, 0.0).forward().numpy().tolist() == [0.0, 0.0, 2.0]
    assert nk.minimum(1.0, x).forward().numpy().tolist() == [-1.0, 0.0, 1.0]
    tie = nk.from_ndarray([1.0], device=device).requires_grad()
    nk.maximum(tie, 1.0).sum().backward()
    assert nk.backends.to_host(tie.grad).tolist() == [0.5]


@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.0), (0.0, None), (1.0, -1.0)])
def test_clip_matches_pytorch_clamp_with_bounds_included(device, rng, low, high):
    torch = pytest.importorskip("torch")
    a = np.concatenate([rng.standard_normal(8), [-0.5, 0.5, 0.0, 1.0, -1.0]])  # values on the bounds
    x = _leaf(a, device)
    out = x.clip(low, high)
    seed = rng.standard_normal(a.shape)
    out.backward(nk.backends.get(device).asarray(seed))
    tensor = torch.from_numpy(a).requires_grad_()
    theirs = torch.clamp(tensor, low, high)
    theirs.backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(_grad(x), tensor.grad.numpy())


def test_clamp_is_clip_and_gradchecks(device, rng):
    a = rng.uniform(-2, 2, (3, 4))
    a = np.where(np.abs(np.abs(a) - 1) < 1e-3, 0.0, a)  # no value within the finite-difference step of a bound
    assert gradcheck(lambda x: x.clamp(min=-1.0, max=1.0), [a], device=device)
    assert nk.Var.clamp is nk.Var.clip


def test_clip_of_integers_and_its_errors(device):
    labels = nk.from_ndarray(np.array([-3, 2, 9]), device=device)
    assert labels.clip(0, 5).forward().numpy().tolist() == [0, 2, 5]
    with pytest.raises(TypeError, match="integral for a int64"):
        labels.clip(0.5)
    with pytest.raises(ValueError, match="at least one of min and max"):
        nk.zeros(2, device=device).clip()
    with pytest.raises(TypeError, match="nk.maximum / nk.minimum"):
        nk.zeros(2, device=device).clip(nk.zeros(2, device=device))
