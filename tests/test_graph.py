"""The graph's contract (DESIGN §3): laziness, staleness, accumulation, differentiability rules,
replay and rebuild training loops, parameters, no_grad/with_grad, and conversions."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk


def host(device: str, array) -> np.ndarray:
    return nk.backends.get(device).to_host(array)


def test_building_computes_nothing_and_data_before_forward_says_to_call_forward(device):
    x = nk.ones((2, 2), device=device)
    y = (x * 2.0).exp()
    with pytest.raises(RuntimeError, match=r"call \.forward\(\)"):
        y.data
    y.forward()
    np.testing.assert_allclose(y.numpy(), np.exp(2.0) * np.ones((2, 2)), rtol=1e-6)


def test_second_forward_without_changes_reuses_values(device):
    y = nk.rand((50, 50), device=device).dropout(0.5)
    first = y.forward().numpy()
    second = y.forward().numpy()
    np.testing.assert_array_equal(first, second)  # the dropout mask was not redrawn


def test_forward_recomputes_after_assign(device):
    x = nk.zeros(3, device=device)
    y = (x + 1.0) * 2.0
    np.testing.assert_allclose(y.forward().numpy(), [2, 2, 2])
    x.assign(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(y.forward().numpy(), [4, 6, 8])


def test_gradients_accumulate_until_zero_grad(device):
    w = nk.full(3, 2.0, device=device).requires_grad()
    loss = (w * w).sum()
    loss.forward()
    loss.backward(1.0)
    np.testing.assert_allclose(host(device, w.grad), [4, 4, 4])
    loss.forward()
    loss.backward(1.0)
    np.testing.assert_allclose(host(device, w.grad), [8, 8, 8])
    loss.zero_grad()
    np.testing.assert_allclose(host(device, w.grad), [0, 0, 0])
    loss.forward()
    loss.backward(0.5)
    np.testing.assert_allclose(host(device, w.grad), [2, 2, 2])


def test_backward_seed_can_be_an_array(device):
    w = nk.ones(3, device=device).requires_grad()
    y = w * 3.0
    y.forward()
    y.backward(nk.backends.get(device).asarray(np.array([1.0, 2.0, 3.0]), nk.float32))
    np.testing.assert_allclose(host(device, w.grad), [3, 6, 9])


def test_backward_without_forward_computes_first(device):
    w = nk.full(2, 3.0, device=device).requires_grad()
    loss = (w * w).sum()
    loss.backward(1.0)
    np.testing.assert_allclose(host(device, w.grad), [6, 6])
    assert loss.item() == 18.0


def test_reused_variable_sums_the_gradients_of_all_uses(device):
    x = nk.full((2,), 3.0, device=device).requires_grad()
    alias = x  # a copy of the handle shares the node
    y = (x * alias + x).sum()
    y.forward()
    y.backward(1.0)
    np.testing.assert_allclose(host(device, x.grad), [7, 7])  # 2x + 1


def test_differentiability_is_sticky(device):
    a = nk.ones(2, device=device)
    b = nk.ones(2, device=device).requires_grad()
    assert type(a + a) is nk.Var
    assert type(a + b) is nk.VarDiff
    assert type(b * 2.0) is nk.VarDiff
    assert type((a + a).exp() * b) is nk.VarDiff
    assert not hasattr(a + a, "backward")


def test_only_leaves_can_require_grad(device):
    a = nk.ones(2, device=device)
    with pytest.raises(TypeError, match="only a leaf"):
        (a + a).requires_grad()
    b = nk.ones(2, device=device).requires_grad()
    with pytest.raises(TypeError, match="only a leaf"):
        (b * b).requires_grad()
    assert b.requires_grad() is b


def test_parameters_are_unique_and_in_a_stable_order(device):
    w1 = nk.ones((2, 2), device=device).requires_grad()
    w2 = nk.ones((2, 2), device=device).requires_grad()
    x = nk.ones((2, 2), device=device)
    y = (x.mm(w1) + w1).mm(w2) * w1
    params = y.parameters()
    assert len(params) == 2
    assert params[0] == nk.Param(w1._node) and params[1] == nk.Param(w2._node)
    assert [p.shape for p in y.parameters()] == [(2, 2), (2, 2)]
    y.forward()
    y.backward(1.0)
    np.testing.assert_allclose(host(device, params[0].grad), host(device, w1.grad))


def test_no_grad_and_with_grad(device):
    w = nk.ones(2, device=device).requires_grad()
    y = (w * 3.0).sum()
    y.no_grad()
    y.forward()
    y.backward(1.0)
    np.testing.assert_allclose(host(device, w.grad), [0, 0])
    y.with_grad()
    y.forward()
    y.backward(1.0)
    np.testing.assert_allclose(host(device, w.grad), [3, 3])


def test_intermediate_gradients_are_readable(device):
    w = nk.ones(2, device=device).requires_grad()
    h = w * 2.0
    y = (h * h).sum()
    y.forward()
    y.backward(1.0)
    np.testing.assert_allclose(host(device, h.grad), [4, 4])


def test_graph_replay_over_three_batches_gives_right_values_and_gradients(device, rng):
    x = nk.zeros((4, 3), dtype="float64", device=device)
    t = nk.zeros((4, 2), dtype="float64", device=device)
    w = nk.from_ndarray(rng.standard_normal((2, 3)), device=device).requires_grad()
    b = nk.zeros(2, dtype="float64", device=device).requires_grad()
    loss = ((x.mm_t(w) + b - t) * (x.mm_t(w) + b - t)).mean()  # built once
    w_host, b_host = w.numpy(), b.numpy()
    for _ in range(3):
        xb, tb = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
        x.assign(xb)
        t.assign(tb)
        loss.forward()
        residual = xb @ w_host.T + b_host - tb
        assert loss.item() == pytest.approx((residual**2).mean(), rel=1e-12)
        loss.backward(1.0)
        np.testing.assert_allclose(host(device, w.grad), 2 * residual.T @ xb / residual.size, rtol=1e-10)
        np.testing.assert_allclose(host(device, b.grad), 2 * residual.sum(0) / residual.size, rtol=1e-10)
        with nk.backends.get(device).scope():  # raw CuPy arithmetic runs on the current GPU
            for param in loss.parameters():  # an SGD step through Param.data marks the graph stale
                param.data = param.data - 0.1 * param.grad
        loss.zero_grad()
        w_host, b_host = w.numpy(), b.numpy()


def test_rebuilding_the_graph_per_batch_works(device, rng):
    w = nk.from_ndarray(rng.standard_normal(3), device=device).requires_grad()
    for _ in range(3):
        xb = rng.standard_normal((5, 3))
        loss = nk.from_ndarray(xb, device=device).mv(w).pow(2).sum()
        loss.forward()
        loss.backward(1.0)
        np.testing.assert_allclose(host(device, w.grad), 2 * xb.T @ (xb @ w.numpy()), rtol=1e-10)
        w.zero_grad()


def test_topological_order_is_computed_once_per_root(device):
    y = nk.ones(3, device=device)
    for _ in range(3000):  # deep graphs: no recursion limit
        y = y * 1.0 + 0.0
    order = y._node.order()
    assert y._node.order() is order
    assert len(order[0]) == 5999  # the root is not cached in its own order (no reference cycle)
    np.testing.assert_allclose(y.forward().numpy(), [1, 1, 1])


def test_metadata_and_conversions(device):
    x = nk.ones((2, 3), dtype="float64", device=device)
    assert x.shape == (2, 3) and x.ndim == 2 and len(x) == 2
    assert x.dtype == nk.float64 and x.dtype == "float64"
    assert x.device == nk.Device(device)
    assert "shape=(2, 3)" in repr(x) and "float64" in repr(x)
    assert "not computed" in repr(x * 2.0)
    assert nk.ones((1, 1), device=device).sum().forward().item() == 1.0
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    with pytest.raises(TypeError, match="0-d"):
        len(x.sum())
    assert isinstance(x.numpy(), np.ndarray)


def test_assign_checks_leaf_and_shape(device):
    x = nk.zeros((2, 3), device=device)
    with pytest.raises(ValueError, match=r"shape \(3, 3\).*\(2, 3\).*drop_last"):
        x.assign(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="only leaves"):
        (x + 1.0).assign(np.zeros((2, 3)))
    x.assign(np.ones((2, 3), dtype=np.float64))  # converted to the leaf's dtype
    assert x.data.dtype == nk.backends.get(device).dtype(nk.float32)


def test_to_moves_between_backends_and_gradients_flow_back(device):
    w = nk.from_ndarray(np.array([1.0, 2.0]), device="cpu").requires_grad()
    moved = w.to(device)
    assert moved.device == nk.Device(device)
    loss = (moved * moved).sum()
    loss.forward()
    loss.backward(1.0)
    np.testing.assert_allclose(host("cpu", w.grad), [2.0, 4.0])
    leaf = nk.ones(2, device="cpu").to(device)
    assert leaf.is_leaf and leaf.device == nk.Device(device)
    assert leaf.requires_grad().is_leaf


def test_manual_seed_makes_random_leaves_reproducible(device):
    nk.manual_seed(7)
    first = (nk.rand((3, 3), device=device).numpy(), nk.randn(4, device=device).numpy())
    nk.manual_seed(7)
    second = (nk.rand((3, 3), device=device).numpy(), nk.randn(4, device=device).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
