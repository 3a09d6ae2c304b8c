"""Parameter groups for every optimizer, AdamW and gradient clipping against torch.optim /
torch.nn.utils (issue 14 §4), and the optimizer after Module.to(device) (issue 12 item 16)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim
from neuronika.optim import L2, SGD, AMSGrad, Adagrad, Adam, AdamW, RMSProp

_data = np.random.default_rng(11)
X = _data.standard_normal((10, 4))
Y = _data.standard_normal((10, 2))
W1 = _data.standard_normal((3, 4))
W2 = _data.standard_normal((2, 3))
B2 = _data.standard_normal(2)
STEPS = 15


class Net:
    """``mean((tanh(X·W1ᵀ)·W2ᵀ + b2 − Y)²)`` built once; three parameters for three groups."""

    def __init__(self, device: str) -> None:
        self.params = [nk.from_ndarray(a.copy(), dtype="float64", device=device).requires_grad() for a in (W1, W2, B2)]
        w1, w2, b2 = self.params
        x = nk.from_ndarray(X, dtype="float64", device=device)
        y = nk.from_ndarray(Y, dtype="float64", device=device)
        residual = x.mm_t(w1).tanh().mm_t(w2) + b2 - y
        self.loss = (residual * residual).mean()

    def train(self, optimizer, steps: int = STEPS) -> None:
        for _ in range(steps):
            self.loss.forward()
            self.loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    def values(self) -> list[np.ndarray]:
        return [p.numpy() for p in self.params]


def torch_trajectory(torch, make, steps: int = STEPS) -> list[np.ndarray]:
    params = [torch.tensor(a.copy(), requires_grad=True) for a in (W1, W2, B2)]
    optimizer = make(params)
    x, y = torch.tensor(X), torch.tensor(Y)
    for _ in range(steps):
        w1, w2, b2 = params
        loss = ((torch.tanh(x @ w1.T) @ w2.T + b2 - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return [p.detach().numpy() for p in params]


def groups(p, **first):
    """Two groups: W1 with its own hyper-parameters, then W2 and b2 with the defaults."""
    return [{"params": [p[0]], **first}, {"params": [p[1], p[2]]}]


# id -> (ours from params, torch from (torch, params))
GROUPED = {
    "sgd": (
        lambda p: SGD(groups(p, lr=0.3, momentum=0.5), 0.1, momentum=0.9, nesterov=False),
        lambda t, p: t.optim.SGD(groups(p, lr=0.3, momentum=0.5), lr=0.1, momentum=0.9),
    ),
    "adam": (
        lambda p: Adam(groups(p, lr=0.02, betas=(0.8, 0.9)), 0.05),
        lambda t, p: t.optim.Adam(groups(p, lr=0.02, betas=(0.8, 0.9)), lr=0.05),
    ),
    "amsgrad": (
        lambda p: AMSGrad(groups(p, eps=1e-3), 0.05),
        lambda t, p: t.optim.Adam(groups(p, eps=1e-3), lr=0.05, amsgrad=True),
    ),
    "adagrad": (
        lambda p: Adagrad(groups(p, lr_decay=0.1), 0.1),
        lambda t, p: t.optim.Adagrad(groups(p, lr_decay=0.1), lr=0.1),
    ),
    "rmsprop": (
        lambda p: RMSProp(groups(p, centered=True, momentum=0.5), 0.01),
        lambda t, p: t.optim.RMSprop(groups(p, centered=True, momentum=0.5), lr=0.01),
    ),
    "adamw": (
        lambda p: AdamW(groups(p, weight_decay=0.3), 0.05),
        lambda t, p: t.optim.AdamW(groups(p, weight_decay=0.3), lr=0.05),
    ),
    "adamw-amsgrad": (
        lambda p: AdamW(groups(p, lr=0.01), 0.05, betas=(0.9, 0.95), weight_decay=0.1, amsgrad=True),
        lambda t, p: t.optim.AdamW(groups(p, lr=0.01), lr=0.05, betas=(0.9, 0.95), weight_decay=0.1, amsgrad=True),
    ),
    "adamw-default": (lambda p: AdamW(p, 0.05), lambda t, p: t.optim.AdamW(p, lr=0.05)),
}


@pytest.mark.parametrize("name", list(GROUPED))
def test_grouped_trajectory_matches_torch(device, name):
    torch = pytest.importorskip("torch")
    ours, theirs = GROUPED[name]
    net = Net(device)
    net.train(ours(net.params))
    for got, want in zip(net.values(), torch_trajectory(torch, lambda p: theirs(torch, p))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_adamw_decay_is_decoupled_from_the_moments(device):
    """With a zero gradient Adam's moments stay zero, so AdamW only shrinks the weights."""
    w = nk.from_ndarray(np.array([1.0, -2.0]), dtype="float64", device=device).requires_grad()
    optimizer = AdamW([w], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        optimizer.step()
    np.testing.assert_allclose(w.numpy(), np.array([1.0, -2.0]) * 0.95**3, rtol=1e-15)
    assert not np.any(nk.backends.to_host(optimizer.state_dict()["state"][0]["exp_avg_sq"]))


def test_param_groups_hold_checked_hyperparameters(device):
    net = Net(device)
    optimizer = Adam(groups(net.params, lr=0.02), lr=0.05)
    first, second = optimizer.param_groups
    assert first["lr"] == 0.02 and second["lr"] == 0.05 and optimizer.defaults["lr"] == 0.05
    assert dict(second.items())["eps"] == 1e-8 and 0.05 in list(second.values())  # reads like PyTorch's dict
    assert first["params"] == [nk.Param(net.params[0]._node)] and set(first) == {"params", "lr", "penalty", "betas", "eps"}
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        first["lr"] = -1.0
    with pytest.raises(KeyError, match="unknown hyper-parameter 'learning_rate'"):
        first["learning_rate"] = 0.1
    assert first["lr"] == 0.02  # a refused write changes nothing
    with pytest.raises(ValueError, match=r"the 2 parameter groups have different values \[0.02, 0.05\]"):
        optimizer.lr
    optimizer.lr = 0.1  # writes every group
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.1] and optimizer.lr == 0.1
    second["betas"] = (0.5, 0.6)
    assert first["betas"] == (0.9, 0.999)


@pytest.mark.parametrize(
    "params, error, message",
    [
        (lambda p: [{"params": [p[0]]}, {"params": [p[0], p[1]]}], ValueError, "more than one parameter group"),
        (lambda p: [{"params": [p[0]], "momentum": 0.9}], ValueError, r"unknown hyper-parameters \['momentum'\]"),
        (lambda p: [{"lr": 0.1}], ValueError, "group 0 has no 'params'"),
        (lambda p: [{"params": [p[0]]}, p[1]], TypeError, "among parameter-group dicts"),
        (lambda p: [{"params": [p[0]], "lr": -1.0}], ValueError, "lr must be"),
        (lambda p: [{"params": []}], ValueError, r"empty parameter list \(param_groups\[0\]\['params'\]\)"),
    ],
)
def test_bad_parameter_groups_are_refused(device, params, error, message):
    with pytest.raises(error, match=message):
        Adam(params(Net(device).params), lr=0.1)


def test_grouped_state_round_trips_through_save_and_load(device, tmp_path):
    first = Net(device)
    make = GROUPED["adamw-amsgrad"][0]
    optimizer = make(first.params)
    optimizer.param_groups[1]["penalty"] = L2(0.01)
    first.train(optimizer, 5)
    nk.save(optimizer.state_dict(), tmp_path / "opt.npz")
    second = Net(device)
    for mine, theirs in zip(second.params, first.params):
        mine.assign(theirs.numpy())
    restored = make(second.params)
    restored.load_state_dict(nk.load(tmp_path / "opt.npz"))
    assert [g["lr"] for g in restored.param_groups] == [0.01, 0.05]
    assert restored.param_groups[1]["penalty"] == L2(0.01) and restored.param_groups[0]["penalty"] is None
    first.train(optimizer, 5)
    second.train(restored, 5)
    for a, b in zip(first.values(), second.values()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"groups of sizes \[1, 2\], this optimizer \[3\]"):
        AdamW(Net(device).params).load_state_dict(optimizer.state_dict())


# --- clipping --------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_clip_grad_norm_matches_torch(device, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    net = Net(device)
    net.loss.backward()
    total = nn.utils.clip_grad_norm_(net.params, max_norm, norm_type)
    params = [torch.tensor(a, requires_grad=True) for a in (W1, W2, B2)]
    w1, w2, b2 = params
    ((torch.tanh(torch.tensor(X) @ w1.T) @ w2.T + b2 - torch.tensor(Y)) ** 2).mean().backward()
    expected = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    assert isinstance(total, float) and total == pytest.approx(expected.item(), rel=1e-12)
    for ours, theirs in zip(net.params, params):
        np.testing.assert_allclose(nk.backends.to_host(ours.grad), theirs.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch_and_clipping_never_writes_a_shared_gradient(device):
    torch = pytest.importorskip("torch")
    net = Net(device)
    net.loss.backward()
    nn.utils.clip_grad_value_(net.params, 0.01)
    params = [torch.tensor(a, requires_grad=True) for a in (W1, W2, B2)]
    w1, w2, b2 = params
    ((torch.tanh(torch.tensor(X) @ w1.T) @ w2.T + b2 - torch.tensor(Y)) ** 2).mean().backward()
    torch.nn.utils.clip_grad_value_(params, 0.01)
    for ours, theirs in zip(net.params, params):
        np.testing.assert_allclose(nk.backends.to_host(ours.grad), theirs.grad.numpy(), rtol=1e-12)
    w = nk.ones(3, dtype="float64", device=device).requires_grad()
    seed = nk.backends.get(device).asarray(np.array([3.0, 4.0, 0.0]))
    (w * 1.0).backward(seed)
    nn.utils.clip_grad_norm_([w], 1.0)
    np.testing.assert_array_equal(nk.backends.to_host(seed), [3.0, 4.0, 0.0])  # the seed is untouched


def test_clip_grad_norm_reports_non_finite_norms_when_asked(device):
    w = nk.ones(2, dtype="float64", device=device).requires_grad()
    w.grad  # zeros, owned
    nk.Param(w._node).grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nk.ones(2).requires_grad()], 1.0) == 0.0  # no gradient yet: nothing to clip
    with pytest.raises(ValueError, match="norm_type must be a number > 0"):
        nn.utils.clip_grad_norm_([w], 1.0, norm_type=0)


# --- issue 12 item 16: the optimizer after Module.to(device) ---------------------------------------
MOVES = [("cpu", "array_api_strict"), ("array_api_strict", "cpu"), ("array_api_strict", "array_api_strict:1")]


def _model(device):
    nk.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3, dtype="float64", device=device), nn.Tanh(), nn.Linear(3, 2, dtype="float64", device=device))


def _train(model, optimizer, device, steps):
    x = nk.from_ndarray(X, dtype="float64", device=device)
    y = nk.from_ndarray(Y, dtype="float64", device=device)
    residual = model(x) - y
    loss = (residual * residual).mean()
    for _ in range(steps):
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


@pytest.mark.parametrize("make", [lambda p: Adam(p, 0.05), lambda p: SGD(p, 0.1, momentum=0.9), lambda p: RMSProp(p, centered=True)])
@pytest.mark.parametrize("source, target", MOVES)
def test_optimizer_state_follows_its_parameters_to_a_new_device(source, target, make):
    moved, stayed = _model(source), _model(source)
    moved_opt, stayed_opt = make(moved.parameters()), make(stayed.parameters())
    _train(moved, moved_opt, source, 3)
    _train(stayed, stayed_opt, source, 3)
    moved.to(target)
    _train(moved, moved_opt, target, 3)  # used to raise "Only Array objects are allowed"
    _train(stayed, stayed_opt, source, 3)
    assert moved_opt.steps == stayed_opt.steps == 6
    backend = nk.backends.get(target)
    assert all(backend.owns(a) for s in moved_opt.state_dict()["state"] for a in s.values())
    for a, b in zip(moved.parameters(), stayed.parameters()):
        np.testing.assert_allclose(nk.backends.to_host(a.data), nk.backends.to_host(b.data), rtol=1e-12)


class Exploding(optim.Penalty):
    """A custom penalty that fails on its ``n``-th parameter (a user's bug)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, xp, weight):
        self.calls += 1
        if self.calls % 4 == self.n:
            raise ArithmeticError("penalty failed")
        return 0.0 * weight


@pytest.mark.parametrize("source, target", MOVES[:2])
def test_a_step_that_fails_changes_nothing(source, target):
    model = _model(source)
    optimizer = Adam(model.parameters(), 0.05)
    _train(model, optimizer, source, 2)
    model.to(target)
    before = [nk.backends.to_host(p.data).copy() for p in model.parameters()]
    buffers = [{k: nk.backends.to_host(v).copy() for k, v in s.items()} for s in optimizer.state_dict()["state"]]
    optimizer.penalty = Exploding(3)  # fails on the third of four parameters
    x = nk.from_ndarray(X, dtype="float64", device=target)
    model(x).sum().backward()
    with pytest.raises(ArithmeticError):
        optimizer.step()
    assert optimizer.steps == 2
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(nk.backends.to_host(p.data), b)
    for state, saved in zip(optimizer.state_dict()["state"], buffers):
        for name in saved:
            np.testing.assert_array_equal(nk.backends.to_host(state[name]), saved[name])
    optimizer.penalty = None
    optimizer.step()  # and the next step works, with the bias correction of step 3
    assert optimizer.steps == 3


# --- add_param_group -------------------------------------------------------------------------------
def test_an_added_group_counts_its_own_steps_like_torch(device, tmp_path):
    torch = pytest.importorskip("torch")
    net = Net(device)
    optimizer = Adam([net.params[0]], lr=0.05)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, 0.9)
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in (W1, W2, B2)]
    toptimizer = torch.optim.Adam([tparams[0]], lr=0.05)
    tscheduler = torch.optim.lr_scheduler.ExponentialLR(toptimizer, 0.9)
    x, y = torch.tensor(X), torch.tensor(Y)

    def torch_step():
        w1, w2, b2 = tparams
        ((torch.tanh(x @ w1.T) @ w2.T + b2 - y) ** 2).mean().backward()
        toptimizer.step()
        toptimizer.zero_grad()
        for p in tparams:
            p.grad = None
        tscheduler.step()

    for step in range(8):
        if step == 3:  # "unfreeze" the head: Adam's bias correction starts at 1 for it
            optimizer.add_param_group({"params": net.params[1:], "lr": 0.02})
            toptimizer.add_param_group({"params": tparams[1:], "lr": 0.02})
        if step == 5:
            saved = optimizer.state_dict()
        net.train(optimizer, 1)
        for p in net.params:  # the frozen head's gradients too
            nk.Param(p._node).grad = None
        scheduler.step()
        torch_step()
    for got, want in zip(net.values(), tparams):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([g["lr"] for g in toptimizer.param_groups], rel=1e-14)
    assert [g["step"] for g in saved["param_groups"]] == [5, 2]
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [net.params[0]]})
    with pytest.raises(TypeError, match="expected a dict with 'params'"):
        optimizer.add_param_group(net.params[0])


def test_the_step_count_of_an_added_group_survives_a_checkpoint(device, tmp_path):
    first = Net(device)
    optimizer = Adam([first.params[0]], lr=0.05)
    first.train(optimizer, 2)
    optimizer.add_param_group({"params": first.params[1:]})
    first.train(optimizer, 2)
    nk.save(optimizer.state_dict(), tmp_path / "opt.npz")
    second = Net(device)
    for mine, theirs in zip(second.params, first.params):
        mine.assign(theirs.numpy())
    restored = Adam([second.params[0]], lr=0.05)
    restored.add_param_group({"params": second.params[1:]})
    restored.load_state_dict(nk.load(tmp_path / "opt.npz"))
    first.train(optimizer, 3)
    second.train(restored, 3)
    for a, b in zip(first.values(), second.values()):
        np.testing.assert_array_equal(a, b)
