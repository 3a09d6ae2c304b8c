"""nn.Embedding and nn.functional.embedding / one_hot against PyTorch with copied weights:
values, the scatter-add gradient (repeats accumulate, the padding row gets none), indices
re-assigned between replays, errors, state dicts, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
import neuronika.nn.functional as F
from neuronika import nn

torch = pytest.importorskip("torch")


def ids(array, device: str) -> nk.Var:
    return nk.from_ndarray(np.asarray(array, dtype=np.int64), device=device)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch_with_repeated_indices(device, rng, padding_idx):
    theirs = torch.nn.Embedding(7, 4, padding_idx=padding_idx, dtype=torch.float64)
    ours = nn.Embedding(7, 4, padding_idx=padding_idx, dtype="float64", device=device)
    ours.load_state_dict({"weight": theirs.weight.detach().numpy()})
    index = np.array([[2, 5, 5, 0], [6, 2, 2, 2], [1, 5, 3, 6]])
    seed = rng.standard_normal((3, 4, 4))
    expected = theirs(torch.tensor(index))
    expected.backward(torch.tensor(seed))
    output = ours(ids(index, device))
    output.backward(seed)
    np.testing.assert_allclose(output.numpy(), expected.detach().numpy(), rtol=1e-12)
    grad = ours.weight._node.backend.to_host(ours.weight.grad)
    np.testing.assert_allclose(grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-14)
    if padding_idx is not None:
        assert np.all(grad[padding_idx % 7] == 0)


def test_padding_row_starts_at_zero_and_from_pretrained(device, rng):
    layer = nn.Embedding(5, 3, padding_idx=1, device=device)
    assert np.all(layer.weight.numpy()[1] == 0) and np.any(layer.weight.numpy()[0] != 0)
    table = rng.standard_normal((4, 2))
    frozen = nn.Embedding.from_pretrained(table, device=device)
    assert frozen.parameters() == [] and set(frozen.state_dict()) == {"weight"}
    np.testing.assert_allclose(frozen(ids([3, 0], device)).forward().numpy(), table[[3, 0]], rtol=1e-6)
    trainable = nn.Embedding.from_pretrained(table, freeze=False, device=device)
    assert len(trainable.parameters()) == 1


def test_indices_assigned_between_replays_are_used_and_checked(device, rng):
    layer = nn.Embedding(6, 2, device=device)
    index = ids([0, 1], device)
    out = layer(index)
    first = out.forward().numpy()
    index.assign(np.array([5, 4]))
    np.testing.assert_allclose(out.forward().numpy(), layer.weight.numpy()[[5, 4]])
    assert not np.allclose(first, out.numpy())
    index.assign(np.array([6, 0]))
    with pytest.raises(IndexError, match="index 6 is out of range"):
        out.forward()


def test_embedding_build_time_errors(device):
    layer = nn.Embedding(6, 2, device=device)
    with pytest.raises(TypeError, match="integer variable"):
        layer(nk.zeros(3, device=device))
    with pytest.raises(ValueError, match="padding_idx must lie in"):
        nn.Embedding(6, 2, padding_idx=6)
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(6, 2, max_norm=1.0)


def test_functional_embedding_and_one_hot(device, rng):
    table = nk.from_ndarray(rng.standard_normal((5, 3)), dtype="float64", device=device).requires_grad()
    index = ids([[4, 4], [0, 1]], device)
    out = F.embedding(index, table, padding_idx=4)
    out.backward(1.0)
    expected = torch.nn.functional.embedding(torch.tensor([[4, 4], [0, 1]]), torch.tensor(table.numpy(), requires_grad=True), padding_idx=4)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy())
    assert np.all(table._node.backend.to_host(table.grad)[4] == 0)
    encoded = F.one_hot(ids([2, 0], device), num_classes=3)
    np.testing.assert_array_equal(encoded.forward().numpy(), torch.nn.functional.one_hot(torch.tensor([2, 0]), 3).numpy())
    with pytest.raises(ValueError, match="num_classes"):
        F.one_hot(ids([2, 0], device))
