"""Cross-entropy, weighted NLL, Huber, smooth L1 and BCE-with-logits pos_weight against
torch.nn.functional (values, input and target gradients, every reduction), float64 gradcheck,
stability at ±1e4 and build-time errors, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.nn import loss
from neuronika.testing import gradcheck

torch = pytest.importorskip("torch")
F = torch.nn.functional


def leaf(array, device: str) -> nk.Var:
    return nk.from_ndarray(np.asarray(array, dtype=np.float64), dtype="float64", device=device)


def host(array_or_var) -> np.ndarray:
    if isinstance(array_or_var, nk.Var):
        return array_or_var.numpy()
    return np.asarray(nk.from_ndarray(array_or_var).numpy()) if not isinstance(array_or_var, np.ndarray) else array_or_var


def grad_of(var: nk.VarDiff) -> np.ndarray:
    return var._node.backend.to_host(var.grad)


def compare(ours: nk.Var, theirs, pairs, rng, rtol: float = 1e-10) -> None:
    """Values equal; gradients of every (our leaf, torch tensor) pair equal, for a random seed."""
    seed = rng.standard_normal(tuple(theirs.shape)) if theirs.dim() else 1.0
    np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-13)
    theirs.backward(torch.tensor(seed) if theirs.dim() else None)
    ours.backward(seed)
    for mine, reference in pairs:
        np.testing.assert_allclose(grad_of(mine), reference.grad.numpy(), rtol=rtol, atol=1e-13)


INDEX_CASES = {
    "plain": dict(),
    "weighted": dict(weight=True),
    "ignored": dict(ignore=True),
    "weighted_ignored_smoothed": dict(weight=True, ignore=True, smoothing=0.2),
    "smoothed": dict(smoothing=0.1),
    "ignore_index_in_range": dict(ignore_index=0, weight=True),
}


def index_problem(rng, spatial: bool, weight: bool = False, ignore: bool = False, smoothing: float = 0.0, ignore_index: int = -100):
    shape = (4, 5, 3, 2) if spatial else (6, 5)
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, 5, (shape[0],) + shape[2:])
    if ignore:
        t.reshape(-1)[[1, 4]] = ignore_index
    w = rng.uniform(0.5, 2.0, 5) if weight else None
    return x, t, w, dict(ignore_index=ignore_index, label_smoothing=smoothing)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCd1d2"])
@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_cross_entropy_with_class_indices_matches_torch(device, rng, case, spatial, reduction):
    x, t, w, options = index_problem(rng, spatial, **INDEX_CASES[case])
    tx = torch.tensor(x, requires_grad=True)
    expected = F.cross_entropy(tx, torch.tensor(t), weight=None if w is None else torch.tensor(w), reduction=reduction, **options)
    ox = leaf(x, device).requires_grad()
    ours = loss.cross_entropy_loss(ox, t, weight=None if w is None else leaf(w, device), reduction=reduction, **options)
    assert ours.shape == tuple(expected.shape)
    compare(ours, expected, [(ox, tx)], rng)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", ["plain", "weighted", "ignored", "ignore_index_in_range"])
def test_nll_with_weight_and_ignore_index_matches_torch(device, rng, case, reduction):
    x, t, w, options = index_problem(rng, spatial=case == "ignored", **INDEX_CASES[case])
    options.pop("label_smoothing")
    x = np.log(np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))
    tx = torch.tensor(x, requires_grad=True)
    expected = F.nll_loss(tx, torch.tensor(t), weight=None if w is None else torch.tensor(w), reduction=reduction, **options)
    ox = leaf(x, device).requires_grad()
    ours = loss.nll_loss(ox, leaf(t, device), reduction, weight=w, **options)
    compare(ours, expected, [(ox, tx)], rng)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_class_probabilities_matches_torch(device, rng, smoothing, weighted, reduction):
    x = rng.standard_normal((3, 4, 2)) * 2
    q = rng.dirichlet(np.ones(4), (3, 2)).transpose(0, 2, 1)
    w = rng.uniform(0.5, 2.0, 4) if weighted else None
    tx, tq = torch.tensor(x, requires_grad=True), torch.tensor(q, requires_grad=True)
    expected = F.cross_entropy(tx, tq, weight=None if w is None else torch.tensor(w), reduction=reduction, label_smoothing=smoothing)
    ox, oq = leaf(x, device).requires_grad(), leaf(q, device).requires_grad()
    ours = loss.cross_entropy_loss(ox, oq, w, reduction=reduction, label_smoothing=smoothing)
    compare(ours, expected, [(ox, tx), (oq, tq)], rng)


def test_cross_entropy_is_stable_at_huge_logits(device, rng):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    t = np.array([1, 2, 0])
    tx = torch.tensor(x, requires_grad=True)
    expected = F.cross_entropy(tx, torch.tensor(t), label_smoothing=0.1)
    ox = leaf(x, device).requires_grad()
    ours = loss.cross_entropy_loss(ox, t, label_smoothing=0.1)
    compare(ours, expected, [(ox, tx)], rng)
    assert np.isfinite(ours.item()) and ours.item() > 1e3
    x32 = nk.from_ndarray(x.astype(np.float32), device=device).requires_grad()
    value = loss.cross_entropy_loss(x32, t)
    value.backward()
    assert np.isfinite(value.item()) and np.all(np.isfinite(grad_of(x32)))


def test_cross_entropy_gradcheck_float64(device, rng):
    x, t, w, options = index_problem(rng, True, weight=True, ignore=True, smoothing=0.2)
    assert gradcheck(lambda v: loss.cross_entropy_loss(v, t, leaf(w, device), **options), [x], device=device)
    q = rng.dirichlet(np.ones(5), 3)
    assert gradcheck(
        lambda v, p: loss.cross_entropy_loss(v, p, leaf(w, device), reduction="none", label_smoothing=0.1),
        [rng.standard_normal((3, 5)), q],
        device=device,
    )
    assert gradcheck(lambda v: loss.nll_loss(v, t, weight=w, ignore_index=-100), [x], device=device)


def test_cross_entropy_of_one_unbatched_sample(device, rng):
    x = rng.standard_normal(4)
    tx = torch.tensor(x, requires_grad=True)
    expected = F.cross_entropy(tx, torch.tensor(2))
    ox = leaf(x, device).requires_grad()
    ours = loss.cross_entropy_loss(ox, 2)
    assert ours.shape == ()
    compare(ours, expected, [(ox, tx)], rng)


def test_mean_over_only_ignored_samples_is_nan_as_torch(device):
    x = leaf(np.zeros((2, 3)), device)
    assert np.isnan(loss.cross_entropy_loss(x, [-100, -100]).forward().item())
    assert np.isnan(F.cross_entropy(torch.zeros(2, 3), torch.tensor([-100, -100])).item())
    assert loss.cross_entropy_loss(x, [-100, -100], reduction="sum").forward().item() == 0.0


def test_ignored_targets_assigned_later_and_bad_indices(device, rng):
    x = rng.standard_normal((3, 4))
    labels = leaf([0, 1, 2], device)
    value = loss.cross_entropy_loss(leaf(x, device), labels, reduction="sum")
    value.forward()
    labels.assign(np.array([3.0, -100.0, 1.0]))
    expected = F.cross_entropy(torch.tensor(x), torch.tensor([3, -100, 1]), reduction="sum").item()
    assert value.forward().item() == pytest.approx(expected, rel=1e-12)
    labels.assign(np.array([3.0, -7.0, 1.0]))
    with pytest.raises(ValueError, match=r"integers in \[0, 3\].*ignore_index=-100.*from -7 to 3"):
        value.forward()
    with pytest.raises(ValueError, match=r"integers in \[0, 3\]"):
        loss.cross_entropy_loss(leaf(x, device), [0, 4, 1])


@pytest.mark.parametrize("op, smoothing", [("nll_loss", 0.0), ("cross_entropy_loss", 0.0), ("cross_entropy_loss", 0.2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_replayed_loss_switches_between_targets_with_and_without_ignored_samples(device, rng, op, smoothing, reduction):
    """Targets naming a class everywhere take a shorter path (weights all 1, mean over N); a
    replayed loss whose targets gain and lose ignored samples must match PyTorch every time."""
    x = rng.standard_normal((4, 3))
    inputs = leaf(x, device).requires_grad()
    labels = leaf([0, 1, 2, 1], device)
    extra = {"label_smoothing": smoothing} if smoothing else {}
    ours = getattr(loss, op)(inputs.log_softmax(1) if op == "nll_loss" else inputs, labels, reduction=reduction, **extra)
    for targets in ([0, 1, 2, 1], [0, -100, 2, 1], [2, 2, 0, 1], [-100, -100, -100, -100], [1, 0, 0, 2]):
        labels.assign(np.array(targets, dtype=np.float64))
        inputs.zero_grad()
        tx = torch.tensor(x, requires_grad=True)
        theirs = getattr(F, op.replace("_loss", "").replace("nll", "nll_loss"))(tx.log_softmax(1) if op == "nll_loss" else tx,
                                                      torch.tensor(targets), reduction=reduction, **extra)
        seed = rng.standard_normal(tuple(theirs.shape)) if theirs.dim() else 1.0
        np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
        theirs.backward(torch.tensor(seed) if theirs.dim() else None)
        ours.backward(seed)
        np.testing.assert_allclose(grad_of(inputs), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_build_time_errors_name_the_fix(device):
    x = nk.rand((3, 4), device=device)
    with pytest.raises(ValueError, match=r"weight must hold one number per class, shape \(4,\); got \(3,\)"):
        loss.cross_entropy_loss(x, [0, 1, 2], weight=[1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="pass the reduction by keyword"):
        loss.cross_entropy_loss(x, [0, 1, 2], "sum")
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        loss.cross_entropy_loss(x, [0, 1, 2], label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"target has shape \(3, 2\).*shape \(3,\).*or class probabilities"):
        loss.cross_entropy_loss(x, nk.zeros((3, 2), device=device))
    with pytest.raises(ValueError, match="delta must be a positive number"):
        loss.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) must broadcast"):
        loss.bce_with_logits_loss(x, x, pos_weight=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,parameter", [("huber_loss", 0.7), ("huber_loss", 1.0), ("smooth_l1_loss", 0.5), ("smooth_l1_loss", 0.0)])
def test_huber_and_smooth_l1_match_torch(device, rng, name, parameter, reduction):
    x, t = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    keyword = "delta" if name == "huber_loss" else "beta"
    expected = getattr(F, name)(tx, tt, reduction=reduction, **{keyword: parameter})
    ox, ot = leaf(x, device).requires_grad(), leaf(t, device).requires_grad()
    ours = getattr(loss, name)(ox, ot, reduction, **{keyword: parameter})
    compare(ours, expected, [(ox, tx), (ot, tt)], rng)
    if parameter:
        assert gradcheck(lambda v, w: getattr(loss, name)(v, w, reduction, **{keyword: parameter}), [x, t + 0.01], device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_pos_weight_matches_torch(device, rng, reduction):
    x = rng.standard_normal((4, 3)) * 3
    x[0] = [40.0, -40.0, 0.0]
    t = rng.uniform(0, 1, (4, 3))
    p = np.array([0.5, 2.0, 3.0])
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    expected = F.binary_cross_entropy_with_logits(tx, tt, pos_weight=torch.tensor(p), reduction=reduction)
    ox, ot = leaf(x, device).requires_grad(), leaf(t, device).requires_grad()
    ours = loss.bce_with_logits_loss(ox, ot, reduction, pos_weight=leaf(p, device))
    compare(ours, expected, [(ox, tx), (ot, tt)], rng)
    assert gradcheck(lambda v, w: loss.bce_with_logits_loss(v, w, reduction, pos_weight=p), [x[1:], t[1:]], device=device)


def test_reduction_none_keeps_the_element_wise_terms(device, rng):
    x, t = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    terms = loss.mse_loss(leaf(x, device), t, "none")
    np.testing.assert_allclose(terms.forward().numpy(), (x - t) ** 2, rtol=1e-12)


# --- module forms -------------------------------------------------------------------------------
def test_loss_modules_match_their_functions_and_move_their_weights(device, rng):
    x = rng.standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    w = np.array([1.0, 2.0, 0.5])
    tx = torch.tensor(x)
    criterion = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, ignore_index=1).to(device)
    assert "weight" in criterion.state_dict()
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1, ignore_index=1)(tx, torch.tensor(t))
    assert criterion(leaf(x, device), t).forward().item() == pytest.approx(expected.item(), rel=1e-12)
    logp = F.log_softmax(tx, dim=1)
    expected = torch.nn.NLLLoss(weight=torch.tensor(w), reduction="sum")(logp, torch.tensor(t))
    got = nn.NLLLoss(weight=w, reduction="sum").to(device)(leaf(logp.numpy(), device), t)
    assert got.forward().item() == pytest.approx(expected.item(), rel=1e-12)
    y = rng.standard_normal((4, 3))
    for ours, theirs in [
        (nn.MSELoss(), torch.nn.MSELoss()),
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum")),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5)),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
        (nn.BCEWithLogitsLoss(pos_weight=w).to(device), torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w))),
    ]:
        target = 1 / (1 + np.exp(-y))
        got = ours(leaf(x, device), leaf(target, device)).forward().item()
        assert got == pytest.approx(theirs(tx, torch.tensor(target)).item(), rel=1e-12), type(ours).__name__
    probs = 1 / (1 + np.exp(-x))
    expected = torch.nn.BCELoss()(torch.tensor(probs), torch.tensor(probs * 0.5)).item()
    assert nn.BCELoss()(leaf(probs, device), leaf(probs * 0.5, device)).forward().item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_element_weights_match_torch(device, rng, reduction):
    x, t, w, p = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 2, (3,)), rng.uniform(0.5, 2, (3,))
    tx = torch.tensor(x, requires_grad=True)
    expected = F.binary_cross_entropy_with_logits(tx, torch.tensor(t), weight=torch.tensor(w), pos_weight=torch.tensor(p), reduction=reduction)
    expected = expected + F.binary_cross_entropy(torch.sigmoid(tx), torch.tensor(t), weight=torch.tensor(w), reduction=reduction)
    ox = leaf(x, device).requires_grad()
    ours = loss.bce_with_logits_loss(ox, t, reduction, pos_weight=p, weight=w) + loss.bce_loss(ox.sigmoid(), t, reduction, weight=w)
    compare(ours, expected, [(ox, tx)], rng, rtol=1e-9)
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) must broadcast"):
        loss.bce_loss(ox.sigmoid(), t, weight=np.ones(4))


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_module_takes_torch_reductions(device, rng, reduction):
    x = np.log(rng.dirichlet(np.ones(3), 4))
    q = rng.dirichlet(np.ones(3), 4)
    expected = torch.nn.KLDivLoss(reduction=reduction)(torch.tensor(x), torch.tensor(q))
    ours = nn.KLDivLoss(reduction=reduction)(leaf(x, device), leaf(q, device))
    np.testing.assert_allclose(ours.forward().numpy(), expected.numpy(), rtol=1e-12, atol=1e-15)
