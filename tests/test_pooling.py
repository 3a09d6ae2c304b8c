"""Pooling (max, average, adaptive) over 1-, 2- and 3-d signals: values and gradients against
PyTorch's functional forms over a grid of kernel/stride/padding/dilation/ceil_mode settings,
finite differences, PyTorch's tie and NaN rules, the layers, and the build-time errors."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.testing import gradcheck

SHAPES = {1: (2, 3, 9), 2: (2, 3, 7, 8), 3: (1, 2, 5, 6, 7)}
MAX = {1: nk.max_pool1d, 2: nk.max_pool2d, 3: nk.max_pool3d}
AVG = {1: nk.avg_pool1d, 2: nk.avg_pool2d, 3: nk.avg_pool3d}
ADAPTIVE = {1: nk.adaptive_avg_pool1d, 2: nk.adaptive_avg_pool2d, 3: nk.adaptive_avg_pool3d}

MAX_SETTINGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
]
AVG_SETTINGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=3, ceil_mode=True),
]


def host(array, var) -> np.ndarray:
    return var._node.backend.to_host(array)


def compare_with_torch(fn, torch_fn, x_host, device, **kwargs):
    torch = pytest.importorskip("torch")
    x = nk.from_ndarray(x_host, dtype="float64", device=device).requires_grad()
    y = fn(x, **kwargs).forward()
    t = torch.tensor(x_host, requires_grad=True)
    ty = torch_fn(t, **kwargs)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(nk.from_ndarray(cotangent, dtype="float64", device=device).data)
    ty.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(host(x.grad, x), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("settings", MAX_SETTINGS, ids=str)
def test_max_pool_matches_torch(device, rng, dims, settings):
    torch = pytest.importorskip("torch")
    compare_with_torch(MAX[dims], getattr(torch.nn.functional, f"max_pool{dims}d"), rng.standard_normal(SHAPES[dims]), device, **settings)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("settings", AVG_SETTINGS, ids=str)
def test_avg_pool_matches_torch(device, rng, dims, settings):
    torch = pytest.importorskip("torch")
    compare_with_torch(AVG[dims], getattr(torch.nn.functional, f"avg_pool{dims}d"), rng.standard_normal(SHAPES[dims]), device, **settings)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("output_size", [1, 2, 3, 4])
def test_adaptive_avg_pool_matches_torch(device, rng, dims, output_size):
    torch = pytest.importorskip("torch")
    compare_with_torch(ADAPTIVE[dims], getattr(torch.nn.functional, f"adaptive_avg_pool{dims}d"), rng.standard_normal(SHAPES[dims]), device, output_size=output_size)


@pytest.mark.parametrize("output_size", [1, (3, 4), (2, 3), (5, None), (7, 8)])
def test_adaptive_max_pool2d_matches_torch(device, rng, output_size):
    torch = pytest.importorskip("torch")
    compare_with_torch(nk.adaptive_max_pool2d, torch.nn.functional.adaptive_max_pool2d, rng.standard_normal(SHAPES[2]), device, output_size=output_size)


@pytest.mark.parametrize("fn,kwargs", [
    (nk.max_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (nk.avg_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    (nk.adaptive_avg_pool2d, dict(output_size=(3, 5))),
    (nk.adaptive_max_pool2d, dict(output_size=(3, 5))),
], ids=["max", "avg", "adaptive_avg", "adaptive_max"])
def test_pooling_gradients_match_finite_differences(device, rng, fn, kwargs):
    # distinct values a finite step cannot reorder, so max pooling is differentiable there
    x = rng.permutation(2 * 7 * 8).reshape(1, 2, 7, 8) / 10.0
    assert gradcheck(lambda v: fn(v, **kwargs), [x], device=device)


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima(device):
    x = nk.ones((1, 1, 2, 2), dtype="float64", device=device).requires_grad()
    nk.max_pool2d(x, 2).sum().backward()
    assert host(x.grad, x).ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_max_pool_propagates_nan(device):
    values = np.array([[[1.0, np.nan, 3.0, 2.0]]])
    y = nk.max_pool1d(nk.from_ndarray(values, device=device), 2).forward().numpy()
    assert np.isnan(y[0, 0, 0]) and y[0, 0, 1] == 3.0


def test_unbatched_input_pools_the_trailing_axes(device, rng):
    x = rng.standard_normal((3, 6, 6))
    batched = nk.max_pool2d(nk.from_ndarray(x[None], device=device), 2).forward().numpy()
    single = nk.max_pool2d(nk.from_ndarray(x, device=device), 2).forward().numpy()
    np.testing.assert_array_equal(single, batched[0])


def test_layers_have_torch_defaults_and_call_the_functions(device, rng):
    x = nk.from_ndarray(rng.standard_normal((2, 3, 8, 8)), device=device)
    layer = nn.MaxPool2d(2)
    assert layer.stride == (2, 2) and layer.padding == (0, 0) and layer.dilation == (1, 1)
    assert layer(x).shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1, 1)(x).forward().numpy(), nk.avg_pool2d(x, 3, 1, 1).forward().numpy())
    assert nn.AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)
    assert nn.AdaptiveMaxPool2d(3)(x).shape == (2, 3, 3, 3)
    assert nn.MaxPool1d(3)(nk.rand((2, 3, 9), device=device)).shape == (2, 3, 3)
    assert nn.AvgPool3d(2)(nk.rand((1, 1, 4, 4, 4), device=device)).shape == (1, 1, 2, 2, 2)
    assert nn.AdaptiveAvgPool3d(2)(nk.rand((1, 1, 4, 5, 6), device=device)).shape == (1, 1, 2, 2, 2)
    assert list(layer.parameters()) == []


def test_a_graph_built_once_replays_pooling_over_new_batches(device, rng):
    x = nk.zeros((2, 1, 4, 4), device=device)
    y = nk.max_pool2d(x, 2)
    for _ in range(2):
        batch = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
        x.assign(batch)
        expected = batch.reshape(2, 1, 2, 2, 2, 2).max(axis=(3, 5))
        np.testing.assert_array_equal(y.forward().numpy(), expected)


@pytest.mark.parametrize("call,message", [
    (lambda x: nk.max_pool2d(x, 2, padding=2), "at most half the kernel size"),
    (lambda x: nk.max_pool2d(x, 9), "does not fit the input"),
    (lambda x: nk.max_pool2d(x, (2, 2, 2)), "tuple of 2 ints"),
    (lambda x: nk.max_pool2d(x, 0), ">= 1"),
    (lambda x: nk.avg_pool2d(x, 2, stride=0), "stride must be >= 1"),
    (lambda x: nk.max_pool3d(x.reshape(4, 4), 2), r"\(N, C, D, H, W\)"),
    (lambda x: nk.adaptive_avg_pool2d(x, 0), "output_size must be a positive int"),
    (lambda x: nn.MaxPool2d(2.5), "kernel_size must be an int"),
])
def test_bad_pooling_arguments_raise_at_build(device, call, message):
    x = nk.rand((1, 1, 4, 4), device=device)
    with pytest.raises((ValueError, TypeError), match=message):
        call(x)
