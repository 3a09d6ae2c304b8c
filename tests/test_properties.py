"""Property-based tests (Hypothesis): random broadcastable shapes for every binary op, random axes
for reductions, random chains of unary ops — gradients agree with finite differences and nothing
crashes — and bit-identical training from the same seed."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuronika as nk
from neuronika.testing import gradcheck

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def broadcastable_pair(draw):
    """Two shapes of up to 3 axes that broadcast: each axis of one side is the other's size or 1,
    and one side may have fewer axes."""
    ndim = draw(st.integers(0, 3))
    full = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
    lhs = [size if draw(st.booleans()) else 1 for size in full]
    rhs = [size if draw(st.booleans()) else 1 for size in full]
    drop = draw(st.integers(0, ndim))
    if draw(st.booleans()):
        lhs = lhs[drop:]
    else:
        rhs = rhs[drop:]
    return tuple(lhs), tuple(rhs)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@SETTINGS
@given(shapes=broadcastable_pair(), op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_ops_on_random_broadcastable_shapes(device, shapes, op, seed):
    rng = np.random.default_rng(seed)
    lhs, rhs = rng.standard_normal(shapes[0]), rng.uniform(0.5, 2.0, shapes[1])
    fn = BINARY[op]
    out = fn(nk.from_ndarray(lhs, device=device), nk.from_ndarray(rhs, device=device)).forward()
    np.testing.assert_allclose(out.numpy(), fn(lhs, rhs), rtol=1e-12)
    assert gradcheck(fn, [lhs, rhs], device=device)


@st.composite
def shape_and_axes(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape), max_size=len(shape)))
    axis = None if not axes else (axes[0] if len(axes) == 1 else tuple(axes))
    return shape, axis


@SETTINGS
@given(case=shape_and_axes(), name=st.sampled_from(["sum", "mean"]), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions_over_random_axes(device, case, name, keepdims, seed):
    shape, axis = case
    data = np.random.default_rng(seed).standard_normal(shape)
    out = getattr(nk.from_ndarray(data, device=device), name)(axis=axis, keepdims=keepdims).forward()
    expected = getattr(data, name)(axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), [data], device=device)


SMOOTH_UNARY = {
    "exp": lambda x: (x * 0.3).exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "softplus": lambda x: x.softplus(),
    "sqrt": lambda x: (x * x + 1.0).sqrt(),
    "ln": lambda x: (x * x + 1.0).ln(),
    "pow": lambda x: x.pow(3),
    "neg": lambda x: -x,
    "softmax": lambda x: x.softmax(-1),
    "log_softmax": lambda x: x.log_softmax(-1),
}


@SETTINGS
@given(chain=st.lists(st.sampled_from(sorted(SMOOTH_UNARY)), min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_random_chains_of_unary_ops(device, chain, seed):
    data = np.random.default_rng(seed).uniform(-1.5, 1.5, (2, 3))

    def fn(x):
        for name in chain:
            x = SMOOTH_UNARY[name](x)
        return x

    out = fn(nk.from_ndarray(data, device=device)).forward().numpy()
    assert np.all(np.isfinite(out))
    assert gradcheck(fn, [data], device=device, atol=1e-5, rtol=1e-4)


def _train(device: str, seed: int) -> np.ndarray:
    nk.manual_seed(seed)
    x = nk.randn((16, 4), device=device)
    target = nk.randn((16, 2), device=device)
    w = nk.randn((2, 4), device=device).requires_grad()
    b = nk.zeros(2, device=device).requires_grad()
    loss = ((x.mm_t(w) + b).dropout(0.3).tanh() - target).pow(2).mean()
    for _ in range(5):
        loss.forward()
        loss.backward(1.0)
        with nk.backends.get(device).scope():  # raw CuPy arithmetic runs on the current GPU
            for param in loss.parameters():
                param.data = param.data - 0.1 * param.grad
        loss.zero_grad()
    return np.concatenate([w.numpy().ravel(), b.numpy().ravel()])


def test_the_same_seed_gives_bit_identical_training(device):
    first, second = _train(device, 3), _train(device, 3)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, _train(device, 4))
