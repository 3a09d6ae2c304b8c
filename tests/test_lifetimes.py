"""Dead intermediates (neuronika/autograd/lifetimes.py): a replayed plan releases the value and
the gradient of an intermediate that no live handle refers to once the schedule no longer reads
them, keeps everything a handle can read, and stays bit for bit the interpreter's."""

from __future__ import annotations

import copy
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.autograd import compiled, lifetimes
from neuronika.autograd.variable import wrap


@pytest.fixture(autouse=True)
def every_size(monkeypatch):
    """The interpreter looks for dead values only in graphs of large arrays
    (``lifetimes.MIN_ELEMENTS``); these small graphs check the rule itself."""
    monkeypatch.setattr(lifetimes, "MIN_ELEMENTS", 1)


@pytest.fixture
def compiler():
    """Restores the compiler switch after a test that flips it."""
    old = compiled.set_enabled(True)
    yield compiled
    compiled.set_enabled(old)


def _leaf(device: str, values, grad: bool = False):
    x = nk.from_ndarray(np.asarray(values, dtype=np.float64), device=device)
    return x.requires_grad() if grad else x


def _chain(device: str):
    """``loss = Σ tanh(x·w + b)²``: the product and the sum are read by no VJP (their values go
    in the forward), tanh's output is read by its own VJP and the square (it goes in the
    backward). Returns the loss, the leaves and the nodes of the dropped intermediates."""
    x = _leaf(device, [0.5, -1.0, 2.0])
    w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
    b = _leaf(device, [0.1, 0.2, 0.3], grad=True)
    product = x * w
    pre = product + b
    squashed = pre.tanh()
    loss = (squashed * squashed).sum()
    nodes = product._node, pre._node, squashed._node
    return loss, (x, w, b), nodes


def _replay(loss, steps: int = 3) -> None:
    for _ in range(steps):
        loss.forward()
        loss.backward()


def _weak(array):
    try:
        return weakref.ref(array)
    except TypeError:  # an array type without weak references: the node is checked instead
        return None


def test_a_dead_intermediate_releases_its_value_and_gradient(device, compiler):
    loss, (_, w, b), (product, pre, squashed) = _chain(device)
    loss.forward()
    loss.backward()
    loss.forward()  # the second whole forward plans the graph: its intermediates have no handle
    assert len(product.handles) == len(pre.handles) == len(squashed.handles) == 0
    assert product.value is None and pre.value is None  # read by no VJP: gone after their consumers
    kept = squashed.value  # read by the backward: kept until its last reader ran
    assert kept is not None
    freed = _weak(kept)
    del kept
    loss.backward()
    assert squashed.value is None
    assert product.grad is None and pre.grad is None and squashed.grad is None
    gc.collect()
    assert freed is None or freed() is None  # no hidden reference (the plan's locals) keeps it
    assert w.grad is not None and b.grad is not None and loss.grad is not None


def test_with_handles_everything_reads_as_the_interpreter_gives(device, compiler):
    results = []
    for enabled in (True, False):
        compiled.set_enabled(enabled)
        x = _leaf(device, [0.5, -1.0, 2.0])
        w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
        product = x * w
        squashed = product.tanh()
        loss = (squashed * squashed).sum()
        _replay(loss)
        arrays = product.data, product.grad, squashed.data, squashed.grad, loss.data, w.grad
        results.append([_host(device, array) for array in arrays])
    for ours, reference in zip(*results):
        np.testing.assert_array_equal(ours, reference)


def _host(device: str, array) -> np.ndarray:
    return np.asarray(nk.backends.get(device).to_host(array))


def _reference_grads(device: str, build, steps: int):
    old = compiled.set_enabled(False)
    try:
        loss, leaves, _ = build(device)
        _replay(loss, steps)
        return _host(device, loss.data), [_host(device, leaf.grad) for leaf in leaves if isinstance(leaf, nk.VarDiff)]
    finally:
        compiled.set_enabled(old)


def test_a_handle_made_after_planning_rebuilds_the_plan_and_reads_a_correct_value(device, compiler):
    loss, leaves, (product, pre, _) = _chain(device)
    loss.forward()
    loss.backward()
    loss.forward()
    assert pre.value is None and pre.dead
    revived = wrap(pre)  # code walking the graph and wrapping what it finds
    assert not pre.dead
    x, w, b = (_host(device, leaf.data) for leaf in leaves)
    np.testing.assert_array_equal(revived.forward().numpy(), x * w + b)
    loss.backward()  # the plan is stale: the interpreter, which recomputes what was released
    loss.forward()
    loss.backward()  # replanned with the handle: its gradient is kept
    assert pre.grad is not None and pre.value is not None
    value, grads = _reference_grads(device, _chain, 3)
    np.testing.assert_array_equal(_host(device, loss.data), value)
    for leaf, reference in zip(leaves[1:], grads):
        np.testing.assert_array_equal(_host(device, leaf.grad), reference)


def _shared(device: str):
    """Two roots on one dead intermediate ``z = x·w``: ``Σ z`` (whose VJP reads no value) and
    ``Σ z²`` (whose VJP reads ``z``)."""
    x = _leaf(device, [0.5, -1.0, 2.0])
    w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
    z = x * w
    first, second = z.sum(), (z * z).sum()
    return (first, second), (x, w), None


@pytest.mark.parametrize("order", [(0, 1, 0, 1), (1, 0, 0, 1), (0, 1, 1, 0), (1, 0, 1, 0)])
def test_roots_sharing_a_dead_node_each_see_its_value(device, compiler, order):
    results = []
    for enabled in (False, True):
        compiled.set_enabled(enabled)
        roots, (_, w), _ = _shared(device)
        for _ in range(3):
            forwards, backwards = order[:2], order[2:]
            for index in forwards:
                roots[index].forward()
            for index in backwards:
                roots[index].backward()
        results.append((_host(device, w.grad), [_host(device, r.data) for r in roots]))
    (grad, values), (reference, expected) = results
    np.testing.assert_array_equal(grad, reference)
    for ours, theirs in zip(values, expected):
        np.testing.assert_array_equal(ours, theirs)


def test_backward_twice_recomputes_what_was_released(device, compiler):
    loss, (_, w, b), _ = _chain(device)
    loss.forward()
    loss.backward()
    loss.forward()
    loss.backward()
    loss.backward()  # no forward in between: the released values are recomputed first
    _, grads = _reference_grads(device, _chain, 1)
    np.testing.assert_allclose(_host(device, w.grad), 3 * grads[0], rtol=1e-12)
    np.testing.assert_allclose(_host(device, b.grad), 3 * grads[1], rtol=1e-12)


def test_an_interpreted_backward_after_a_compiled_forward_gives_the_interpreters_gradients(device, compiler):
    loss, (_, w, _), (_, pre, _) = _chain(device)
    loss.forward()
    loss.backward()
    loss.zero_grad()
    loss.forward()
    assert pre.value is None
    with nk.detect_anomaly():  # anomaly mode runs the interpreter, on what the plan kept
        loss.backward()
    _, grads = _reference_grads(device, _chain, 1)
    np.testing.assert_array_equal(_host(device, w.grad), grads[0])


def test_a_no_grad_graph_releases_values_right_after_their_consumers(device, compiler):
    x = _leaf(device, [0.5, -1.0, 2.0])
    with nk.no_grad():
        w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
        hidden = (x * w).exp()
        out = (hidden * hidden).sum()
    node = hidden._node
    del hidden
    out.forward()
    out.forward()  # same clock: nothing to redo
    x.assign(np.array([1.0, 2.0, 3.0]))
    out.forward()  # the plan
    assert node.value is None
    expected = np.exp(np.array([1.0, 2.0, 3.0]) * np.array([1.5, 0.25, -0.5]))
    np.testing.assert_allclose(out.numpy(), (expected * expected).sum(), rtol=1e-12)


def test_dropout_values_stay_so_a_second_root_sees_the_same_mask(device, compiler):
    x = nk.from_ndarray(np.ones(64), device=device).requires_grad()
    dropped = x.dropout(0.5)
    first, second = dropped.sum(), (dropped * dropped).sum()
    node = dropped._node
    del dropped
    for _ in range(3):
        first.forward()
        second.forward()  # the interpreter at the same clock: the first's mask, not a new one
        assert node.value is not None
        assert second.item() == 2.0 * first.item()  # kept entries are 2, so 2² = 2·2
        first.backward()
        second.backward()


def test_a_copied_handle_counts(device, compiler):
    loss, _, (product, _, _) = _chain(device)
    kept = copy.copy(wrap(product))
    assert len(product.handles) == 1
    _replay(loss)
    assert product.value is not None and product.grad is not None
    del kept
    assert len(product.handles) == 0


def test_the_interpreter_drops_what_is_dead_and_keeps_what_handles_and_vjps_read(device, compiler):
    compiled.set_enabled(False)  # every pass interpreted
    x = _leaf(device, [0.5, -1.0, 2.0])
    w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
    kept = x * w
    pre = kept + 1.0  # dead, read by no VJP: its value goes after the tanh
    squashed = pre.tanh()  # dead, read by its own VJP: its value stays for the backward
    loss = squashed.sum()
    nodes = pre._node, squashed._node
    del pre, squashed
    for _ in range(2):
        loss.forward()
        assert nodes[0].value is None and nodes[1].value is not None
        loss.backward()
        assert nodes[0].grad is None and nodes[1].grad is None
    expected = 1 - np.tanh(_host(device, kept.data) + 1.0) ** 2
    np.testing.assert_allclose(_host(device, kept.grad), expected, rtol=1e-12)
    revived = wrap(nodes[0])  # a handle made later: the next pass keeps the value
    loss.forward()
    np.testing.assert_array_equal(revived.numpy(), _host(device, kept.data) + 1.0)


def _lstm_step_peak(steps: int, batch: int, hidden: int) -> int:
    """tracemalloc's peak (bytes) of one replayed training step of an unrolled LSTMCell, above
    what is allocated before it."""
    cell = nn.LSTMCell(hidden, hidden, dtype="float32")
    rng = np.random.default_rng(0)
    xs = [nk.from_ndarray(rng.standard_normal((batch, hidden)).astype(np.float32)) for _ in range(steps)]
    zeros = nk.zeros((batch, hidden))
    state = (zeros, zeros)
    for x in xs:
        state = cell(state, x)
    loss = (state[1] * state[1]).mean()
    del state
    params = cell.parameters()
    for _ in range(2):
        loss.forward()
        loss.backward()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        loss.forward()
        loss.backward()
        for p in params:
            p.grad = None
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_replayed_lstm_step_is_what_its_backward_needs(device, compiler):
    if device != "cpu":
        pytest.skip("tracemalloc sees NumPy's allocations: measured on the NumPy backend")
    steps, batch, hidden = 32, 16, 64
    peak = _lstm_step_peak(steps, batch, hidden)
    # What the backward needs per step (float32): the step node's output [h' | c'] (2H) and its
    # gates i, f, o (one 4H array: the σ of all four pre-activations), g and tanh c' (H each):
    # 8H per sample. Before dead values and gradients were released the step held 36H per
    # sample and step (two affine outputs and their gradients, 4H each; the gate sum and its
    # gradient; the step's output, gradient and gates): 4.5x this. Allowed: 1.5x what is needed.
    needed = steps * batch * 8 * hidden * 4
    assert peak < 1.5 * needed, (peak, needed)


def test_a_dead_node_read_by_the_root_stays_until_the_root_ran(device, compiler):
    x = _leaf(device, [0.5, -1.0, 2.0])
    w = _leaf(device, [1.5, 0.25, -0.5], grad=True)
    product = x * w
    loss = product.exp() * product  # the exp reads product first, the root last
    del product
    values = np.array([0.75, -0.25, -1.0])
    for _ in range(3):  # the interpreter, then the plan
        np.testing.assert_allclose(loss.forward().numpy(), np.exp(values) * values, rtol=1e-12)
        loss.backward()


def test_the_interpreter_skips_the_search_in_a_graph_of_small_arrays(device, compiler, monkeypatch):
    monkeypatch.setattr(lifetimes, "MIN_ELEMENTS", 4)  # the 3-element graph is small, 4 is not
    compiled.set_enabled(False)
    for size, released in ((3, False), (4, True)):
        x = nk.from_ndarray(np.linspace(0.1, 1.0, size), device=device)
        pre = x.exp() + 1.0  # dead and read by no VJP: released only in the large graph
        loss = pre.tanh().sum()
        node = pre._node
        del pre
        loss.forward()
        assert (node.value is None) == released


def test_handles_made_and_dropped_by_many_threads_keep_the_count(device):
    """The count is a list (atomic append/pop): threads making and dropping handles of one
    shared intermediate never lose an update, which would let a plan release a readable array."""
    import sys
    import threading

    y = nk.ones(3, device=device).requires_grad() * 2.0
    node = y._node
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def churn() -> None:
        for _ in range(5000):
            handle = nk.VarDiff(node)
            del handle

    try:
        threads = [threading.Thread(target=churn) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert len(node.handles) == 1  # y itself
