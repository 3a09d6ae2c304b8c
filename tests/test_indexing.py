"""Indexing and gathering with gradients: ``x[key]``, ``gather``, ``index_select``, ``one_hot``
(issue 13 §2)."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import gradcheck

SHAPE = (4, 5, 3)
MASK = np.array([[True, False, True, False, False], [False] * 5, [True] * 5, [False, True, False, False, True]])
# (key, whether PyTorch takes it: it has no negative slice steps)
KEYS = [
    (2, True),
    (-1, True),
    ((1, -2), True),
    ((slice(1, 3),), True),
    ((slice(None, None, 2), slice(4, 0, -2)), False),
    ((Ellipsis, -1), True),
    ((None, 1, Ellipsis, None), True),
    ((slice(None), None, 0), True),
    (([0, 0, 3],), True),
    ((np.array([[1, -1], [2, 2]]),), True),
    ((slice(None), [4, 0, 4]), True),
    (([0, 2, 2], [1, 1, 4]), True),
    (([0, 2], slice(None), [2, 0]), True),  # separated index arrays: their axis goes first
    # an int counts as an index array when arrays are present (NumPy; PyTorch slices it away first)
    ((1, slice(None), [2, 0, 0]), False),
    ((np.array([[0], [3]]), np.array([1, 2, 2])), True),  # broadcast together: (2, 3)
    ((slice(None, None, -1), [1, 1]), False),
    ((MASK,), True),
    ((slice(None), MASK[0]), True),
    ((Ellipsis, np.array([True, False, True])), True),
    ((None, [1, 3], None, slice(0, 5, 2)), True),
]


def _numpy_key(key):
    return tuple(np.asarray(k) if isinstance(k, list) else k for k in key) if isinstance(key, tuple) else key


@pytest.mark.parametrize("key, torch_ok", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem_values_and_gradients_match_numpy_and_pytorch(device, rng, key, torch_ok):
    base = rng.standard_normal(SHAPE)
    x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
    out = x[key]
    expected = base[_numpy_key(key)]
    assert out.shape == expected.shape  # known when the op is built
    np.testing.assert_array_equal(out.forward().numpy(), expected)
    seed = rng.standard_normal(expected.shape)
    out.backward(nk.backends.get(device).asarray(seed))
    reference = np.zeros(SHAPE)
    np.add.at(reference, _numpy_key(key), seed)  # scatter-add: repeated indices accumulate
    np.testing.assert_allclose(nk.backends.to_host(x.grad), reference, rtol=1e-12, atol=1e-12)
    if torch_ok:
        torch = pytest.importorskip("torch")
        tensor = torch.from_numpy(base).requires_grad_()
        tkey = tuple(torch.from_numpy(np.asarray(k)) if isinstance(k, (list, np.ndarray)) else k for k in key) if isinstance(key, tuple) else key
        theirs = tensor[tkey]
        theirs.backward(torch.from_numpy(seed))
        np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
        np.testing.assert_allclose(nk.backends.to_host(x.grad), tensor.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", [(slice(1, None), [0, 0, 2]), ([3, 3, 0], [1, 1, 1], 2), (Ellipsis, [2, 0, 2])])
def test_getitem_gradcheck(device, rng, key):
    assert gradcheck(lambda x: x[key], [rng.standard_normal(SHAPE)], device=device)


def test_index_variables_select_and_may_be_reassigned_between_replays(device, rng):
    table = nk.from_ndarray(rng.standard_normal((6, 2)), dtype="float64", device=device).requires_grad()
    index = nk.from_ndarray(np.array([[0, 5], [5, 5]]), device=device)
    assert index.dtype == nk.int64
    loss = (table[index] * 2.0).sum()
    loss.forward()
    loss.backward()
    np.testing.assert_array_equal(nk.backends.to_host(table.grad)[:, 0], [2, 0, 0, 0, 0, 6])
    table.zero_grad()
    index.assign(np.array([[1, 1], [-1, 2]]))  # negative indices count from the end, as NumPy
    loss.forward()
    loss.backward()
    np.testing.assert_array_equal(nk.backends.to_host(table.grad)[:, 1], [0, 4, 2, 0, 0, 2])
    np.testing.assert_allclose(loss.numpy(), 2 * table.numpy()[[1, 1, 5, 2]].sum())


def test_an_index_computed_in_the_graph_selects(device, rng):
    scores = nk.from_ndarray(rng.standard_normal((3, 4)), device=device)
    labels = scores.argmax(axis=1)
    picked = scores[nk.range(0, 3, dtype="int64", device=device), labels]
    np.testing.assert_allclose(picked.forward().numpy(), scores.numpy().max(axis=1))


def test_out_of_range_indices_raise_on_every_backend(device):
    x = nk.zeros((3, 4), device=device)
    with pytest.raises(IndexError, match="index 3 is out of range for axis 0 of size 3"):
        x[3]
    with pytest.raises(IndexError, match="index -5 is out of range for axis 1 of size 4"):
        x[:, [0, -5]]
    index = nk.from_ndarray(np.array([0, 2]), device=device)
    picked = x[index]
    picked.forward()
    index.assign(np.array([0, 7]))
    with pytest.raises(IndexError, match="index 7 is out of range for axis 0 of size 3"):
        picked.forward()
    rows = x.index_select(1, index)
    with pytest.raises(IndexError, match="index 7 is out of range for axis 1 of size 4"):
        rows.forward()


def test_indexing_errors_are_raised_when_the_op_is_built(device):
    x = nk.zeros((3, 4), device=device)
    with pytest.raises(IndexError, match="too many indices for a variable of shape"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(TypeError, match="nk.where"):
        x[x > 0]  # a mask computed in the graph: the output shape is not known
    with pytest.raises(TypeError, match="index variables must hold integers"):
        x[nk.zeros(2, device=device)]
    with pytest.raises(TypeError, match="index arrays must hold integers or bools"):
        x[[0.5]]
    with pytest.raises(IndexError, match=r"mask of shape \(2,\) does not match"):
        x[np.array([True, False])]
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError, match="do not broadcast"):
        x[[0, 1], [0, 1, 2]]


def test_an_index_on_another_device_raises(device):
    if device == "array_api_strict":
        other = "cpu"
    else:
        other = "array_api_strict"
    x = nk.zeros((3, 4), device=device)
    with pytest.raises(ValueError, match="move the index"):
        x[nk.from_ndarray(np.array([0]), device=other)]


def test_integer_and_bool_variables_can_be_indexed(device):
    labels = nk.from_ndarray(np.array([[3, 1], [0, 2]]), device=device)
    assert labels[:, 1].forward().numpy().tolist() == [1, 2]
    flags = labels > 1
    assert flags[0].forward().numpy().tolist() == [True, False]


def test_gather_matches_pytorch(device, rng):
    torch = pytest.importorskip("torch")
    base = rng.standard_normal((3, 4, 2))
    for axis, index_shape in [(0, (2, 4, 2)), (1, (3, 6, 1)), (-1, (2, 3, 4))]:
        index = rng.integers(0, base.shape[axis], index_shape)
        x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
        out = x.gather(axis, nk.from_ndarray(index, device=device))
        seed = rng.standard_normal(index_shape)
        out.backward(nk.backends.get(device).asarray(seed))
        tensor = torch.from_numpy(base).requires_grad_()
        theirs = tensor.gather(axis, torch.from_numpy(index))
        theirs.backward(torch.from_numpy(seed))
        np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
        np.testing.assert_allclose(nk.backends.to_host(x.grad), tensor.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_gather_gradcheck_and_errors(device, rng):
    index = nk.from_ndarray(np.array([[0, 0, 2], [1, 1, 1]]), device=device)
    assert gradcheck(lambda x: x.gather(1, index), [rng.standard_normal((2, 3))], device=device)
    x = nk.zeros((2, 3), device=device)
    with pytest.raises(ValueError, match=r"index of shape \(3, 1\) does not fit"):
        x.gather(1, nk.zeros((3, 1), dtype="int64", device=device))
    with pytest.raises(TypeError, match="must hold integers"):
        x.gather(1, nk.zeros((2, 1), device=device))
    index.assign(np.array([[2, 2, 2], [0, 1, 0]]))  # a re-assigned index is read by the next forward
    picked = nk.from_ndarray(np.arange(6.0).reshape(2, 3), device=device).gather(1, index)
    assert picked.forward().numpy().tolist() == [[2.0, 2.0, 2.0], [3.0, 4.0, 3.0]]
    index.assign(np.array([[3, 0, 0], [0, 0, 0]]))
    with pytest.raises(IndexError, match="index 3 is out of range for axis 1 of size 3"):
        picked.forward()
    negative = x.gather(1, nk.from_ndarray(np.array([[-1], [0]]), device=device))
    with pytest.raises(IndexError, match=r"index -1 is out of range .* \(valid: 0..2\)"):
        negative.forward()  # as PyTorch, gather takes no negative indices


def test_index_select_matches_pytorch(device, rng):
    torch = pytest.importorskip("torch")
    base = rng.standard_normal((3, 4))
    index = np.array([3, 0, 3])
    x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
    out = x.index_select(1, index)
    seed = rng.standard_normal((3, 3))
    out.backward(nk.backends.get(device).asarray(seed))
    tensor = torch.from_numpy(base).requires_grad_()
    theirs = tensor.index_select(1, torch.from_numpy(index))
    theirs.backward(torch.from_numpy(seed))
    np.testing.assert_array_equal(out.numpy(), theirs.detach().numpy())
    np.testing.assert_allclose(nk.backends.to_host(x.grad), tensor.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda v: v.index_select(0, [2, 2, 0]), [base], device=device)
    with pytest.raises(ValueError, match="must be 1-d"):
        x.index_select(0, [[0]])


def test_one_hot_matches_pytorch(device):
    torch = pytest.importorskip("torch")
    labels = np.array([[2, 0], [1, 2]])
    ours = nk.one_hot(nk.from_ndarray(labels, device=device), 4)
    assert ours.dtype == nk.int64 and ours.shape == (2, 2, 4)
    theirs = torch.nn.functional.one_hot(torch.from_numpy(labels), 4)
    np.testing.assert_array_equal(ours.forward().numpy(), theirs.numpy())
    as_float = nk.one_hot(nk.from_ndarray(labels, device=device), 4, dtype="float32")
    assert as_float.forward().numpy().dtype == np.float32
    with pytest.raises(IndexError, match="index 2 is out of range"):
        nk.one_hot(nk.from_ndarray(labels, device=device), 2).forward()
    with pytest.raises(TypeError, match="one_hot: takes integer variables"):
        nk.one_hot(nk.zeros(2, device=device), 2)


@pytest.mark.parametrize(
    "key",
    [np.s_[-5:], np.s_[1:10], np.s_[4:3:-2], np.s_[-5::-1], np.s_[:-5:-2], np.s_[5:0], np.s_[:, 3:-4:-1], np.s_[10::-3]],
)
def test_out_of_range_slice_bounds_are_clipped_on_every_backend(device, key):
    """Slice bounds past the axis are clipped, as in Python, NumPy and PyTorch, on every backend
    (array_api_strict raised its own IndexError, the Array API leaving them unspecified)."""
    a = np.arange(6.0).reshape(2, 3)
    x = nk.from_ndarray(a, dtype="float64", device=device).requires_grad()
    y = x[key]
    np.testing.assert_array_equal(y.forward().numpy(), a[key])
    cotangent = np.arange(1.0, 1.0 + a[key].size).reshape(a[key].shape)
    y.backward(cotangent)
    expected = np.zeros_like(a)
    expected[key] += cotangent
    np.testing.assert_array_equal(nk.backends.to_host(x.grad), expected)
