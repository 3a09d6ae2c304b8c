"""nn.Module and nn.ModelStatus: registration by attribute, parameters, train/eval, devices,
state_dict round trips and errors, and a small model that trains on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn


class MLP(nn.Module):
    def __init__(self, p: float = 0.2, device: str = "cpu") -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 16, dtype="float64", device=device)
        self.drop = nn.Dropout(p)
        self.fc2 = nn.Linear(16, 1, dtype="float64", device=device)

    def forward(self, x: nk.Var) -> nk.Var:
        return self.fc2(self.drop(self.fc1(x).tanh()))


def values(param: nk.Param) -> np.ndarray:
    return param._node.backend.to_host(param.data)


# --- registration ----------------------------------------------------------------------------------

def test_parameters_and_sub_modules_register_by_attribute_with_dotted_names():
    model = MLP()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    params = model.parameters()
    assert all(isinstance(p, nk.Param) for p in params)
    assert [p.shape for p in params] == [(16, 4), (16,), (1, 16), (1,)]
    assert [name for name, _ in model.named_children()] == ["fc1", "drop", "fc2"]
    assert [name for name, _ in model.named_modules()] == ["", "fc1", "drop", "fc2"]


def test_own_parameters_params_and_shared_parameters():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nk.ones(3).requires_grad()
            self.offset = nk.Param(nk.zeros(3).requires_grad()._node)  # a Param works too
            self.encoder = nn.Linear(3, 3)
            self.decoder = nn.Linear(3, 3)
            self.decoder.weight = self.encoder.weight  # shared: listed once
            self.constant = nk.ones(3)  # not differentiable: a plain attribute
            self.steps = 5

    model = Tied()
    assert [n for n, _ in model.named_parameters()] == ["scale", "offset", "encoder.weight", "encoder.bias", "decoder.bias"]
    assert len(set(model.parameters())) == 5
    assert model.steps == 5 and isinstance(model.constant, nk.Var)
    assert isinstance(model.offset, nk.VarDiff)


def test_reassigning_and_deleting_registered_names():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign int to parameter 'bias'"):
        layer.bias = 3
    with pytest.raises(TypeError, match="sub-module"):
        model = MLP()
        model.fc1 = "linear"
    layer.bias = None  # unregisters, as PyTorch
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and layer.bias is None
    del layer.weight
    assert layer.parameters() == []
    with pytest.raises(AttributeError, match="no attribute 'weight'"):
        layer.weight


def test_missing_super_init_and_missing_forward_are_explained():
    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)

    class NoForward(nn.Module):
        pass

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Forgetful()
    with pytest.raises(TypeError, match="defines no forward"):
        NoForward()(nk.ones(2))


def test_train_and_eval_are_recursive():
    model = MLP()
    assert model.training and model.drop.training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_repr_lists_the_layers():
    text = repr(MLP())
    assert "(fc1): Linear(in_features=4, out_features=16, bias=True)" in text
    assert "(drop): Dropout(p=0.2)" in text


# --- devices and gradients ---------------------------------------------------------------------------

def test_to_moves_every_parameter_and_its_gradient(device):
    model = MLP(p=0.0)
    x = np.random.default_rng(0).standard_normal((3, 4))
    expected = model(nk.from_ndarray(x, dtype="float64")).forward().numpy()
    out = model(nk.from_ndarray(x, dtype="float64")).sum()
    out.backward()
    grads = [p._node.backend.to_host(p.grad) for p in model.parameters()]
    assert model.to(device) is model
    assert all(p.device == device for p in model.parameters())
    for param, grad in zip(model.parameters(), grads):
        np.testing.assert_array_equal(param._node.backend.to_host(param.grad), grad)
    moved = model(nk.from_ndarray(x, dtype="float64", device=device)).forward()
    np.testing.assert_allclose(moved.numpy(), expected, rtol=1e-12)
    model.zero_grad()
    assert all(np.all(param._node.backend.to_host(param.grad) == 0) for param in model.parameters())


# --- state_dict --------------------------------------------------------------------------------------

def test_state_dict_holds_copies_keyed_by_dotted_names(device):
    model = MLP(device=device)
    state = model.state_dict()
    assert list(state) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    backend = nk.backends.get(device)
    before = backend.to_host(state["fc1.bias"])
    bias = model.parameters()[1]
    with backend.scope():  # raw CuPy arithmetic runs on the current GPU
        bias.data -= 1.0
    np.testing.assert_array_equal(backend.to_host(state["fc1.bias"]), before)  # a copy
    np.testing.assert_array_equal(values(bias), before - 1.0)


def test_load_state_dict_round_trip_accepts_host_arrays(device):
    source, target = MLP(device="cpu"), MLP(device=device)
    result = target.load_state_dict(source.state_dict())
    assert result == nn.LoadResult([], [])
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(values(a), values(b))
        assert b.device == device


def test_load_state_dict_lists_missing_unexpected_and_mismatched_names():
    model = MLP()
    state = model.state_dict()
    before = [values(p) for p in model.parameters()]
    del state["fc2.bias"]
    state["fc3.weight"] = np.zeros((1, 1))
    state["fc1.weight"] = np.zeros((16, 5))
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing names: fc2.bias (1,)" in message
    assert "unexpected names: fc3.weight" in message
    assert "fc1.weight: checkpoint (16, 5), model (16, 4)" in message
    for param, old in zip(model.parameters(), before):  # nothing was written
        np.testing.assert_array_equal(values(param), old)


def test_load_state_dict_non_strict_skips_and_reports_names():
    model = MLP()
    state = {"fc1.bias": np.ones(16), "head.weight": np.ones(3)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc1.weight", "fc2.weight", "fc2.bias"]
    assert result.unexpected_keys == ["head.weight"]
    np.testing.assert_array_equal(values(model.parameters()[1]), np.ones(16))
    with pytest.raises(ValueError, match="mismatched shapes"):
        model.load_state_dict({"fc1.bias": np.ones(3)}, strict=False)


# --- ModelStatus -------------------------------------------------------------------------------------

def test_model_status_registers_components_and_switches_dropout(device):
    status = nn.ModelStatus()
    lin1 = status.register(nn.Linear(3, 8, dtype="float64", device=device))
    drop = status.register(nn.Dropout(0.5))
    lin2 = status.register(nn.Linear(8, 1, dtype="float64", device=device))
    scale = status.register(nk.ones(1, dtype="float64", device=device).requires_grad())
    assert isinstance(lin1, nn.Linear) and isinstance(scale, nk.VarDiff)
    assert status.parameters() == lin1.parameters() + lin2.parameters() + scale.parameters()
    x = nk.ones((20, 3), dtype="float64", device=device)
    out = lin2(drop(lin1(x))) * scale
    status.eval()
    first = out.forward().numpy()
    np.testing.assert_array_equal(first, out.forward().numpy())
    direct = (lin2(lin1(x)) * scale).forward().numpy()
    np.testing.assert_allclose(first, direct, rtol=1e-12)
    status.train()
    assert drop.training
    late = nn.ModelStatus()
    late.eval()
    assert not late.register(nn.Dropout(0.1)).training  # takes the status's mode
    with pytest.raises(TypeError, match="expected a Module"):
        status.register(nk.ones(2))


# --- a model that trains -----------------------------------------------------------------------------

def test_two_layer_model_with_dropout_trains_evaluates_and_round_trips(device):
    rng = np.random.default_rng(3)
    inputs = rng.standard_normal((64, 4))
    targets = np.tanh(inputs @ rng.standard_normal((4, 1)))
    x = nk.from_ndarray(inputs, dtype="float64", device=device)
    y = nk.from_ndarray(targets, dtype="float64", device=device)
    model = MLP(p=0.2, device=device)

    def eval_loss(m: nn.Module) -> float:
        m.eval()
        value = nn.loss.mse_loss(m(x), y).forward().item()
        m.train()
        return value

    initial = eval_loss(model)
    loss = nn.loss.mse_loss(model(x), y)  # built once, re-run every step
    for _ in range(60):
        loss.forward()
        loss.backward()
        with nk.backends.get(device).scope():
            for param in model.parameters():
                param.data -= 0.2 * param.grad
        model.zero_grad()
    trained = eval_loss(model)
    assert trained < 0.5 * initial

    model.eval()
    out = model(x)
    first = out.forward().numpy()
    np.testing.assert_array_equal(out.forward().numpy(), first)  # dropout is off: deterministic
    plain = MLP(p=0.0, device=device)
    plain.load_state_dict(model.state_dict())
    np.testing.assert_allclose(plain(x).forward().numpy(), first, rtol=1e-12)

    restored = MLP(p=0.2, device=device)
    restored.load_state_dict(model.state_dict())
    restored.eval()
    np.testing.assert_array_equal(restored(x).forward().numpy(), first)
