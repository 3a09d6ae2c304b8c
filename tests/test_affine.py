"""The fused affine node ``x·Wᵀ + b`` (neuronika.autograd.linalg.affine) and its use by
``nn.Linear`` and the recurrent cells: values against NumPy, gradients against finite differences
(float64), build-time errors, and the fallbacks where the node does not apply."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.autograd import linalg
from neuronika.autograd.node import nodes_of_type
from neuronika.autograd.variable import wrap
from neuronika.testing import gradcheck


def leaf(array: np.ndarray, device: str) -> nk.Var:
    return nk.from_ndarray(array, dtype="float64", device=device)


def affine(x: nk.Var, w: nk.Var, b: nk.Var) -> nk.Var:
    return wrap(linalg.affine(x._node, w._node, b._node))


@pytest.mark.parametrize("batch", [(5,), ()], ids=["batched", "single"])
def test_affine_values_and_gradients(device, rng, batch):
    x, w, b = rng.standard_normal(batch + (4,)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    out = affine(leaf(x, device), leaf(w, device), leaf(b, device))
    assert out.shape == batch + (3,)
    np.testing.assert_allclose(out.forward().numpy(), x @ w.T + b, rtol=1e-12, atol=1e-14)
    assert gradcheck(affine, [x, w, b], device=device)


def test_affine_backward_matches_the_closed_form(device, rng):
    """grad_x = g·W, grad_W = gᵀ·x, grad_b = Σ_n g, seeded with a given cotangent g."""
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    g = rng.standard_normal((6, 3))
    leaves = [leaf(a, device).requires_grad() for a in (x, w, b)]
    out = affine(*leaves)
    out.forward()
    out.backward(g)
    for var, expected in zip(leaves, (g @ w, g.T @ x, g.sum(axis=0))):
        np.testing.assert_allclose(var._node.backend.to_host(var.grad), expected, rtol=1e-12, atol=1e-13)


def test_affine_with_only_some_operands_differentiable(device, rng):
    x, w, b = rng.standard_normal((2, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    assert gradcheck(lambda w_: affine(leaf(x, device), w_, leaf(b, device)), [w], device=device)
    assert gradcheck(lambda x_: affine(x_, leaf(w, device), leaf(b, device)), [x], device=device)
    out = affine(leaf(x, device), leaf(w, device), leaf(b, device))
    assert not isinstance(out, nk.VarDiff)


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, message",
    [
        ((2, 4), (3, 5), (3,), r"affine: cannot multiply \(2, 4\) by \(3, 5\) transposed: inner sizes 4 and 5"),
        ((2, 4), (3, 4), (4,), r"affine: the bias has shape \(4,\), expected \(3,\)"),
        ((2, 2, 4), (3, 4), (3,), r"affine: the input must be a matrix \(2-d\) or a vector \(1-d\)"),
        ((2, 4), (4,), (3,), r"affine: the weight must be a matrix"),
        ((2, 4), (3, 4), (1, 3), r"affine: the bias must be a vector"),
    ],
)
def test_affine_checks_shapes_when_built(device, x_shape, w_shape, b_shape, message):
    with pytest.raises(ValueError, match=message):
        affine(nk.zeros(x_shape, device=device), nk.zeros(w_shape, device=device), nk.zeros(b_shape, device=device))


def test_affine_rejects_mixed_dtypes_when_built(device):
    with pytest.raises(TypeError, match="affine: operands have different dtypes"):
        affine(nk.zeros((2, 4), dtype="float64", device=device), nk.zeros((3, 4), device=device), nk.zeros(3, device=device))


# --- nn.Linear and the cells ------------------------------------------------------------------


@pytest.mark.parametrize("batch", [(5,), (), (2, 3)], ids=["batched", "single", "leading-axes"])
def test_linear_uses_the_fused_node_and_keeps_its_shapes(device, rng, batch):
    layer = nn.Linear(4, 3, dtype="float64", device=device)
    x = rng.standard_normal(batch + (4,))
    out = layer(leaf(x, device))
    assert out.shape == batch + (3,)
    assert len(nodes_of_type(out._node, [linalg.Affine])) == 1
    weight = out._node.backend.to_host(layer.weight._node.value)
    bias = out._node.backend.to_host(layer.bias._node.value)
    np.testing.assert_allclose(out.forward().numpy(), x @ weight.T + bias, rtol=1e-12, atol=1e-14)

    def fn(x_, w_, b_):
        layer.weight, layer.bias = w_, b_
        return layer(x_)

    assert gradcheck(fn, [x, weight, bias], device=device)


@pytest.mark.parametrize("batch", [(5,), (), (2, 3)], ids=["batched", "single", "leading-axes"])
def test_linear_without_bias_keeps_the_plain_product(device, rng, batch):
    layer = nn.Linear(4, 3, bias=False, dtype="float64", device=device)
    x = rng.standard_normal(batch + (4,))
    out = layer(leaf(x, device))
    assert not nodes_of_type(out._node, [linalg.Affine])
    weight = out._node.backend.to_host(layer.weight._node.value)
    np.testing.assert_allclose(out.forward().numpy(), x @ weight.T, rtol=1e-12, atol=1e-14)


def test_single_sample_cells_gradients(device, rng):
    """The 1-d path of the fused node and the gate split, through both cells."""

    def lstm(x, c, h, w_ih, w_hh, b_ih, b_hh):
        cell = nn.LSTMCell(3, 4, dtype="float64", device=device)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        return nk.cat(list(cell((c, h), x)), axis=0)

    def gru(x, h, w_ih, w_hh, b_ih, b_hh):
        cell = nn.GRUCell(3, 4, dtype="float64", device=device)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        return cell(h, x)

    def weights(gates):
        return [rng.standard_normal((gates * 4, 3)), rng.standard_normal((gates * 4, 4)),
                rng.standard_normal(gates * 4), rng.standard_normal(gates * 4)]

    states = [rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal(4)]
    assert gradcheck(lstm, states + weights(4), device=device)
    assert gradcheck(gru, [states[0], states[2]] + weights(3), device=device)


@pytest.mark.parametrize("cls", [nn.LSTMCell, nn.GRUCell])
def test_unrolled_cell_replays_with_the_same_gradients(device, rng, cls):
    """A graph replayed after zero_grad gives the first pass's gradients again (the gate
    chunks write into one fresh buffer per pass)."""
    cell = cls(3, 4, dtype="float64", device=device)
    h = nk.zeros((2, 4), dtype="float64", device=device)
    c = h
    for step in rng.standard_normal((3, 2, 3)):
        if cls is nn.LSTMCell:
            c, h = cell((c, h), leaf(step, device))
        else:
            h = cell(h, leaf(step, device))
    loss = (h * h).sum()
    grads = []
    for _ in range(2):
        loss.forward()
        loss.backward(1.0)
        grads.append([np.array(p._node.backend.to_host(p.grad)) for p in cell.parameters()])
        cell.zero_grad()
    for first, second in zip(*grads):
        np.testing.assert_array_equal(first, second)
