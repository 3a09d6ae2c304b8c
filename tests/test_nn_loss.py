"""Every loss in both reductions: values against NumPy formulas and PyTorch, gradients against
finite differences and PyTorch, numerical stability, and build-time errors, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.nn import loss
from neuronika.testing import gradcheck


def leaf(array, device: str) -> nk.Var:
    return nk.from_ndarray(np.asarray(array, dtype=np.float64), dtype="float64", device=device)


def grad_of(var: nk.VarDiff) -> np.ndarray:
    return var._node.backend.to_host(var.grad)


def log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def make_inputs(name: str, rng: np.random.Generator):
    """(input, target) host arrays of a shape and range that suit each loss."""
    if name == "bce_loss":
        return rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    if name == "nll_loss":
        return log_softmax(rng.standard_normal((5, 4))), np.array([0, 3, 1, 1, 2], dtype=np.float64)
    if name == "kldiv_loss":
        return log_softmax(rng.standard_normal((4, 3))), np.exp(log_softmax(rng.standard_normal((4, 3))))
    return rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


def reference(name: str, x: np.ndarray, t: np.ndarray, reduction: str) -> float:
    if name == "mse_loss":
        terms = (x - t) ** 2
    elif name == "mae_loss":
        terms = np.abs(x - t)
    elif name == "bce_loss":
        terms = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    elif name == "bce_with_logits_loss":
        terms = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    elif name == "nll_loss":
        terms = -x[np.arange(len(t)), t.astype(int)]
    else:
        terms = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1)) - x), 0.0)
        return terms.sum() / (x.shape[0] if reduction == "mean" else 1)
    return terms.sum() if reduction == "sum" else terms.mean()


LOSSES = ["mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "nll_loss", "kldiv_loss"]
TARGET_DIFFERENTIABLE = ["mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "kldiv_loss"]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_values_match_numpy(device, rng, name, reduction):
    x, t = make_inputs(name, rng)
    value = getattr(loss, name)(leaf(x, device), leaf(t, device), reduction=reduction)
    assert value.shape == ()
    np.testing.assert_allclose(value.forward().item(), reference(name, x, t, reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradients_with_respect_to_the_input(device, rng, name, reduction):
    x, t = make_inputs(name, rng)
    fn = getattr(loss, name)
    assert gradcheck(lambda v: fn(v, leaf(t, device), reduction), [x], device=device)


@pytest.mark.parametrize("name", TARGET_DIFFERENTIABLE)
def test_loss_gradients_with_respect_to_a_differentiable_target(device, rng, name):
    x, t = make_inputs(name, rng)
    if name == "mae_loss":
        t = x + rng.choice([-1.0, 1.0], x.shape) * rng.uniform(0.1, 1.0, x.shape)  # away from the kink
    fn = getattr(loss, name)
    assert gradcheck(lambda v, w: fn(v, w, "sum"), [x, t], device=device)


def test_reduction_enum_and_strings_agree(device, rng):
    x, t = make_inputs("mse_loss", rng)
    xv, tv = leaf(x, device), leaf(t, device)
    assert loss.mse_loss(xv, tv, loss.Reduction.Sum).forward().item() == loss.mse_loss(xv, tv, "sum").forward().item()
    assert loss.mse_loss(xv, tv, nn.loss.Reduction.Mean).forward().item() == loss.mse_loss(xv, tv).forward().item()
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        loss.mse_loss(xv, tv, "batchmean")


@pytest.mark.parametrize("name", ["mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "kldiv_loss"])
def test_shape_mismatch_raises_when_built(device, name):
    with pytest.raises(ValueError, match=rf"{name}: input \(4, 3\) and target \(4, 1\) must have the same shape"):
        getattr(loss, name)(nk.rand((4, 3), device=device), nk.rand((4, 1), device=device))


def test_bce_with_logits_is_stable_for_huge_logits(device):
    x = leaf([[800.0, -800.0, 0.0, 30.0]], device).requires_grad()
    t = leaf([[1.0, 1.0, 0.5, 0.0]], device)
    value = loss.bce_with_logits_loss(x, t, "sum")
    value.backward()
    expected = 0.0 + 800.0 + np.log(2.0) + 30.0 + np.log1p(np.exp(-30.0))
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(grad_of(x), [[0.0, -1.0, 0.0, 1 / (1 + np.exp(-30.0))]], rtol=1e-12)
    x32 = nk.from_ndarray(np.array([800.0, -800.0], np.float32), device=device)
    assert np.isfinite(loss.bce_with_logits_loss(x32, nk.zeros(2, device=device)).forward().item())


def test_bce_clamps_its_logs_at_minus_100(device):
    x = leaf([0.0, 1.0, 0.0, 1.0], device).requires_grad()
    t = leaf([1.0, 0.0, 0.0, 1.0], device)
    value = loss.bce_loss(x, t, "sum")
    value.backward()
    assert value.item() == pytest.approx(200.0)
    assert np.all(np.isfinite(grad_of(x)))


def test_kldiv_treats_zero_targets_as_zero_terms_and_means_over_the_batch(device):
    x = leaf(np.log([[0.5, 0.5], [0.25, 0.75]]), device).requires_grad()
    t = leaf([[1.0, 0.0], [0.25, 0.75]], device)
    value = loss.kldiv_loss(x, t)
    value.backward()
    np.testing.assert_allclose(value.item(), np.log(2.0) / 2, rtol=1e-12)  # second row is 0
    np.testing.assert_allclose(grad_of(x), -np.array([[1.0, 0.0], [0.25, 0.75]]) / 2, rtol=1e-12)


def test_nll_accepts_float_and_integer_class_indices(device, rng):
    x = log_softmax(rng.standard_normal((3, 4)))
    expected = -(x[0, 2] + x[1, 0] + x[2, 3]) / 3
    xv = leaf(x, device)
    for target in ([2, 0, 3], np.array([2, 0, 3]), leaf([2, 0, 3], device), nk.from_ndarray(np.array([2, 0, 3])).to(device)):
        np.testing.assert_allclose(loss.nll_loss(xv, target).forward().item(), expected, rtol=1e-12)


def test_nll_follows_a_target_assigned_per_batch(device, rng):
    x = log_softmax(rng.standard_normal((3, 4)))
    labels = leaf([0, 0, 0], device)
    value = loss.nll_loss(leaf(x, device), labels, "sum")
    assert value.forward().item() == pytest.approx(-x[:, 0].sum())
    labels.assign(np.array([1.0, 2.0, 3.0]))
    assert value.forward().item() == pytest.approx(-(x[0, 1] + x[1, 2] + x[2, 3]))


def test_nll_rejects_bad_indices_and_shapes_when_built(device):
    x = nk.rand((3, 4), device=device)
    with pytest.raises(ValueError, match=r"integers in \[0, 3\].*from 0 to 4"):
        loss.nll_loss(x, [0, 4, 1])
    with pytest.raises(ValueError, match="not integral"):
        loss.nll_loss(x, nk.from_ndarray([0.0, 1.5, 1.0], device=device))
    with pytest.raises(ValueError, match=r"-1"):
        loss.nll_loss(x, [0, -1, 1])
    with pytest.raises(ValueError, match=r"shape \(3, 1\).*shape \(3,\)"):
        loss.nll_loss(x, nk.zeros((3, 1), device=device))


def test_nll_with_spatial_axes(device, rng):
    x = log_softmax(rng.standard_normal((2, 3, 4)))
    t = rng.integers(0, 3, (2, 4)).astype(np.float64)
    picked = np.take_along_axis(x, t.astype(int)[:, None, :], axis=1)[:, 0]
    np.testing.assert_allclose(loss.nll_loss(leaf(x, device), leaf(t, device)).forward().item(), -picked.mean(), rtol=1e-12)
    assert gradcheck(lambda v: loss.nll_loss(v, leaf(t, device)), [x], device=device)


def test_loss_targets_may_be_arrays_and_the_input_must_be_a_variable(device, rng):
    x, t = make_inputs("mse_loss", rng)
    np.testing.assert_allclose(loss.mse_loss(leaf(x, device), t).forward().item(), ((x - t) ** 2).mean(), rtol=1e-12)
    with pytest.raises(TypeError, match="input must be a neuronika variable"):
        loss.mse_loss(x, leaf(t, device))


# --- against PyTorch -----------------------------------------------------------------------------

def torch_loss(torch, name: str, x, t, reduction: str):
    functional = torch.nn.functional
    if name == "mse_loss":
        return functional.mse_loss(x, t, reduction=reduction)
    if name == "mae_loss":
        return functional.l1_loss(x, t, reduction=reduction)
    if name == "bce_loss":
        return functional.binary_cross_entropy(x, t, reduction=reduction)
    if name == "bce_with_logits_loss":
        return functional.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    if name == "nll_loss":
        return functional.nll_loss(x, t.long(), reduction=reduction)
    return functional.kl_div(x, t, reduction="batchmean" if reduction == "mean" else "sum")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", LOSSES)
def test_losses_match_torch_values_and_gradients(device, rng, name, reduction):
    torch = pytest.importorskip("torch")
    x, t = make_inputs(name, rng)
    target_grad = name in TARGET_DIFFERENTIABLE
    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=target_grad)
    expected = torch_loss(torch, name, tx, tt, reduction)
    expected.backward()

    ox = leaf(x, device).requires_grad()
    ot = leaf(t, device).requires_grad() if target_grad else leaf(t, device)
    value = getattr(loss, name)(ox, ot, reduction)
    value.backward()
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad_of(ox), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    if target_grad:
        np.testing.assert_allclose(grad_of(ot), tt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_saturated_bce_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 1.0, 1e-50, 1 - 1e-16, 0.3])
    t = np.array([1.0, 0.0, 0.5, 0.5, 0.2])
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(tx, torch.tensor(t), reduction="sum")
    expected.backward()
    ox = leaf(x, device).requires_grad()
    value = loss.bce_loss(ox, leaf(t, device), "sum")
    value.backward()
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)
    # PyTorch's 1e-12 floor of x(1 - x) is a float32 constant: 4e-9 apart from ours
    np.testing.assert_allclose(grad_of(ox), tx.grad.numpy(), rtol=1e-8)
