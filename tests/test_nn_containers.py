"""Module plumbing (issue 14 §1): Sequential / ModuleList / ModuleDict with PyTorch's key names,
Identity, Flatten, activation modules, buffers, apply, num_parameters and summary — compared
with PyTorch where it has the same thing."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn


def host(array):
    return nk.backends.to_host(array)


# --- containers ----------------------------------------------------------------------------------
def test_sequential_is_indexable_iterable_sliceable_and_appendable():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b)
    assert model.append(c) is model
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        model[3]
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert [name for name, _ in tail.named_children()] == ["1", "2"]  # PyTorch keeps the keys
    model[1] = nn.Tanh()
    assert isinstance(model[1], nn.Tanh)
    del model[0]
    assert [name for name, _ in model.named_children()] == ["0", "1"] and model[1] is c
    named = nn.Sequential(OrderedDict([("encoder", a), ("act", b)]))
    assert named.encoder is a and [n for n, _ in named.named_parameters()] == ["encoder.weight", "encoder.bias"]
    with pytest.raises(TypeError, match="argument 1 is a int, not a Module"):
        nn.Sequential(a, 3)


def test_sequential_forward_chains_its_modules(device):
    model = nn.Sequential(nn.Linear(2, 3, dtype="float64", device=device), nn.ReLU(), nn.Linear(3, 1, dtype="float64", device=device))
    x = nk.from_ndarray(np.array([[1.0, -2.0], [0.5, 0.25]]), dtype="float64", device=device)
    expected = model[2](model[0](x).relu()).forward().numpy()
    np.testing.assert_array_equal(model(x).forward().numpy(), expected)


def test_module_list_and_module_dict_register_under_their_keys():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers += [nn.Linear(2, 1)]
    layers.insert(1, nn.Identity())
    assert len(layers) == 4 and isinstance(layers[1], nn.Identity)
    assert isinstance(layers[2:], nn.ModuleList) and len(layers[2:]) == 2
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"]
    with pytest.raises(TypeError, match="no forward"):
        layers(nk.ones((1, 2)))

    heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "reg": nn.Linear(2, 1)})
    heads["aux"] = nn.Linear(2, 2)
    assert heads.keys() == ["cls", "reg", "aux"] and "reg" in heads and len(heads) == 3
    assert isinstance(heads.pop("reg"), nn.Linear) and list(heads) == ["cls", "aux"]
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "aux.weight", "aux.bias"]
    with pytest.raises(KeyError, match="has no key 'nope'"):
        heads["nope"]
    with pytest.raises(KeyError, match="without '.'"):
        heads["a.b"] = nn.Identity()


class Nested(nn.Module):
    """The same model in both frameworks: containers nested three ways, plus a buffer."""

    def __init__(self, nn_, torch=None):
        nn_.Module.__init__(self)
        self.features = nn_.Sequential(nn_.Linear(4, 6), nn_.ReLU(), nn_.Sequential(nn_.Linear(6, 6), nn_.Tanh()))
        self.blocks = nn_.ModuleList([nn_.Linear(6, 6), nn_.Linear(6, 6)])
        self.heads = nn_.ModuleDict({"a": nn_.Linear(6, 2), "b": nn_.Sequential(nn_.Linear(6, 1))})
        scale = np.full(6, 2.0)
        self.register_buffer("scale", torch.tensor(scale) if torch else nk.from_ndarray(scale))
        self.register_buffer("cache", torch.zeros(1) if torch else nk.zeros(1), persistent=False)


def _torch_nested(torch):
    class TorchNested(torch.nn.Module):
        __init__ = Nested.__init__

    return TorchNested(torch.nn, torch)


def test_state_dict_names_and_order_equal_pytorch_for_nested_containers():
    torch = pytest.importorskip("torch")
    ours, theirs = Nested(nn), _torch_nested(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()] == ["scale", "cache"]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())


def test_pytorch_sequential_weights_give_the_same_outputs_and_gradients(device):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3)).double()
    ours = nn.Sequential(nn.Linear(5, 7, dtype="float64", device=device), nn.ReLU(), nn.Linear(7, 3, dtype="float64", device=device))
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    data = np.random.default_rng(3).standard_normal((4, 5))
    x = nk.from_ndarray(data, dtype="float64", device=device).requires_grad()
    t = torch.tensor(data, requires_grad=True)
    out, tout = ours(x), theirs(t)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(x.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    for (name, param), (tname, tparam) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(host(param.grad), tparam.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- layers without parameters -------------------------------------------------------------------
ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda t: t.nn.ReLU()),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda t: t.nn.LeakyReLU(0.2)),
    "Tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh()),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid()),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=-1), lambda t: t.nn.LogSoftmax(dim=-1)),
    "SiLU": (lambda: nn.SiLU(), lambda t: t.nn.SiLU()),
    "ELU": (lambda: nn.ELU(0.7), lambda t: t.nn.ELU(0.7)),
    "Mish": (lambda: nn.Mish(), lambda t: t.nn.Mish()),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_modules_match_torch(device, name):
    torch = pytest.importorskip("torch")
    ours, theirs = ACTIVATIONS[name][0](), ACTIVATIONS[name][1](torch)
    data = np.random.default_rng(5).standard_normal((3, 4)) * 4.0
    data[0, :] = [-800.0, 800.0, 0.5, -0.5]  # far tails: no overflow, no NaN
    data[1, 1] = 0.0  # the kink: the same one-sided slope as PyTorch
    weights = np.random.default_rng(6).standard_normal((3, 4))
    x = nk.from_ndarray(data, dtype="float64", device=device).requires_grad()
    t = torch.tensor(data, requires_grad=True)
    out, tout = ours(x), theirs(t)
    (out * nk.from_ndarray(weights, dtype="float64", device=device)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(host(x.grad), t.grad.numpy(), rtol=1e-10, atol=1e-300)


def test_softmax_without_dim_is_refused():
    with pytest.raises(TypeError, match=r"Softmax\(dim=1\)"):
        nn.Softmax()


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (1, 2), (-2, -1), (2, 2)])
def test_flatten_merges_the_axes_pytorch_does(device, start, end):
    torch = pytest.importorskip("torch")
    x = nk.zeros((2, 3, 4, 5), device=device)
    assert nn.Flatten(start, end)(x).shape == tuple(torch.nn.Flatten(start, end)(torch.zeros(2, 3, 4, 5)).shape)
    data = np.arange(120.0).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(nn.Flatten(start, end)(nk.from_ndarray(data, device=device)).forward().numpy().ravel(), data.ravel())


def test_flatten_refuses_axes_outside_the_input_and_identity_returns_its_input():
    with pytest.raises(ValueError, match=r"cannot flatten an input of shape \(2, 3\)"):
        nn.Flatten(1, 4)(nk.zeros((2, 3)))
    with pytest.raises(ValueError, match="start_dim before end_dim"):
        nn.Flatten(2, 1)(nk.zeros((2, 3, 4)))
    x = nk.zeros((2, 3))
    assert nn.Identity(54, unused="x")(x) is x


# --- buffers -------------------------------------------------------------------------------------
class WithStats(nn.Module):
    def __init__(self, device="cpu"):
        super().__init__()
        self.fc = nn.Linear(3, 3, dtype="float64", device=device)
        self.register_buffer("running_mean", nk.zeros(3, dtype="float64", device=device))
        self.register_buffer("mask", nk.ones(3, dtype="float64", device=device), persistent=False)

    def forward(self, x):
        return self.fc(x) - self.running_mean


def test_buffers_are_listed_used_in_graphs_and_saved_when_persistent(device, tmp_path):
    model = WithStats(device)
    assert [n for n, _ in model.named_buffers()] == ["running_mean", "mask"]
    assert all(isinstance(b, nk.Var) and not isinstance(b, nk.VarDiff) for b in model.buffers())
    assert list(model.state_dict()) == ["running_mean", "fc.weight", "fc.bias"]  # own entries first, as PyTorch
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    x = nk.ones((2, 3), dtype="float64", device=device)
    out = model(x)
    before = out.forward().numpy()
    model.load_state_dict({**model.state_dict(), "running_mean": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(out.forward().numpy(), before - [1.0, 2.0, 3.0])  # the built graph sees the load
    nk.save(model.state_dict(), tmp_path / "model.npz")
    fresh = WithStats(device)
    fresh.load_state_dict(nk.load(tmp_path / "model.npz", device=device))
    np.testing.assert_array_equal(fresh.running_mean.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"running_mean: checkpoint \(2,\), model \(3,\)"):
        fresh.load_state_dict({**fresh.state_dict(), "running_mean": np.zeros(2)})


def test_buffer_assignment_replaces_the_buffer_and_bad_buffers_are_refused():
    model = WithStats()
    model.running_mean = np.array([4.0, 5.0, 6.0])
    assert isinstance(model.running_mean, nk.Var) and "running_mean" in dict(model.named_buffers())
    model.register_buffer("later", None)
    assert "later" not in dict(model.named_buffers()) and model.later is None
    del model.mask
    assert [n for n, _ in model.named_buffers()] == ["running_mean"]
    with pytest.raises(TypeError, match="differentiable"):
        model.register_buffer("w", nk.ones(2).requires_grad())
    with pytest.raises(TypeError, match="must be a leaf"):
        model.register_buffer("y", nk.ones(2) * 2.0)
    with pytest.raises(KeyError, match="already a parameter or a sub-module"):
        model.register_buffer("fc", nk.ones(2))


@pytest.mark.parametrize("target", ["array_api_strict", "array_api_strict:1", "cpu"])
def test_buffers_travel_with_to(device, target):
    model = WithStats(device)
    model.running_mean = nk.from_ndarray(np.array([1.0, 2.0, 3.0]), dtype="float64", device=device)
    model.to(target)
    target_device = nk.backends.get(target).device
    assert all(b.device == target_device for b in model.buffers())
    assert all(p.device == target_device for p in model.parameters())
    out = model(nk.ones((1, 3), dtype="float64", device=target)).forward()
    assert out.device == target_device
    np.testing.assert_array_equal(model.running_mean.numpy(), [1.0, 2.0, 3.0])


# --- apply, num_parameters, summary --------------------------------------------------------------
def test_apply_visits_children_before_their_parent_like_torch():
    torch = pytest.importorskip("torch")
    seen, torch_seen = [], []
    Nested(nn).apply(lambda m: seen.append(type(m).__name__))
    _torch_nested(torch).apply(lambda m: torch_seen.append(type(m).__name__))
    assert seen == [name.replace("TorchNested", "Nested") for name in torch_seen]


def test_apply_can_initialise_every_linear(device):
    model = nn.Sequential(nn.Linear(2, 3, device=device), nn.ReLU(), nn.Linear(3, 1, device=device))

    def zero_bias(module):
        if isinstance(module, nn.Linear):
            nn.init.constant(module.bias, 0.0)

    assert model.apply(zero_bias) is model
    assert all(not np.any(host(p.data)) for n, p in model.named_parameters() if n.endswith("bias"))


def test_num_parameters_counts_each_shared_parameter_once():
    a = nn.Linear(4, 4)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert model.num_parameters() == 4 * 4 + 4


def test_summary_lists_each_call_with_its_output_shape_and_parameters(device):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8, device=device), nn.ReLU())
            self.head = nn.Linear(8, 2, device=device)

        def forward(self, x):
            h = self.body(x)
            return self.head(self.body[1](h))  # a second call of the shared ReLU

    model = Net()
    summary = model.summary((5, 4))
    rows = [(r.name, r.kind, r.depth, r.output_shape, r.parameters, r.shared) for r in summary.rows]
    assert rows == [
        ("", "Net", 0, (5, 2), 58, False),
        ("body", "Sequential", 1, (5, 8), 40, False),
        ("body.0", "Linear", 2, (5, 8), 40, False),
        ("body.1", "ReLU", 2, (5, 8), 0, False),
        ("body.1", "ReLU", 1, (5, 8), 0, True),
        ("head", "Linear", 1, (5, 2), 18, False),
    ]
    assert summary.total_parameters == 58 == model.num_parameters()
    text = str(summary)
    assert "  body.0 (Linear)" in text and "(5, 8)" in text and "Total parameters: 58" in text
    assert nn.module.call_recorder.get() is None  # the recorder is gone afterwards


def test_summary_takes_several_inputs_and_tuple_outputs_and_refuses_bad_shapes():
    cell = nn.LSTMCell(3, 4)

    class Step(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, c, h, x):
            return self.cell((c, h), x)

    summary = Step().summary([(2, 4), (2, 4), (2, 3)])
    assert summary.rows[1].output_shape == [(2, 4), (2, 4)]
    with pytest.raises(TypeError, match="input_shape must be a shape"):
        cell.summary("2x3")
