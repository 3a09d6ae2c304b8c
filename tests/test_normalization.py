"""Normalization: layer_norm, group_norm and batch_norm (functional and layers) against PyTorch
with the same weights — values, input and parameter gradients, running statistics, evaluation —
finite differences, train/eval switching of graphs built once, and build-time errors."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.testing import gradcheck


def leaf(array, device):
    return nk.from_ndarray(array, dtype="float64", device=device).requires_grad()


def host(var):
    return var._node.backend.to_host(var.grad)


def check_against_torch(ours, theirs, arrays, device, rng):
    """Run ``ours(*leaves)`` and ``theirs(*tensors)``; compare values and every gradient."""
    torch = pytest.importorskip("torch")
    leaves = [leaf(a, device) for a in arrays]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours(*leaves).forward(), theirs(*tensors)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    cotangent = rng.standard_normal(y.shape)
    y.backward(nk.from_ndarray(cotangent, dtype="float64", device=device).data)
    ty.backward(torch.tensor(cotangent))
    for ours_leaf, tensor in zip(leaves, tensors):
        np.testing.assert_allclose(host(ours_leaf), tensor.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (3, 5)), ((2, 3, 4, 5), (5,))])
def test_layer_norm_matches_torch(device, rng, shape, normalized):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(shape), rng.standard_normal(normalized), rng.standard_normal(normalized)]
    check_against_torch(
        lambda x, w, b: nk.layer_norm(x, normalized, w, b, eps=1e-5),
        lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b, eps=1e-5),
        arrays, device, rng,
    )


@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((2, 4, 5), 2), ((3, 6, 2, 3), 6), ((2, 4, 3, 3), 1)])
def test_group_norm_matches_torch(device, rng, shape, groups):
    torch = pytest.importorskip("torch")
    channels = shape[1]
    arrays = [rng.standard_normal(shape), rng.standard_normal(channels), rng.standard_normal(channels)]
    check_against_torch(
        lambda x, w, b: nk.group_norm(x, groups, w, b),
        lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b),
        arrays, device, rng,
    )


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch_with_running_statistics(device, rng, shape, training):
    torch = pytest.importorskip("torch")
    mean0, var0 = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    running = [nk.from_ndarray(a, dtype="float64", device=device) for a in (mean0, var0)]
    torch_running = [torch.tensor(a) for a in (mean0, var0)]
    arrays = [rng.standard_normal(shape), rng.standard_normal(3), rng.standard_normal(3)]
    check_against_torch(
        lambda x, w, b: nk.batch_norm(x, *running, w, b, training=training, momentum=0.3),
        lambda x, w, b: torch.nn.functional.batch_norm(x, *torch_running, w, b, training=training, momentum=0.3),
        arrays, device, rng,
    )
    for ours, theirs in zip(running, torch_running):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fn", [
    lambda x: nk.layer_norm(x, (3, 4)),
    lambda x: nk.group_norm(x, 2),
    lambda x: nk.batch_norm(x, None, None, training=True),
], ids=["layer", "group", "batch"])
def test_normalization_gradients_match_finite_differences(device, rng, fn):
    assert gradcheck(fn, [rng.standard_normal((2, 4, 3, 4))], device=device)


def test_layer_and_group_norm_layers_match_torch_modules(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 3, 5))
    for ours, theirs in ((nn.LayerNorm((3, 5), dtype="float64", device=device), torch.nn.LayerNorm((3, 5), dtype=torch.float64)),
                         (nn.GroupNorm(2, 4, dtype="float64", device=device), torch.nn.GroupNorm(2, 4, dtype=torch.float64))):
        with torch.no_grad():
            for parameter in theirs.parameters():
                parameter.uniform_(-1, 1)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        np.testing.assert_allclose(ours(nk.from_ndarray(x, dtype="float64", device=device)).forward().numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,message", [
    (lambda x: nk.layer_norm(x, 5), "does not end with normalized_shape"),
    (lambda x: nk.layer_norm(x, 4, weight=nk.ones(3)), "weight has shape"),
    (lambda x: nk.group_norm(x, 3), "num_groups must be a positive int dividing the channels"),
    (lambda x: nk.batch_norm(x, nk.zeros(4), nk.ones(4), training=False), r"running_mean has shape \(4,\)"),
    (lambda x: nk.batch_norm(x, None, None, training=False), "needs running_mean"),
    (lambda x: nk.batch_norm(nk.rand((1, 2)), None, None, training=True), "more than one value per channel"),
    (lambda x: nn.GroupNorm(3, 4), "must divide num_channels"),
    (lambda x: nn.BatchNorm2d(0), "num_features must be a positive int"),
])
def test_bad_normalization_arguments_raise_at_build(call, message):
    x = nk.rand((2, 2, 3, 4))
    with pytest.raises(ValueError, match=message):
        call(x)


def test_batch_norm_layer_matches_torch_over_training_steps_then_eval(device, rng):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm2d(3, momentum=0.2, dtype="float64", device=device)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.2, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-1, 1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    x = nk.zeros((4, 3, 2, 3), dtype="float64", device=device)
    y = ours(x)                      # built once, replayed over the batches
    for _ in range(3):
        batch = rng.standard_normal((4, 3, 2, 3)) * 2 + 1
        x.assign(batch)
        y.forward()
        y.forward()                  # a second forward without changes computes nothing again
        expected = theirs(torch.tensor(batch))
        np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, buffer in ours.named_buffers():
        np.testing.assert_allclose(buffer.numpy(), theirs.state_dict()[name].numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    batch = rng.standard_normal((4, 3, 2, 3))
    x.assign(batch)                  # the same graph, now in evaluation mode
    np.testing.assert_allclose(y.forward().numpy(), theirs(torch.tensor(batch)).detach().numpy(), rtol=1e-10, atol=1e-12)
    state = ours.state_dict()
    assert float(nk.from_ndarray(state["num_batches_tracked"]).item()) == 3


def test_batch_norm_buffers_round_trip_through_save_and_load(device, tmp_path):
    layer = nn.BatchNorm1d(2, device=device)
    layer(nk.from_ndarray([[1.0, 2.0], [3.0, 6.0]], device=device)).forward()
    nk.save(layer.state_dict(), tmp_path / "bn.npz")
    fresh = nn.BatchNorm1d(2, device=device)
    fresh.load_state_dict(nk.load(tmp_path / "bn.npz"))
    for (name, a), (_, b) in zip(layer.named_buffers(), fresh.named_buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    np.testing.assert_allclose(fresh.running_mean.numpy(), [0.2, 0.4], rtol=1e-6)


def test_a_graphs_own_eval_and_train_switch_its_batch_norm_nodes(device, rng):
    """``y.eval()`` on a built graph (the crate's way to evaluate) switches batch norm to the
    running statistics and stops updating them, as ``module.eval()`` does; ``y.train()`` switches
    back. Before, only dropout was switched: "evaluation" silently kept normalizing with the batch
    statistics and kept moving the running ones."""
    torch = pytest.importorskip("torch")
    x_np = rng.standard_normal((4, 2, 3, 3)) * 2.0 + 1.0
    layer = nn.BatchNorm2d(2, dtype="float64", device=device)
    reference = torch.nn.BatchNorm2d(2).double()
    y = layer(nk.from_ndarray(x_np, dtype="float64", device=device))
    y.forward()
    reference(torch.tensor(x_np))
    y.eval()
    reference.eval()
    for _ in range(2):  # evaluation leaves the running statistics alone
        np.testing.assert_allclose(y.forward().numpy(), reference(torch.tensor(x_np)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean.numpy(), reference.running_mean.numpy(), rtol=1e-12)
    y.train()
    reference.train()
    np.testing.assert_allclose(y.forward().numpy(), reference(torch.tensor(x_np)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_var.numpy(), reference.running_var.numpy(), rtol=1e-12)
