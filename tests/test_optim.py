"""Optimizers: trajectories against the published update rules (written out here in NumPy) and
against torch.optim, penalties, state_dict round trips, and the optimizer contract."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import optim
from neuronika.optim import L1, L2, SGD, AMSGrad, Adagrad, Adam, ElasticNet, RMSProp

STEPS = 25
N, D = 12, 3
_data = np.random.default_rng(7)
X = _data.standard_normal((N, D))
Y = _data.standard_normal((N, 1))
W0 = _data.standard_normal((D, 1))
B0 = 0.5 * _data.standard_normal(1)


class Problem:
    """Least squares ``mean((X·w + b − y)²)`` built once as a neuronika graph."""

    def __init__(self, device: str, w0: np.ndarray = W0, b0: np.ndarray = B0) -> None:
        x = nk.from_ndarray(X, dtype="float64", device=device)
        y = nk.from_ndarray(Y, dtype="float64", device=device)
        self.w = nk.from_ndarray(w0.copy(), dtype="float64", device=device).requires_grad()
        self.b = nk.from_ndarray(b0.copy(), dtype="float64", device=device).requires_grad()
        residual = x.mm(self.w) + self.b - y
        self.loss = (residual * residual).mean()

    def train(self, optimizer: optim.Optimizer, steps: int) -> None:
        for _ in range(steps):
            self.loss.forward()
            self.loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    def values(self) -> list[np.ndarray]:
        return [self.w.numpy(), self.b.numpy()]


def gradients(params: list[np.ndarray]) -> list[np.ndarray]:
    w, b = params
    residual = X @ w + b - Y
    return [2.0 / N * X.T @ residual, 2.0 / N * residual.sum(axis=0)]


# --- the published rules, one parameter at a time (t = 1, 2, ...) ------------------------------
def ref_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False):
    def update(w, g, s, t):
        if momentum == 0.0:
            return w - lr * g
        s["b"] = g.copy() if t == 1 else momentum * s["b"] + (1 - dampening) * g
        direction = g + momentum * s["b"] if nesterov else s["b"]
        return w - lr * direction
    return update


def ref_adam(lr, betas=(0.9, 0.999), eps=1e-8, amsgrad=False):
    b1, b2 = betas

    def update(w, g, s, t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            v = s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        m_hat, v_hat = s["m"] / (1 - b1**t), v / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


def ref_adagrad(lr, lr_decay=0.0, eps=1e-10):
    def update(w, g, s, t):
        s["sum"] = s.get("sum", 0.0) + g * g
        return w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)
    return update


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, centered=False, momentum=0.0):
    def update(w, g, s, t):
        s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
        variance = s["v"]
        if centered:
            s["gbar"] = alpha * s.get("gbar", 0.0) + (1 - alpha) * g
            variance = variance - s["gbar"] ** 2
        a = np.sqrt(variance) + eps
        if momentum > 0:
            s["b"] = momentum * s.get("b", 0.0) + g / a
            return w - lr * s["b"]
        return w - lr * g / a
    return update


# id -> (neuronika optimizer from (params, penalty), reference rule, torch optimizer from params)
CONFIGS = {
    "sgd": (lambda p, pen: SGD(p, 0.1, pen), ref_sgd(0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (
        lambda p, pen: SGD(p, 0.1, pen, momentum=0.9),
        ref_sgd(0.1, 0.9),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "sgd-dampening": (
        lambda p, pen: SGD(p, 0.1, pen, momentum=0.9, dampening=0.3),
        ref_sgd(0.1, 0.9, 0.3),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
    ),
    "sgd-nesterov": (
        lambda p, pen: SGD(p, 0.1, pen, momentum=0.9, nesterov=True),
        ref_sgd(0.1, 0.9, nesterov=True),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    ),
    "sgd-with_momentum": (
        lambda p, pen: SGD(p, 0.1, pen).with_momentum(0.8, 0.2, False),
        ref_sgd(0.1, 0.8, 0.2),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.2),
    ),
    "adam": (lambda p, pen: Adam(p, 0.05, penalty=pen), ref_adam(0.05), lambda t, p: t.optim.Adam(p, lr=0.05)),
    "adam-betas-eps": (
        lambda p, pen: Adam(p, 0.05, betas=(0.8, 0.95), penalty=pen, eps=1e-3),
        ref_adam(0.05, (0.8, 0.95), 1e-3),
        lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.8, 0.95), eps=1e-3),
    ),
    "amsgrad": (
        lambda p, pen: AMSGrad(p, 0.05, betas=(0.9, 0.9), penalty=pen),
        ref_adam(0.05, (0.9, 0.9), amsgrad=True),
        lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.9, 0.9), amsgrad=True),
    ),
    "adagrad": (lambda p, pen: Adagrad(p, 0.1, penalty=pen), ref_adagrad(0.1), lambda t, p: t.optim.Adagrad(p, lr=0.1)),
    "adagrad-lr_decay": (
        lambda p, pen: Adagrad(p, 0.1, lr_decay=0.05, penalty=pen, eps=1e-6),
        ref_adagrad(0.1, 0.05, 1e-6),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, lr_decay=0.05, eps=1e-6),
    ),
    "rmsprop": (lambda p, pen: RMSProp(p, 0.01, penalty=pen), ref_rmsprop(0.01), lambda t, p: t.optim.RMSprop(p, lr=0.01)),
    "rmsprop-alpha-eps": (
        lambda p, pen: RMSProp(p, 0.01, alpha=0.9, penalty=pen, eps=1e-4),
        ref_rmsprop(0.01, 0.9, 1e-4),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-4),
    ),
    "rmsprop-centered": (
        lambda p, pen: RMSProp(p, 0.01, penalty=pen).centered(),
        ref_rmsprop(0.01, centered=True),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, centered=True),
    ),
    "rmsprop-momentum": (
        lambda p, pen: RMSProp(p, 0.01, penalty=pen).with_momentum(0.9),
        ref_rmsprop(0.01, momentum=0.9),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, momentum=0.9),
    ),
    "rmsprop-centered-momentum": (
        lambda p, pen: RMSProp(p, 0.01, penalty=pen, centered=True, momentum=0.9),
        ref_rmsprop(0.01, centered=True, momentum=0.9),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.9),
    ),
    "rmsprop-centered_with_momentum": (
        lambda p, pen: RMSProp(p, 0.01, penalty=pen).centered_with_momentum(0.5),
        ref_rmsprop(0.01, centered=True, momentum=0.5),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    ),
}

# id -> (neuronika penalty, its gradient in NumPy as the crate defines it)
PENALTIES = {
    "none": (None, lambda w: 0.0 * w),
    "L2": (L2(0.05), lambda w: 2 * 0.05 * w),
    "L1": (L1(0.03), lambda w: 0.03 * np.sign(w)),
    "ElasticNet": (ElasticNet(0.03, 0.05), lambda w: 0.03 * np.sign(w) + 2 * 0.05 * w),
}


def reference_trajectory(rule, penalty_grad, steps: int = STEPS) -> list[np.ndarray]:
    params = [W0.copy(), B0.copy()]
    states: list[dict] = [{}, {}]
    for t in range(1, steps + 1):
        grads = gradients(params)
        params = [rule(w, g + penalty_grad(w), s, t) for w, g, s in zip(params, grads, states)]
    return params


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_trajectory_matches_the_published_rule(device, config, penalty):
    make, rule, _ = CONFIGS[config]
    problem = Problem(device)
    problem.train(make([problem.w, problem.b], PENALTIES[penalty][0]), STEPS)
    expected = reference_trajectory(rule, PENALTIES[penalty][1])
    for got, want in zip(problem.values(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert not np.allclose(problem.values()[0], W0, atol=1e-3), "the parameters should have moved"


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_trajectory_matches_torch(device, config, penalty):
    torch = pytest.importorskip("torch")
    make, _, make_torch = CONFIGS[config]
    problem = Problem(device)
    problem.train(make(problem.loss.parameters(), PENALTIES[penalty][0]), STEPS)

    penalty_grad = PENALTIES[penalty][1]
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    x, y = torch.tensor(X), torch.tensor(Y)
    optimizer = make_torch(torch, [w, b])
    for _ in range(STEPS):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in (w, b):  # the crate's penalty, added to the gradient before the update
                p.grad += torch.from_numpy(penalty_grad(p.numpy()))
        optimizer.step()
        optimizer.zero_grad()
    for got, want in zip(problem.values(), (w.detach().numpy(), b.detach().numpy())):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_amsgrad_uses_the_running_maximum(device):
    adam, amsgrad = Problem(device), Problem(device)
    adam.train(Adam([adam.w, adam.b], 0.05, betas=(0.9, 0.9)), STEPS)
    amsgrad.train(AMSGrad([amsgrad.w, amsgrad.b], 0.05, betas=(0.9, 0.9)), STEPS)
    assert not np.allclose(adam.values()[0], amsgrad.values()[0], rtol=1e-6)


# --- the step contract -----------------------------------------------------------------------
def test_graph_built_once_sees_updated_parameters(device):
    problem = Problem(device)
    optimizer = SGD(problem.loss.parameters(), lr=0.1)
    before = problem.loss.forward().item()
    problem.loss.backward()
    optimizer.step()
    w, b = problem.values()
    expected = float(np.mean((X @ w + b - Y) ** 2))
    after = problem.loss.forward().item()
    assert after == pytest.approx(expected, rel=1e-12)
    assert after < before


def test_step_updates_in_place_and_leaves_gradients_alone(device):
    problem = Problem(device)
    optimizer = Adam(problem.loss.parameters(), 0.1, penalty=L2(0.1))
    problem.loss.backward()
    arrays = [param.data for param in optimizer.params]
    grads = [nk.backends.to_host(param.grad).copy() for param in optimizer.params]
    optimizer.step()
    for param, array, grad in zip(optimizer.params, arrays, grads):
        assert param.data is array
        np.testing.assert_array_equal(nk.backends.to_host(param.grad), grad)


def test_zero_grad_forgets_gradients(device):
    problem = Problem(device)
    optimizer = SGD(problem.loss.parameters(), lr=0.1)
    problem.loss.backward()
    optimizer.zero_grad()
    assert all(param._node.grad is None for param in optimizer.params)
    assert all(not np.any(nk.backends.to_host(param.grad)) for param in optimizer.params)


def test_parameters_without_gradient_step_with_zero_gradient(device):
    unused = nk.from_ndarray(np.array([1.0, -2.0]), dtype="float64", device=device).requires_grad()
    problem = Problem(device)
    plain = SGD([problem.w, unused], lr=0.1)
    problem.loss.backward()
    plain.step()
    np.testing.assert_array_equal(unused.numpy(), [1.0, -2.0])
    decayed = SGD([unused], lr=0.1, penalty=L2(0.5))
    decayed.step()
    np.testing.assert_allclose(unused.numpy(), [0.9, -1.8], rtol=1e-15)


def test_state_lives_on_the_parameters_device(device):
    problem = Problem(device)
    optimizer = RMSProp(problem.loss.parameters(), centered=True, momentum=0.9)
    problem.train(optimizer, 2)
    backend = problem.w._node.backend
    buffers = [array for state in optimizer.state_dict()["state"] for array in state.values()]
    assert len(buffers) == 6 and all(backend.owns(array) for array in buffers)


def test_float32_parameters_stay_float32(device):
    w = nk.from_ndarray(W0, dtype="float32", device=device).requires_grad()
    loss = (w * w).sum()
    optimizer = Adam([w], 0.1)
    loss.backward()
    optimizer.step()
    assert w.dtype == nk.float32 and w.numpy().dtype == np.float32
    assert all(nk.backends.to_host(a).dtype == np.float32 for a in optimizer.state_dict()["state"][0].values())


# --- construction ----------------------------------------------------------------------------
def test_params_accept_leaves_and_params_once_each_in_order(device):
    problem = Problem(device)
    optimizer = SGD([problem.b, problem.w, problem.b, nk.Param(problem.w._node)], lr=0.1)
    assert optimizer.params == [nk.Param(problem.b._node), nk.Param(problem.w._node)]
    assert SGD(problem.w, lr=0.1).params == [nk.Param(problem.w._node)]


def test_params_that_are_not_parameters_are_rejected(device):
    problem = Problem(device)
    with pytest.raises(TypeError, match=r"parameters\(\)"):
        SGD([problem.loss], lr=0.1)
    with pytest.raises(TypeError, match="requires_grad"):
        SGD([nk.zeros(3, device=device)], lr=0.1)
    with pytest.raises(TypeError, match="params\\[1\\] is a ndarray"):
        SGD([problem.w, np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, "lr must be a finite number >= 0"),
        (lambda p: SGD(p, lr=float("nan")), ValueError, "lr"),
        (lambda p: SGD(p, lr="0.1"), TypeError, "lr must be a real number"),
        (lambda p: SGD(p, 0.1, momentum=-0.5), ValueError, "momentum"),
        (lambda p: SGD(p, 0.1, momentum=0.9, dampening=1.5), ValueError, "dampening"),
        (lambda p: SGD(p, 0.1, nesterov=True), ValueError, "Nesterov momentum needs momentum > 0"),
        (lambda p: SGD(p, 0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "dampening = 0"),
        (lambda p: SGD(p, 0.1, penalty=0.1), TypeError, "penalty must be None or a Penalty"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be a finite number in \[0, 1\)"),
        (lambda p: Adam(p, betas=(-0.1, 0.9)), ValueError, r"betas\[0\]"),
        (lambda p: AMSGrad(p, betas=0.9), TypeError, "AMSGrad: betas must be a pair"),
        (lambda p: Adam(p, eps=-1e-8), ValueError, "eps"),
        (lambda p: Adagrad(p, lr_decay=-1.0), ValueError, "lr_decay"),
        (lambda p: RMSProp(p, alpha=1.5), ValueError, "alpha"),
        (lambda p: RMSProp(p, momentum=-1.0), ValueError, "momentum"),
        (lambda p: RMSProp(p, centered=1), TypeError, "centered must be True or False"),
        (lambda p: SGD(p, 0.1, penalty=L2(-1.0)), ValueError, "L2: lambda must be a finite number >= 0"),
        (lambda p: SGD(p, 0.1, penalty=ElasticNet(0.1, float("inf"))), ValueError, "lambda_l2"),
    ],
)
def test_bad_hyperparameters_raise_at_construction(device, build, error, message):
    with pytest.raises(error, match=message):
        build(Problem(device).loss.parameters())


def test_hyperparameters_have_checked_getters_and_setters(device):
    params = Problem(device).loss.parameters()
    sgd = SGD(params, 0.1)
    assert sgd.with_momentum(0.9, 0.0, True) is sgd
    assert (sgd.momentum, sgd.dampening, sgd.nesterov) == (0.9, 0.0, True)
    with pytest.raises(ValueError, match="Nesterov"):
        sgd.momentum = 0.0
    assert sgd.momentum == 0.9  # a rejected value changes nothing
    sgd.lr = 0.5
    assert sgd.lr == sgd.get_lr() == 0.5
    sgd.set_lr(0.25)
    assert sgd.lr == 0.25
    sgd.penalty = L1(0.1)
    assert sgd.penalty == L1(0.1)
    with pytest.raises(ValueError, match="lr"):
        sgd.lr = -1.0

    adam = Adam(params)
    adam.betas, adam.eps = (0.5, 0.6), 1e-6
    assert adam.hyperparameters() == {"lr": 1e-3, "penalty": None, "betas": (0.5, 0.6), "eps": 1e-6}
    adagrad = Adagrad(params)
    adagrad.lr_decay = 0.1
    assert (adagrad.lr, adagrad.lr_decay, adagrad.eps) == (1e-2, 0.1, 1e-10)
    rms = RMSProp(params)
    assert rms.centered() is rms and rms.is_centered
    assert rms.with_momentum(0.3) is rms and rms.momentum == 0.3
    rms.is_centered, rms.alpha, rms.eps = False, 0.5, 1e-3
    assert (rms.is_centered, rms.alpha, rms.eps) == (False, 0.5, 1e-3)
    assert rms.centered_with_momentum(0.7) is rms and (rms.is_centered, rms.momentum) == (True, 0.7)


# --- state_dict ------------------------------------------------------------------------------
@pytest.mark.parametrize("config", ["sgd-nesterov", "adam", "amsgrad", "adagrad-lr_decay", "rmsprop-centered-momentum"])
def test_training_resumes_bit_identically_from_state_dict(device, config, tmp_path):
    make = CONFIGS[config][0]
    first = Problem(device)
    first_opt = make(first.loss.parameters(), ElasticNet(0.01, 0.02))
    first.train(first_opt, 10)
    saved_params = [first.w.numpy(), first.b.numpy()]
    saved = first_opt.state_dict()

    rng = np.random.default_rng(99)
    second = Problem(device, rng.standard_normal((D, 1)), rng.standard_normal(1))
    second_opt = make(second.loss.parameters(), None)
    second.w.assign(saved_params[0])
    second.b.assign(saved_params[1])
    nk.save(saved, tmp_path / "optimizer.npz")
    second_opt.load_state_dict(nk.load(tmp_path / "optimizer.npz"))
    assert second_opt.penalty == ElasticNet(0.01, 0.02) and second_opt.steps == 10

    first.train(first_opt, 10)
    second.train(second_opt, 10)
    for a, b in zip(first.values(), second.values()):
        np.testing.assert_array_equal(a, b)


def test_state_dict_is_a_snapshot(device):
    problem = Problem(device)
    optimizer = Adam(problem.loss.parameters(), 0.1)
    problem.train(optimizer, 3)
    saved = optimizer.state_dict()
    host = [{k: nk.backends.to_host(v).copy() for k, v in s.items()} for s in saved["state"]]
    problem.train(optimizer, 3)
    optimizer.lr = 0.5
    assert saved["step"] == 3 and saved["param_groups"][0]["lr"] == 0.1
    for state, copy in zip(saved["state"], host):
        for name in copy:
            np.testing.assert_array_equal(nk.backends.to_host(state[name]), copy[name])
    optimizer.load_state_dict(saved)
    assert optimizer.lr == 0.1 and optimizer.steps == 3


def test_load_state_dict_says_what_does_not_fit(device):
    problem = Problem(device)
    adam = Adam(problem.loss.parameters(), 0.1)
    problem.train(adam, 1)
    saved = adam.state_dict()
    with pytest.raises(ValueError, match="saved by Adam, not by SGD"):
        SGD(problem.loss.parameters(), 0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="holds 2 parameters, this optimizer has 1"):
        Adam([problem.w], 0.1).load_state_dict(saved)
    other = Problem(device)
    wrong = Adam([other.b, other.w], 0.1)
    with pytest.raises(ValueError, match=r"parameter 0: exp_avg has shape \(3, 1\), the parameter \(1,\)"):
        wrong.load_state_dict(saved)
    assert wrong.steps == 0 and wrong.state_dict()["state"] == [{}, {}]  # nothing was written
    saved["state"][1]["bogus"] = saved["state"][1]["exp_avg"]
    with pytest.raises(ValueError, match="unknown buffer 'bogus'"):
        adam.load_state_dict(saved)
