"""Linear, LSTMCell, GRUCell and Dropout: forward values against NumPy formulas, gradients against
NumPy formulas or finite differences, and (where PyTorch is installed) against PyTorch with the
same weights, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.testing import gradcheck


def leaf(array: np.ndarray, device: str) -> nk.Var:
    return nk.from_ndarray(array, dtype="float64", device=device)


def grad_of(var: "nk.VarDiff | nk.Param") -> np.ndarray:
    return var._node.backend.to_host(var.grad)


def data_of(param: nk.Param) -> np.ndarray:
    return param._node.backend.to_host(param.data)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def set_weights(module: nn.Module, arrays: dict[str, np.ndarray], device: str) -> None:
    for name, array in arrays.items():
        setattr(module, name, leaf(array, device).requires_grad())


# --- Linear ----------------------------------------------------------------------------------------

def test_linear_parameters_have_pytorch_shapes_and_default_bounds(device):
    layer = nn.Linear(50, 20, device=device)
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [("weight", (20, 50)), ("bias", (20,))]
    bound = 1 / math.sqrt(50)
    weight = layer.weight.numpy()
    assert layer.weight.dtype == nk.float32 and layer.weight.device == device
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.1 * bound  # U(-k, k) has std k/√3


def test_linear_forward_and_gradients_match_numpy(device, rng):
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    layer = nn.Linear(3, 4, dtype="float64", device=device)
    set_weights(layer, {"weight": w, "bias": b}, device)
    inputs = leaf(x, device).requires_grad()
    y = layer(inputs)
    np.testing.assert_allclose(y.forward().numpy(), x @ w.T + b, rtol=1e-12)
    seed = rng.standard_normal((5, 4))
    y.backward(seed)
    np.testing.assert_allclose(grad_of(layer.weight), seed.T @ x, rtol=1e-12)
    np.testing.assert_allclose(grad_of(layer.bias), seed.sum(0), rtol=1e-12)
    np.testing.assert_allclose(grad_of(inputs), seed @ w, rtol=1e-12)


def test_linear_accepts_a_single_sample_and_leading_axes(device, rng):
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    layer = nn.Linear(3, 4, dtype="float64", device=device)
    set_weights(layer, {"weight": w, "bias": b}, device)
    single = rng.standard_normal(3)
    np.testing.assert_allclose(layer(leaf(single, device)).forward().numpy(), w @ single + b, rtol=1e-12)
    batch = rng.standard_normal((2, 5, 3))
    out = layer(leaf(batch, device))
    assert out.shape == (2, 5, 4)
    np.testing.assert_allclose(out.forward().numpy(), batch @ w.T + b, rtol=1e-12)


def test_linear_gradcheck_with_and_without_bias(device, rng):
    def with_bias(x, w, b):
        layer = nn.Linear(3, 2, dtype="float64", device=device)
        layer.weight, layer.bias = w, b
        return layer(x)

    def without_bias(x, w):
        layer = nn.Linear(3, 2, bias=False, dtype="float64", device=device)
        layer.weight = w
        return layer(x)

    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    assert gradcheck(with_bias, [x, w, b], device=device)
    assert gradcheck(without_bias, [x, w], device=device)
    assert [name for name, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]


def test_linear_rejects_a_wrong_input_width_when_built(device):
    layer = nn.Linear(3, 4, device=device)
    with pytest.raises(ValueError, match=r"Linear\(3, 4\).*\(2, 5\).*\(N, 3\)"):
        layer(nk.zeros((2, 5), device=device))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 4)


# --- LSTMCell and GRUCell -------------------------------------------------------------------------

def lstm_reference(x, c, h, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(gates, 4, axis=-1)
    new_c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return new_c, sigmoid(o) * np.tanh(new_c)


def gru_reference(x, h, w_ih, w_hh, b_ih, b_hh):
    in_r, in_z, in_n = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hid_r, hid_z, hid_n = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = sigmoid(in_r + hid_r), sigmoid(in_z + hid_z)
    n = np.tanh(in_n + r * hid_n)
    return (1 - z) * n + z * h


def cell_weights(rng, gates, input_size, hidden):
    return {
        "weight_ih": rng.standard_normal((gates * hidden, input_size)),
        "weight_hh": rng.standard_normal((gates * hidden, hidden)),
        "bias_ih": rng.standard_normal(gates * hidden),
        "bias_hh": rng.standard_normal(gates * hidden),
    }


@pytest.mark.parametrize("cls, gates", [(nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cells_have_pytorch_parameter_layout_and_bounds(device, cls, gates):
    cell = cls(5, 16, device=device)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (gates * 16, 5)), ("weight_hh", (gates * 16, 16)),
        ("bias_ih", (gates * 16,)), ("bias_hh", (gates * 16,)),
    ]
    for param in cell.parameters():
        assert np.abs(data_of(param)).max() <= 1 / math.sqrt(16)


@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "single"])
def test_lstm_cell_matches_the_standard_equations(device, rng, batch):
    weights = cell_weights(rng, 4, 3, 5)
    x, c, h = rng.standard_normal(batch + (3,)), rng.standard_normal(batch + (5,)), rng.standard_normal(batch + (5,))
    cell = nn.LSTMCell(3, 5, dtype="float64", device=device)
    set_weights(cell, weights, device)
    new_c, new_h = cell((leaf(c, device), leaf(h, device)), leaf(x, device))
    ref_c, ref_h = lstm_reference(x, c, h, *weights.values())
    np.testing.assert_allclose(new_c.forward().numpy(), ref_c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new_h.forward().numpy(), ref_h, rtol=1e-12, atol=1e-14)


def test_lstm_cell_gradients(device, rng):
    def fn(x, c, h, w_ih, w_hh, b_ih, b_hh):
        cell = nn.LSTMCell(3, 4, dtype="float64", device=device)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        new_c, new_h = cell((c, h), x)
        return nk.cat([new_c, new_h], axis=1)

    weights = cell_weights(rng, 4, 3, 4)
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))]
    assert gradcheck(fn, arrays + list(weights.values()), device=device)


@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "single"])
def test_gru_cell_matches_the_standard_equations(device, rng, batch):
    weights = cell_weights(rng, 3, 3, 5)
    x, h = rng.standard_normal(batch + (3,)), rng.standard_normal(batch + (5,))
    cell = nn.GRUCell(3, 5, dtype="float64", device=device)
    set_weights(cell, weights, device)
    out = cell(leaf(h, device), leaf(x, device))
    np.testing.assert_allclose(out.forward().numpy(), gru_reference(x, h, *weights.values()), rtol=1e-12, atol=1e-14)


def test_gru_cell_gradients(device, rng):
    def fn(x, h, w_ih, w_hh, b_ih, b_hh):
        cell = nn.GRUCell(3, 4, dtype="float64", device=device)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = w_ih, w_hh, b_ih, b_hh
        return cell(h, x)

    weights = cell_weights(rng, 3, 3, 4)
    assert gradcheck(fn, [rng.standard_normal((2, 3)), rng.standard_normal((2, 4))] + list(weights.values()), device=device)


def test_cells_reject_mismatched_states_when_built(device):
    lstm, gru = nn.LSTMCell(3, 4, device=device), nn.GRUCell(3, 4, device=device)
    x = nk.zeros((2, 3), device=device)
    with pytest.raises(ValueError, match=r"cell has shape \(2, 5\).*expected \(2, 4\)"):
        lstm((nk.zeros((2, 5), device=device), nk.zeros((2, 4), device=device)), x)
    with pytest.raises(ValueError, match=r"input has shape \(2, 7\)"):
        gru(nk.zeros((2, 4), device=device), nk.zeros((2, 7), device=device))


def test_cells_unroll_over_a_sequence(device, rng):
    """A few steps of an unrolled LSTM and GRU back-propagate into the shared weights."""
    lstm = nn.LSTMCell(3, 4, dtype="float64", device=device)
    gru = nn.GRUCell(4, 2, dtype="float64", device=device)
    c = h = nk.zeros((2, 4), dtype="float64", device=device)
    g = nk.zeros((2, 2), dtype="float64", device=device)
    steps = rng.standard_normal((3, 2, 3))
    for step in steps:
        c, h = lstm((c, h), leaf(step, device))
        g = gru(g, h)
    g.sum().backward()
    assert all(np.abs(grad_of(p)).sum() > 0 for p in lstm.parameters() + gru.parameters())


# --- Dropout ----------------------------------------------------------------------------------------

def test_dropout_zeroes_and_rescales_in_training(device):
    layer = nn.Dropout(0.25)
    out = layer(nk.ones((100, 100), dtype="float64", device=device)).forward().numpy()
    assert set(np.unique(out)) <= {0.0, 1 / 0.75}
    assert abs((out == 0).mean() - 0.25) < 0.02


def test_dropout_is_the_identity_in_eval_and_follows_the_mode_of_built_graphs(device, rng):
    x = leaf(rng.standard_normal((50, 40)), device).requires_grad()
    layer = nn.Dropout(0.5)
    out = layer(x)
    assert (out.forward().numpy() == 0).any()
    layer.eval()  # the graph built in training mode now follows
    np.testing.assert_array_equal(out.forward().numpy(), x.numpy())
    out.backward(1.0)
    np.testing.assert_array_equal(grad_of(x), np.ones((50, 40)))
    np.testing.assert_array_equal(layer(x).forward().numpy(), x.numpy())  # built in eval mode
    layer.train()
    assert (out.forward().numpy() == 0).any()


def test_dropout_edge_probabilities(device):
    x = nk.ones((4, 4), device=device)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).forward().numpy(), np.ones((4, 4)))
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).forward().numpy(), np.zeros((4, 4)))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="Dropout"):
            nn.Dropout(p)
    with pytest.raises(TypeError, match="Dropout"):  # not a number (issue 12, item 21)
        nn.Dropout("half")


# --- against PyTorch ----------------------------------------------------------------------------------

def to_torch(array: np.ndarray, grad: bool = False):
    torch = pytest.importorskip("torch")
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def test_linear_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    w, b, x = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal((5, 3))
    seed = rng.standard_normal((5, 4))
    reference = torch.nn.Linear(3, 4, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(to_torch(w))
        reference.bias.copy_(to_torch(b))
    tx = to_torch(x, grad=True)
    ty = reference(tx)
    ty.backward(to_torch(seed))

    layer = nn.Linear(3, 4, dtype="float64", device=device)
    set_weights(layer, {"weight": w, "bias": b}, device)
    ours_x = leaf(x, device).requires_grad()
    y = layer(ours_x)
    y.backward(seed)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_of(layer.weight), reference.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_of(layer.bias), reference.bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_of(ours_x), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cells_match_torch_with_the_same_weights(device, rng, kind):
    torch = pytest.importorskip("torch")
    gates = 4 if kind == "lstm" else 3
    weights = cell_weights(rng, gates, 3, 5)
    x, c, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    seeds = [rng.standard_normal((2, 5)), rng.standard_normal((2, 5))]

    reference = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(3, 5, dtype=torch.float64)
    with torch.no_grad():
        for name, array in weights.items():
            getattr(reference, name).copy_(to_torch(array))
    tx, tc, th = to_torch(x, True), to_torch(c, True), to_torch(h, True)
    if kind == "lstm":
        out_h, out_c = reference(tx, (th, tc))  # torch returns (h', c')
        torch.autograd.backward([out_c, out_h], [to_torch(seeds[0]), to_torch(seeds[1])])
        expected = [out_c.detach().numpy(), out_h.detach().numpy()]
    else:
        out_h = reference(tx, th)
        out_h.backward(to_torch(seeds[1]))
        expected = [out_h.detach().numpy()]

    cls = nn.LSTMCell if kind == "lstm" else nn.GRUCell
    cell = cls(3, 5, dtype="float64", device=device)
    set_weights(cell, weights, device)
    ox, oc, oh = (leaf(a, device).requires_grad() for a in (x, c, h))
    if kind == "lstm":
        new_c, new_h = cell((oc, oh), ox)
        total = (new_c * leaf(seeds[0], device) + new_h * leaf(seeds[1], device)).sum()
        outputs = [new_c, new_h]
    else:
        new_h = cell(oh, ox)
        total = (new_h * leaf(seeds[1], device)).sum()
        outputs = [new_h]
    total.backward()
    for ours, theirs in zip(outputs, expected):
        np.testing.assert_allclose(ours.forward().numpy(), theirs, rtol=1e-10, atol=1e-12)
    for name in weights:
        np.testing.assert_allclose(grad_of(getattr(cell, name)), getattr(reference, name).grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_of(ox), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_of(oh), th.grad.numpy(), rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(grad_of(oc), tc.grad.numpy(), rtol=1e-10, atol=1e-12)
