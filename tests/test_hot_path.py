"""The hot-path shortcuts change no result: element-wise kernel overrides (``relu_forward`` /
``relu_backward``) return bit for bit what the generic Array API kernels return, special values
included; chunks that write their gradients into a shared buffer give the gradients of the
plain rule; the topological order is the depth-first post-order."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.autograd import activation

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -1.5, 1e-30, -1e-30]


def _inputs(rng: np.random.Generator, size: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Operands and upstream gradients of ``size`` elements, salted with NaN, ±inf and ±0."""
    x = rng.standard_normal(size).astype(dtype)
    g = rng.standard_normal(size).astype(dtype)
    x[: len(SPECIAL)] = SPECIAL[:size] if size < len(SPECIAL) else SPECIAL
    g[-len(SPECIAL):] = SPECIAL[:size] if size < len(SPECIAL) else SPECIAL
    g[::7] = -0.0
    return x, g


def _bits(backend: nk.backends.Backend, array: object) -> np.ndarray:
    host = np.asarray(backend.to_host(array))
    return host.view(f"u{host.dtype.itemsize}")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (3, 700), (2, 4, 33, 17)])
def test_relu_kernels_match_the_generic_ones_bit_for_bit(device, rng, dtype, shape):
    backend = nk.backends.get(device)
    if dtype not in backend._xp_dtypes:
        pytest.skip(f"{device} has no {dtype}")
    forward = backend.kernel("relu_forward", activation.relu_forward)
    backward = backend.kernel("relu_backward", activation.relu_backward)
    size = int(np.prod(shape))
    x, g = (backend.asarray(a.reshape(shape), nk.backends.to_dtype(dtype)) for a in _inputs(rng, size, dtype))
    xp = backend.xp
    with backend.scope():  # as the graph runs them: kernels compute on the operands' GPU
        expected = activation.relu_forward(xp, x)
        output = forward(xp, x)
        backward_ours, backward_generic = backward(xp, g, output), activation.relu_backward(xp, g, expected)
    np.testing.assert_array_equal(_bits(backend, output), _bits(backend, expected))
    np.testing.assert_array_equal(_bits(backend, backward_ours), _bits(backend, backward_generic))


def test_relu_backward_takes_a_broadcast_gradient(device):
    # the gradient of a sum reaches relu as a broadcast (stride-0) array
    x = nk.from_ndarray(np.linspace(-1.0, 1.0, 2048, dtype=np.float32).reshape(32, 64), device=device).requires_grad()
    x.relu().sum().backward(1.0)
    np.testing.assert_array_equal(nk.backends.get(device).to_host(x.grad), (np.linspace(-1.0, 1.0, 2048) > 0).reshape(32, 64))


def _chunk_loss(h: nk.Var, other_first: bool) -> nk.Var:
    """Chunks 0, 1 and 3 of ``h`` (3, 8) weighted 1, 2 and 4 (chunk 2 unused), plus ``h·h``."""
    other = (h * h).sum() if other_first else None
    parts = h.chunks((3, 2))
    total = (parts[0] + parts[1] * 2.0 + parts[3] * 4.0).sum()
    return other + total if other_first else total + (h * h).sum()


@pytest.mark.parametrize("other_first", [True, False])
def test_chunk_gradients_accumulate_like_the_plain_rule(device, rng, other_first):
    a = rng.standard_normal((3, 8)).astype(np.float32)
    x = nk.from_ndarray(a, device=device).requires_grad()
    loss = _chunk_loss(x * 2.0, other_first)  # chunks of an op's output (the in-place path)
    loss.backward(1.0)
    loss.backward(1.0)  # a second pass must start from a fresh buffer
    weights = np.repeat(np.array([1.0, 2.0, 0.0, 4.0], dtype=np.float32), 2)[None, :]
    expected = 2 * 2.0 * (weights + 2 * (2.0 * a))
    np.testing.assert_allclose(nk.backends.get(device).to_host(x.grad), expected, rtol=1e-5)


def test_chunks_of_a_leaf_accumulate_across_passes(device, rng):
    x = nk.from_ndarray(rng.standard_normal((2, 6)).astype(np.float32), device=device).requires_grad()
    first, second, third = x.chunks((2, 2))
    loss = (first + second * 2.0 + third * 3.0).sum()
    loss.backward(1.0)
    loss.backward(1.0)
    expected = np.repeat(np.array([[1.0, 2.0, 3.0]], dtype=np.float32), 2, axis=1).repeat(2, axis=0)
    np.testing.assert_array_equal(nk.backends.get(device).to_host(x.grad), 2 * expected)


def test_topological_order_is_the_depth_first_post_order(device):
    a, b = nk.ones(2, device=device), nk.ones(2, device=device)
    c = a * b
    d = (c + a) * (b + c)
    names = [node.name for node in d._node.ancestors()]
    assert names == ["leaf", "leaf", "mul", "add", "add", "mul"]
    order = d._node.ancestors()
    assert order[0] is a._node and order[1] is b._node and order[2] is c._node


def test_a_dropped_graph_is_freed_without_the_cyclic_collector(device):
    import gc
    import weakref

    w = nk.rand(16, device=device).requires_grad()
    loss = (nk.rand(16, device=device) * w).tanh().sum()
    loss.forward()
    loss.backward(1.0)
    root = weakref.ref(loss._node)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del loss
        assert root() is None
    finally:
        if enabled:
            gc.enable()


def test_relu_keeps_nan_as_pytorch_does(device):
    """``relu(NaN)`` is NaN (PyTorch's value), on the generic kernel and on every override, small
    and large: a NaN reaching a ReLU is not silently replaced by 0 (its gradient passes, as there)."""
    torch = pytest.importorskip("torch")
    for size in (5, 5000):
        a = np.linspace(-2.0, 2.0, size)
        a[::3] = np.nan
        x = nk.from_ndarray(a, dtype="float64", device=device).requires_grad()
        y = x.relu()
        np.testing.assert_array_equal(y.forward().numpy(), torch.relu(torch.tensor(a)).numpy())
        y.sum().backward()
        reference = torch.tensor(a, requires_grad=True)
        torch.relu(reference).sum().backward()
        np.testing.assert_array_equal(nk.backends.to_host(x.grad), reference.grad.numpy())
    for value in (np.nan, -1.0, 2.0):  # 0-d variables too
        x = nk.full((), value, dtype="float64", device=device).requires_grad()
        y = x.relu()
        np.testing.assert_array_equal(y.forward().numpy(), torch.relu(torch.tensor(value)).numpy())
        y.backward()
        assert float(nk.backends.to_host(x.grad)) == (0.0 if value < 0 else 1.0)
