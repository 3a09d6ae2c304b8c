"""``neuronika.nn.functional`` against ``torch.nn.functional``: same names, same argument names
and order, same values and gradients, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
import neuronika.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def leaf(array, device: str) -> nk.VarDiff:
    return nk.from_ndarray(np.asarray(array, dtype=np.float64), dtype="float64", device=device).requires_grad()


def check(ours, theirs, pairs, rng, rtol: float = 1e-10) -> None:
    seed = rng.standard_normal(tuple(theirs.shape))
    np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-12)
    theirs.backward(torch.tensor(seed))
    ours.backward(seed)
    for mine, reference in pairs:
        np.testing.assert_allclose(mine._node.backend.to_host(mine.grad), reference.grad.numpy(), rtol=rtol, atol=1e-12)


def pair(rng, shape, device):
    array = rng.standard_normal(shape)
    return leaf(array, device), torch.tensor(array, requires_grad=True)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(device, rng, shape, with_bias):
    (x, tx), (w, tw), (b, tb) = pair(rng, shape, device), pair(rng, (3, 5), device), pair(rng, (3,), device)
    ours = F.linear(x, w, b if with_bias else None)
    theirs = TF.linear(tx, tw, tb if with_bias else None)
    check(ours, theirs, [(x, tx), (w, tw)] + ([(b, tb)] if with_bias else []), rng)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_with_bias_stride_padding_and_groups(device, rng, dims):
    spatial = {1: (9,), 2: (7, 6), 3: (5, 4, 5)}[dims]
    (x, tx) = pair(rng, (2, 4) + spatial, device)
    (w, tw) = pair(rng, (6, 2) + (3,) * dims, device)
    (b, tb) = pair(rng, (6,), device)
    name = f"conv{dims}d"
    ours = getattr(F, name)(x, w, b, stride=2, padding=1, dilation=1, groups=2)
    theirs = getattr(TF, name)(tx, tw, tb, stride=2, padding=1, dilation=1, groups=2)
    check(ours, theirs, [(x, tx), (w, tw), (b, tb)], rng)


def test_conv_padding_same_and_valid(device, rng):
    (x, tx), (w, tw) = pair(rng, (1, 2, 8), device), pair(rng, (3, 2, 5), device)
    for padding in ("same", "valid"):
        ours = F.conv1d(x, w, padding=padding, dilation=2 if padding == "same" else 1)
        theirs = TF.conv1d(tx, tw, padding=padding, dilation=2 if padding == "same" else 1)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="padding must be an int, a tuple, 'valid' or 'same'"):
        F.conv1d(x, w, padding="full")


def test_pooling_and_normalization_are_the_existing_ops(device, rng):
    (x, tx) = pair(rng, (2, 4, 6, 6), device)
    cases = [
        (F.max_pool2d(x, 2, stride=2), TF.max_pool2d(tx, 2, stride=2)),
        (F.avg_pool2d(x, 3, stride=1, padding=1), TF.avg_pool2d(tx, 3, stride=1, padding=1)),
        (F.adaptive_avg_pool2d(x, (2, 3)), TF.adaptive_avg_pool2d(tx, (2, 3))),
        (F.adaptive_max_pool2d(x, 3), TF.adaptive_max_pool2d(tx, 3)),
        (F.layer_norm(x, (6, 6)), TF.layer_norm(tx, (6, 6))),
        (F.group_norm(x, 2), TF.group_norm(tx, 2)),
        (F.batch_norm(x, None, None, training=True), TF.batch_norm(tx, None, None, training=True)),
    ]
    total, reference = cases[0][0].sum(), cases[0][1].sum()
    for ours, theirs in cases:
        np.testing.assert_allclose(ours.forward().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
        total, reference = total + (ours * ours).sum(), reference + (theirs * theirs).sum()
    check(total, reference, [(x, tx)], rng)


ACTIVATIONS = [
    ("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("sigmoid", {}), ("tanh", {}),
    ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}), ("softplus", {}), ("silu", {}),
    ("elu", {"alpha": 0.7}), ("mish", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("selu", {}),
    ("celu", {"alpha": 0.5}), ("hardtanh", {"min_val": -0.5, "max_val": 0.8}), ("relu6", {}), ("hardsigmoid", {}),
    ("hardswish", {}), ("softsign", {}), ("logsigmoid", {}),
]


@pytest.mark.parametrize("name,options", ACTIVATIONS, ids=[name + str(len(options)) for name, options in ACTIVATIONS])
def test_activations(device, rng, name, options):
    (x, tx) = pair(rng, (3, 4), device)
    check(getattr(F, name)(x, **options), getattr(TF, name)(tx, **options), [(x, tx)], rng, LOOSER.get(name, 1e-10))


#: PyTorch's hardsigmoid backward uses 1/6 rounded to float32, even for float64 inputs
LOOSER = {"hardsigmoid": 1e-7, "hardswish": 1e-7}

MODULES = [
    ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SELU", {}), ("CELU", {"alpha": 0.5}), ("Hardtanh", {}),
    ("ReLU6", {}), ("Hardsigmoid", {}), ("Hardswish", {}), ("Softsign", {}), ("LogSigmoid", {}), ("Softplus", {}),
    ("SiLU", {}), ("ELU", {"alpha": 0.5}), ("Mish", {}),
]


@pytest.mark.parametrize("name,options", MODULES, ids=[name + str(len(options)) for name, options in MODULES])
def test_activation_modules(device, rng, name, options):
    (x, tx) = pair(rng, (3, 4), device)
    check(getattr(nk.nn, name)(**options)(x), getattr(torch.nn, name)(**options)(tx), [(x, tx)], rng, LOOSER.get(name.lower(), 1e-10))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad_takes_torch_widths_last_axis_first(device, rng, mode):
    (x, tx) = pair(rng, (2, 3, 5, 6), device)
    widths = (1, 2, 2, 0)
    options = {"value": 0.5} if mode == "constant" else {}
    check(F.pad(x, widths, mode, **options), TF.pad(tx, widths, mode, **options), [(x, tx)], rng)
    with pytest.raises(ValueError, match="circular is not provided"):
        F.pad(x, widths, "circular")


def test_dropout_outside_training_is_the_identity(device, rng):
    (x, _) = pair(rng, (3, 4), device)
    assert F.dropout(x, 0.5, training=False) is x
    kept = F.dropout(x, 0.5).forward().numpy()
    assert set(np.unique(kept == 0)) <= {True, False} and np.all((kept == 0) | np.isclose(kept, 2 * x.numpy()))


def test_losses_take_torch_argument_order(device, rng):
    (x, tx) = pair(rng, (4, 3), device)
    t = np.array([0, 2, 1, 2])
    w = np.array([1.0, 2.0, 0.5])
    ours = F.cross_entropy(x, t, w, 1, "sum", 0.1) + F.nll_loss(x.log_softmax(1), t, w, 2, "mean")
    theirs = TF.cross_entropy(tx, torch.tensor(t), torch.tensor(w), None, 1, None, "sum", 0.1) + TF.nll_loss(
        tx.log_softmax(1), torch.tensor(t), torch.tensor(w), ignore_index=2
    )
    q = np.exp(rng.standard_normal((4, 3)))
    q /= q.sum(axis=1, keepdims=True)
    for reduction in ("batchmean", "mean", "sum"):
        ours = ours + F.kl_div(x.log_softmax(1), q, reduction)
        theirs = theirs + TF.kl_div(tx.log_softmax(1), torch.tensor(q), reduction=reduction)
    ours = ours + F.huber_loss(x, q, delta=0.5) + F.smooth_l1_loss(x, q, beta=0.5) + F.mse_loss(x, q) + F.l1_loss(x, q)
    theirs = theirs + TF.huber_loss(tx, torch.tensor(q), delta=0.5) + TF.smooth_l1_loss(tx, torch.tensor(q), beta=0.5)
    theirs = theirs + TF.mse_loss(tx, torch.tensor(q)) + TF.l1_loss(tx, torch.tensor(q))
    ours = ours + F.binary_cross_entropy_with_logits(x, q, pos_weight=w) + F.binary_cross_entropy(x.sigmoid(), q)
    theirs = theirs + TF.binary_cross_entropy_with_logits(tx, torch.tensor(q), pos_weight=torch.tensor(w))
    theirs = theirs + TF.binary_cross_entropy(tx.sigmoid(), torch.tensor(q))
    np.testing.assert_allclose(ours.forward().item(), theirs.item(), rtol=1e-10)
    theirs.backward()
    ours.backward()
    np.testing.assert_allclose(x._node.backend.to_host(x.grad), tx.grad.numpy(), rtol=1e-9)
