"""RNN, LSTM and GRU over whole sequences: PyTorch's parameter names and order, and with PyTorch's
weights the same outputs, final states, input and parameter gradients (layers, directions,
batch_first, bias, unbatched input, initial states); replay over new batches; errors."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
SETTINGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True, batch_first=True),
    dict(num_layers=2, bidirectional=True, bias=False),
]


def torch_pair(kind, device, **kwargs):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, kind)(3, 4, dtype=torch.float64, **kwargs)
    ours = LAYERS[kind](3, 4, dtype="float64", device=device, **kwargs)
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    return ours, theirs


def total(output, state):
    """A scalar that depends on every output and final state with different weights."""
    states = state if isinstance(state, tuple) else (state,)
    result = (output * output).sum()
    for scale, s in enumerate(states, start=2):
        result = result + s.sum() * float(scale)
    return result


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_sequence_layers_match_torch(device, rng, kind, settings):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_pair(kind, device, **settings)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    shape = (2, 5, 3) if settings.get("batch_first") else (5, 2, 3)
    x_host = rng.standard_normal(shape)
    x = nk.from_ndarray(x_host, dtype="float64", device=device).requires_grad()
    tx = torch.tensor(x_host, requires_grad=True)
    output, state = ours(x)
    t_output, t_state = theirs(tx)
    loss, t_loss = total(output, state), total(t_output, t_state)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(output.numpy(), t_output.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(x._node.backend.to_host(x.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p._node.backend.to_host(p.grad), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_initial_states_and_unbatched_input_match_torch(device, rng, kind):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_pair(kind, device, num_layers=2)
    x_host, h_host, c_host = rng.standard_normal((5, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h = nk.from_ndarray(h_host, dtype="float64", device=device).requires_grad()
    c = nk.from_ndarray(c_host, dtype="float64", device=device)
    th = torch.tensor(h_host, requires_grad=True)
    tc = torch.tensor(c_host)
    state, t_state = ((h, c), (th, tc)) if kind == "LSTM" else (h, th)
    output, final = ours(nk.from_ndarray(x_host, dtype="float64", device=device), state)
    t_output, t_final = theirs(torch.tensor(x_host), t_state)
    assert output.shape == tuple(t_output.shape) == (5, 4)
    total(output, final).backward()
    total(t_output, t_final).backward()
    np.testing.assert_allclose(output.numpy(), t_output.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h._node.backend.to_host(h.grad), th.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_graph_built_once_replays_new_sequences(device, rng):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_pair("LSTM", device)
    x = nk.zeros((6, 2, 3), dtype="float64", device=device)
    output, _ = ours(x)
    for _ in range(2):
        batch = rng.standard_normal((6, 2, 3))
        x.assign(batch)
        np.testing.assert_allclose(output.forward().numpy(), theirs(torch.tensor(batch))[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_between_layers_follows_train_and_eval(device):
    nk.manual_seed(0)
    layer = nn.GRU(3, 4, num_layers=2, dropout=0.5, device=device)
    x = nk.rand((5, 2, 3), device=device)
    output, _ = layer(x)
    layer.eval()
    first = output.forward().numpy()
    assert np.array_equal(first, output.forward().numpy())
    layer.train()
    assert not np.array_equal(first, output.forward().numpy())


@pytest.mark.parametrize("call,message", [
    (lambda: nn.LSTM(3, 4)(nk.rand((5, 2, 7))), r"expected \(L, N, H_in\)"),
    (lambda: nn.GRU(3, 4)(nk.rand((5, 2, 3)), nk.zeros((2, 2, 4))), r"h_0 has shape \(2, 2, 4\), expected \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4)(nk.rand((5, 2, 3)), nk.zeros((1, 2, 4))), "tuple"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), "nonlinearity"),
    (lambda: nn.LSTM(3, 0), "hidden_size must be a positive int"),
    (lambda: nn.GRU(3, 4, dropout=1.5), "dropout must be a probability"),
])
def test_bad_recurrent_arguments_raise_clearly(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_fused_lstm_step_gradients_match_finite_differences(device, rng):
    from neuronika.nn.recurrent import lstm_step
    from neuronika.testing import gradcheck

    def step(gates, cell):
        hidden, new_cell = lstm_step(gates, cell)
        return hidden * 2.0 + new_cell * 3.0

    assert gradcheck(step, [rng.standard_normal((3, 8)) * 2, rng.standard_normal((3, 2))], device=device)


def test_fused_lstm_step_is_stable_for_large_pre_activations(device):
    from neuronika.nn.recurrent import lstm_step

    gates = nk.from_ndarray(np.array([[1e4, -1e4, 1e4, -1e4]], dtype=np.float32), device=device)
    hidden, cell = lstm_step(gates, nk.ones((1, 1), device=device))
    assert np.isfinite(hidden.forward().numpy()).all() and np.isfinite(cell.forward().numpy()).all()
