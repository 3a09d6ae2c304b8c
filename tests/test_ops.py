"""Every differentiable op of the core: values against NumPy and gradients against finite
differences (neuronika.testing.gradcheck, float64), on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import gradcheck


def values(var: nk.Var) -> np.ndarray:
    return var.forward().numpy()


def leaf(array: np.ndarray, device: str) -> nk.Var:
    return nk.from_ndarray(array, dtype="float64", device=device)


# --- arithmetic --------------------------------------------------------------------------------

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (2, 3))]


@pytest.mark.parametrize("lhs_shape, rhs_shape", BROADCAST_PAIRS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_ops_broadcast_values_and_gradients(device, rng, op, lhs_shape, rhs_shape):
    a = rng.standard_normal(lhs_shape)
    b = rng.uniform(0.5, 2.0, rhs_shape)
    fn = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
    }[op]
    np.testing.assert_allclose(values(fn(leaf(a, device), leaf(b, device))), fn(a, b), rtol=1e-12)
    assert gradcheck(fn, [a, b], device=device)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_scalars_on_either_side(device, rng, op):
    a = rng.uniform(0.5, 2.0, (2, 3))
    fn = {"add": lambda x, s: x + s, "sub": lambda x, s: x - s, "mul": lambda x, s: x * s, "div": lambda x, s: x / s}[op]
    x = leaf(a, device)
    np.testing.assert_allclose(values(fn(x, 3.0)), fn(a, 3.0))
    np.testing.assert_allclose(values(fn(3.0, x)), fn(3.0, a))
    assert fn(x, 3).dtype == nk.float64  # a Python scalar takes the variable's dtype
    assert gradcheck(lambda v: fn(v, 3.0) + fn(2.0, v), [a], device=device)


def test_neg(device, rng):
    a = rng.standard_normal((2, 3))
    np.testing.assert_allclose(values(-leaf(a, device)), -a)
    assert gradcheck(lambda x: -x, [a], device=device)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 1])
def test_pow(device, rng, exponent):
    a = rng.uniform(0.5, 2.0, (2, 3))
    np.testing.assert_allclose(values(leaf(a, device).pow(exponent)), a**exponent, rtol=1e-12)
    np.testing.assert_allclose(values(leaf(a, device) ** exponent), a**exponent, rtol=1e-12)
    assert gradcheck(lambda x: x.pow(exponent), [a], device=device)


@pytest.mark.parametrize(
    "name, reference, low, high",
    [
        ("sqrt", np.sqrt, 0.5, 2.0),
        ("exp", np.exp, -2.0, 2.0),
        ("ln", np.log, 0.5, 2.0),
        ("abs", np.abs, -2.0, 2.0),
        ("relu", lambda a: np.maximum(a, 0), -2.0, 2.0),
        ("leaky_relu", lambda a: np.where(a > 0, a, 0.01 * a), -2.0, 2.0),
        ("softplus", lambda a: np.log1p(np.exp(a)), -3.0, 3.0),
        ("sigmoid", lambda a: 1 / (1 + np.exp(-a)), -3.0, 3.0),
        ("tanh", np.tanh, -2.0, 2.0),
    ],
)
def test_unary_ops(device, rng, name, reference, low, high):
    a = rng.uniform(low, high, (3, 4))
    a[np.abs(a) < 0.05] = 0.3  # keep away from the kinks of abs / relu for finite differences
    np.testing.assert_allclose(values(getattr(leaf(a, device), name)()), reference(a), rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda x: getattr(x, name)(), [a], device=device)


def test_leaky_relu_slope(device, rng):
    a = rng.uniform(-2, 2, (5,))
    np.testing.assert_allclose(values(leaf(a, device).leaky_relu(0.2)), np.where(a > 0, a, 0.2 * a))
    assert gradcheck(lambda x: x.leaky_relu(0.2), [a + np.sign(a) * 0.1], device=device)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(device, rng, axis):
    a = rng.standard_normal((3, 4))
    shifted = np.exp(a - a.max(axis=axis, keepdims=True))
    expected = shifted / shifted.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(values(leaf(a, device).softmax(axis)), expected, rtol=1e-12)
    np.testing.assert_allclose(values(leaf(a, device).log_softmax(axis)), np.log(expected), rtol=1e-12)
    assert gradcheck(lambda x: x.softmax(axis), [a], device=device)
    assert gradcheck(lambda x: x.log_softmax(axis), [a], device=device)


def test_stable_forms_stay_finite_for_large_inputs(device):
    a = np.array([[1e3, -1e3, 0.0], [800.0, 799.0, -800.0]])
    for name in ("softmax", "log_softmax"):
        out = values(getattr(leaf(a, device), name)(1))
        assert np.all(np.isfinite(out)), name
    np.testing.assert_allclose(values(leaf(a, device).softmax(1))[1, :2], [1 / (1 + np.exp(-1)), 1 / (1 + np.e)])
    np.testing.assert_allclose(values(leaf(a, device).softplus()), np.logaddexp(a, 0))
    np.testing.assert_allclose(values(leaf(a, device).sigmoid())[0], [1.0, 0.0, 0.5])
    x = leaf(a, device).requires_grad()
    for out in (x.softmax(1).sum(), x.log_softmax(1).sum(), x.softplus().sum(), x.sigmoid().sum()):
        out.forward()
        out.backward(1.0)
        assert np.all(np.isfinite(nk.backends.get(device).to_host(x.grad)))


# --- reductions --------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_reductions(device, rng, name, axis, keepdims):
    a = rng.standard_normal((2, 3, 4))
    out = getattr(leaf(a, device), name)(axis=axis, keepdims=keepdims)
    expected = getattr(a, name)(axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(values(out), expected, rtol=1e-12)
    assert gradcheck(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), [a], device=device)


def test_whole_sum_is_a_scalar(device):
    out = nk.ones((2, 3), device=device).sum()
    assert out.shape == ()
    assert out.forward().item() == 6.0


# --- linear algebra ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "method, lhs_shape, rhs_shape, reference",
    [
        ("mm", (3, 4), (4, 2), lambda a, b: a @ b),
        ("mm_t", (3, 4), (2, 4), lambda a, b: a @ b.T),
        ("mv", (3, 4), (4,), lambda a, b: a @ b),
        ("vm", (4,), (4, 2), lambda a, b: a @ b),
        ("vv", (4,), (4,), lambda a, b: a @ b),
    ],
)
def test_products(device, rng, method, lhs_shape, rhs_shape, reference):
    a, b = rng.standard_normal(lhs_shape), rng.standard_normal(rhs_shape)
    out = getattr(leaf(a, device), method)(leaf(b, device))
    np.testing.assert_allclose(values(out), reference(a, b), rtol=1e-12)
    assert gradcheck(lambda x, y: getattr(x, method)(y), [a, b], device=device)
    if method != "mm_t":  # the @ operator picks the same product from the dimensions
        np.testing.assert_allclose(values(leaf(a, device) @ leaf(b, device)), reference(a, b), rtol=1e-12)


def test_transpose(device, rng):
    a = rng.standard_normal((3, 4))
    np.testing.assert_allclose(values(leaf(a, device).t()), a.T)
    assert gradcheck(lambda x: x.t(), [a], device=device)


# --- shape ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_unsqueeze(device, rng, axis):
    a = rng.standard_normal((2, 3))
    out = leaf(a, device).unsqueeze(axis)
    np.testing.assert_allclose(values(out), np.expand_dims(a, axis))
    assert gradcheck(lambda x: x.unsqueeze(axis), [a], device=device)


def test_reshape_and_flatten(device, rng):
    a = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(values(leaf(a, device).reshape(4, -1)), a.reshape(4, -1))
    np.testing.assert_allclose(values(leaf(a, device).flatten()), a.reshape(2, 12))
    assert gradcheck(lambda x: x.reshape((6, 4)) * 2.0, [a], device=device)


@pytest.mark.parametrize("axis", [0, 1])
def test_cat_and_stack(device, rng, axis):
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    va, vb, vc = leaf(a, device), leaf(b, device), leaf(c, device)
    np.testing.assert_allclose(values(nk.cat([va, vb, vc], axis)), np.concatenate([a, b, c], axis))
    np.testing.assert_allclose(values(va.cat([vb, vc], axis)), np.concatenate([a, b, c], axis))
    np.testing.assert_allclose(values(va.cat(vb, axis)), np.concatenate([a, b], axis))
    np.testing.assert_allclose(values(nk.stack([va, vb], axis)), np.stack([a, b], axis))
    np.testing.assert_allclose(values(va.stack(vb, axis)), np.stack([a, b], axis))
    assert gradcheck(lambda x, y, z: nk.cat([x, y, z], axis) * nk.cat([z, y, x], axis), [a, b, c], device=device)
    assert gradcheck(lambda x, y: nk.stack([x, y], axis) * nk.stack([y, y], axis), [a, b], device=device)


def test_cat_of_different_sizes_along_the_axis(device, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 5))
    np.testing.assert_allclose(values(nk.cat([leaf(a, device), leaf(b, device)], 1)), np.concatenate([a, b], 1))
    assert gradcheck(lambda x, y: nk.cat([x, y], 1), [a, b], device=device)


def test_chunks_are_exact_and_skip_the_remainder(device, rng):
    a = rng.standard_normal((5, 4))
    parts = leaf(a, device).chunks((2, 2))
    assert len(parts) == 4  # rows 0-1 and 2-3 (row 4 skipped) x columns 0-1 and 2-3
    expected = [a[0:2, 0:2], a[0:2, 2:4], a[2:4, 0:2], a[2:4, 2:4]]
    for part, block in zip(parts, expected):
        np.testing.assert_allclose(values(part), block)

    def recombine(x):
        p = x.chunks((2, 2))
        return p[0] * p[3] + p[1] - p[2]

    assert gradcheck(recombine, [a], device=device)


def test_astype_is_differentiable(device, rng):
    a = rng.standard_normal((2, 3))
    out = leaf(a, device).astype("float32")
    assert out.dtype == nk.float32
    np.testing.assert_allclose(values(out), a.astype(np.float32))
    x = leaf(a, device).requires_grad()
    y = (x.astype(nk.float32) * 2.0).sum()
    y.forward()
    y.backward(1.0)
    assert x.grad.dtype == nk.backends.get(device).dtype(nk.float64)
    np.testing.assert_allclose(nk.backends.get(device).to_host(x.grad), np.full((2, 3), 2.0))


# --- dropout ------------------------------------------------------------------------------------

def test_dropout_scales_kept_elements_and_backprops_through_the_mask(device):
    x = nk.ones((200, 50), dtype="float64", device=device).requires_grad()
    y = x.dropout(0.25)
    out = y.sum()
    out.forward()
    kept = y.numpy()
    assert set(np.unique(kept)) <= {0.0, 1 / 0.75}
    assert 0.2 < (kept == 0).mean() < 0.3
    out.backward(1.0)
    np.testing.assert_allclose(nk.backends.get(device).to_host(x.grad), kept)


def test_dropout_is_identity_in_eval_mode_and_resumes_in_train_mode(device, rng):
    a = rng.standard_normal((20, 20))
    y = leaf(a, device).dropout(0.5)
    y.eval()
    np.testing.assert_allclose(values(y), a)
    y.train()
    assert (values(y) == 0).any()


def test_dropout_edge_probabilities(device, rng):
    a = rng.standard_normal((4, 4))
    np.testing.assert_allclose(values(leaf(a, device).dropout(0.0)), a)
    np.testing.assert_allclose(values(leaf(a, device).dropout(1.0)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="dropout"):
        leaf(a, device).dropout(1.5)


# --- a composite ---------------------------------------------------------------------------------

def test_a_small_network_end_to_end(device, rng):
    x, w1, b1, w2 = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal((2, 4))

    def net(x, w1, b1, w2):
        h = (x.mm_t(w1) + b1).tanh()
        return h.mm_t(w2).log_softmax(1).mean()

    assert gradcheck(net, [x, w1, b1, w2], device=device)
