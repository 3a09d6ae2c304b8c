"""The replay compiler (neuronika/autograd/compiled.py): a replayed graph runs a generated plan
that must give bit for bit what the interpreter gives, and be rebuilt whenever something it
baked in changes."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim
from neuronika.autograd import compiled
from neuronika.autograd.anomaly import AnomalyError

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def compiler():
    """Restores the compiler switch after a test that flips it."""
    old = compiled.set_enabled(True)
    yield compiled
    compiled.set_enabled(old)


def _example(name: str):
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = __import__(name)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


def _models(device: str) -> dict:
    return {
        "mlp": (lambda: _example("digits_mlp").MLP(device), (8, 64)),
        "cnn": (lambda: _example("digits_cnn").CNN(device), (8, 1, 8, 8)),
        "resnet": (lambda: _example("digits_resnet").ResNet(device), (4, 1, 8, 8)),
        "lstm": (lambda: _LSTMLast(device), (5, 4, 4)),
    }


class _LSTMLast(nn.Module):
    """nn.LSTM over a (5, N, 4) sequence; the last step's hidden state through a linear layer."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, device=device)
        self.fc = nn.Linear(6, 10, device=device)

    def forward(self, x: nk.Var) -> nk.Var:
        output, _ = self.lstm(x)
        last = output.chunks((1,) + output.shape[1:])[-1].reshape(output.shape[1:])
        return self.fc(last).log_softmax(axis=1)


def _train(kind: str, device: str, enabled: bool, steps: int = 50) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``steps`` replayed Adam steps (with an eval-mode forward midway); the losses, the final
    parameters and their last gradients, as host arrays."""
    compiled.set_enabled(enabled)
    make, shape = _models(device)[kind]
    nk.manual_seed(7)
    model = make()
    data = np.random.default_rng(3)
    inputs = nk.zeros(shape, device=device)
    batch = shape[1] if kind == "lstm" else shape[0]
    targets = nk.zeros(batch, device=device)
    loss = nn.loss.nll_loss(model(inputs), targets)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    seen: list[np.ndarray] = []
    for step in range(steps):
        inputs.assign(data.standard_normal(shape).astype(np.float32))
        targets.assign(data.integers(0, 10, batch))
        if step == steps // 2:  # train/eval switch on the graph already built (dropout, BatchNorm)
            model.eval()
            seen.append(loss.forward().numpy())
            model.train()
        loss.forward()
        seen.append(loss.numpy())
        if step == steps - 1:
            seen += [nk.backends.get(device).to_host(p.grad).copy() for p in model.parameters()]
        optimizer.step()
        optimizer.zero_grad()
    seen += [nk.backends.get(device).to_host(p.data) for p in model.parameters()]
    return seen, [loss]


@pytest.mark.parametrize("kind", ["mlp", "cnn", "resnet", "lstm"])
def test_compiled_replay_is_bit_for_bit_the_interpreter_over_50_steps(device, kind, compiler):
    plain, _ = _train(kind, device, enabled=False)
    fast, (loss,) = _train(kind, device, enabled=True)
    assert loss._node._compiled, "the replayed graph was not compiled"
    assert len(plain) == len(fast)
    for a, b in zip(plain, fast):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True), "compiled and interpreted replays differ"


def _replay(root: nk.Var, leaf: nk.Var, values: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for value in values:
        leaf.assign(value)
        out.append(root.forward().numpy())
    return out


def test_a_graph_run_twice_is_compiled_and_its_elementwise_ops_are_inline(device, compiler):
    x = nk.from_ndarray(np.ones(4), device=device)
    w = nk.from_ndarray(np.full(4, 0.5), device=device).requires_grad()
    loss = (-(x * w + w - x)).tanh().sum()
    loss.forward()
    if not compiled.ALWAYS[0]:
        assert loss._node._compiled is False  # run once: not compiled (a rebuilt graph never is)
    loss.backward()
    loss.forward()
    plan = loss._node._compiled
    assert isinstance(plan, compiled.Plan)
    body = plan.source
    assert "tanh" in body and " * " in body and " + " in body and " - " in body  # inline kernels
    assert body.count("()") == 0  # no op is called through its node: all inline
    loss.backward()
    # tanh'(0) · d/dw -(x·w + w - x) = -(x + 1) = -2 per pass, two passes accumulated
    assert np.array_equal(nk.backends.get(device).to_host(w.grad), np.full(4, -4.0))


def test_a_plan_is_kept_across_changes_it_does_not_bake_in_and_rebuilt_when_switched(device, compiler):
    x = nk.from_ndarray(np.ones(200), device=device).requires_grad()
    loss = (x.dropout(0.5) * x).sum()
    for _ in range(2):
        loss.forward()
        loss.backward()
    plan = loss._node._compiled
    assert isinstance(plan, compiled.Plan)
    # a leaf promoted elsewhere cannot be in this graph (a leaf that feeds ops cannot be promoted)
    nk.from_ndarray(np.ones(2), device=device).requires_grad()
    loss.eval()  # dropout reads its mode when it runs: the plan stays
    assert loss.forward().item() == 200.0
    loss.train()
    loss.backward()
    assert loss.forward().item() != 200.0 and loss._node._compiled is plan
    compiled.set_enabled(False)
    compiled.set_enabled(True)
    loss.backward()
    loss.forward()
    assert loss._node._compiled is not plan  # switching the compiler drops every plan


def test_a_shared_node_computed_by_a_compiled_plan_is_not_recomputed_by_another_graph(device, compiler):
    # dropout draws a new mask per forward: recomputing the shared node for the second root
    # would give it another mask than the first root's value was computed with
    x = nk.from_ndarray(np.ones((50,)), device=device)
    h = x.dropout(0.5)
    first, second = h.sum(), (h * 2.0).sum()
    for _ in range(5):
        x.assign(np.ones((50,)))
        total = float(first.forward().item())
        assert float(second.forward().item()) == 2 * total
    assert first._node._compiled


def test_replaced_parameter_values_reach_a_compiled_graph(device, compiler):
    w = nk.from_ndarray(np.ones(3), device=device).requires_grad()
    y = (w * w).sum()
    for _ in range(3):
        y.forward()
        y.backward()
    (param,) = y.parameters()
    param.data = np.full(3, 2.0)
    assert y.forward().item() == 12.0
    assert y._node._compiled


def test_custom_node_classes_run_through_their_own_methods(device, compiler):
    from neuronika.autograd.node import Node
    from neuronika.autograd.variable import wrap

    class Twice(Node):
        __slots__ = ()
        name = "twice"

        def __init__(self, operand: Node) -> None:
            self._setup((operand,), operand.shape, operand.dtype, operand.backend)

        def _forward(self) -> None:
            self.value = self.inputs[0].value * 2.0

        def _backward(self) -> None:
            self.inputs[0].add_grad(self.grad * 2.0)

    w = nk.from_ndarray(np.ones(3), device=device).requires_grad()
    y = wrap(Twice(wrap(Twice(w._node))._node)).sum()
    for _ in range(3):
        y.forward()
        y.backward()
    assert isinstance(y._node._compiled, compiled.Plan) and "twice" not in y._node._compiled.source
    assert np.array_equal(nk.backends.get(device).to_host(w.grad), np.full(3, 12.0))  # 3 passes x 4


def test_no_grad_graphs_and_anomaly_mode_keep_their_rules_when_compiled(device, compiler):
    w = nk.from_ndarray(np.ones(2), device=device).requires_grad()
    y = (w * w).sum()
    for _ in range(2):
        y.forward()
        y.backward()
    assert y._node._compiled
    grad = nk.backends.get(device).to_host(w.grad).copy()
    y.no_grad()
    y.backward()
    assert np.array_equal(nk.backends.get(device).to_host(w.grad), grad)
    y.with_grad()
    z = (w.ln() * 0.0).sum()  # ln(0) * 0 = nan once w is zero
    for _ in range(2):
        w.assign(np.ones(2))
        z.forward()
    assert z._node._compiled
    w.assign(np.zeros(2))
    with nk.detect_anomaly(), pytest.raises(AnomalyError, match="forward of ln"):
        z.forward()


def test_gradients_of_intermediate_ops_read_as_with_the_interpreter(device, compiler):
    def grads(enabled: bool) -> list[np.ndarray]:
        compiled.set_enabled(enabled)
        x = nk.from_ndarray(np.linspace(-1, 1, 5), device=device).requires_grad()
        a = x * x
        b = (a + x).tanh()
        loss = (b - a).sum()
        for _ in range(3):
            x.assign(np.linspace(-1, 1, 5))
            loss.forward()
            loss.backward()
        assert bool(loss._node._compiled) is enabled
        return [nk.backends.get(device).to_host(v.grad) for v in (a, b, x)]

    for plain, fast in zip(grads(False), grads(True)):
        assert np.array_equal(plain, fast)


def test_a_compiled_graph_is_freed_without_the_cyclic_collector(device, compiler):
    import gc
    import weakref

    x = nk.from_ndarray(np.ones(3), device=device).requires_grad()
    loss = (x * x + x).tanh().sum()
    for _ in range(3):
        loss.forward()
        loss.backward()
    loss.forward()  # the last run a forward: the plan is among those run at this clock
    assert loss._node._compiled
    root, inner = weakref.ref(loss._node), weakref.ref(loss._node.inputs[0])
    gc.disable()
    try:
        del loss
        assert root() is None  # no cycle through the plan (it never holds the root)
        assert inner() is None  # nor does the engine's list of plans run at this clock
    finally:
        gc.enable()


def test_out_is_a_backend_capability_of_numpy_and_cupy_only(device):
    backend = nk.backends.get(device)
    assert backend.supports_out is (backend.name in ("numpy", "cupy"))
    if backend.supports_out:
        a = backend.asarray(np.arange(3.0), nk.float64)
        out = backend.xp.zeros(3, dtype=backend.dtype(nk.float64))
        result = backend.xp.multiply(a, a, out=out)
        assert result is out and np.array_equal(backend.to_host(out), [0.0, 1.0, 4.0])
