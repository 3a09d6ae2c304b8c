"""The NumPy backend's Winograd F(2x2, 3x3) convolution (backends/_winograd_conv.py): values and
both gradients against the generic kernels and PyTorch, float32 accuracy, what the cost rule may
send to it, and the input tiles the forward keeps for the weight gradient."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.backends import _kept, _numpy_kernels, _winograd_conv
from neuronika import kernels as generic
from neuronika.testing import gradcheck

ONES = ((1, 1), (1, 1), 1)
NAMES = ("conv_forward", "conv_backward_input", "conv_backward_weight")


def _calls(x, w, grad):
    return {
        "conv_forward": (x, w),
        "conv_backward_input": (grad, w, x.shape),
        "conv_backward_weight": (grad, x, w.shape),
    }


# padded inputs: odd and even output sizes, a single tile, one channel, wide outputs
@pytest.mark.parametrize(
    "x_shape, out_channels",
    [((2, 3, 7, 9), 4), ((3, 5, 6, 6), 2), ((1, 1, 3, 3), 1), ((2, 4, 10, 5), 3), ((1, 2, 4, 17), 5)],
)
def test_winograd_kernels_agree_with_generic_kernels_in_float64(x_shape, out_channels):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal((out_channels, x_shape[1], 3, 3))
    grad = rng.standard_normal((x_shape[0], out_channels, x_shape[2] - 2, x_shape[3] - 2))
    for name, operands in _calls(x, w, grad).items():
        got = _numpy_kernels.WINOGRAD[name](np, *operands, *ONES)
        expected = generic.GENERIC[name](np, *operands, *ONES)
        assert got.shape == expected.shape and got.dtype == np.float64, name
        assert np.abs(got - expected).max() <= 1e-10 * max(1.0, np.abs(expected).max()), name


def test_winograd_float32_error_stays_within_1e_5_of_the_largest_value():
    # measured: 2.5e-7 (forward), 2.8e-7 (input gradient), 7.6e-7 (weight gradient) of the largest
    # |value|, as im2col (1.9e-7 to 5.8e-7) and fft (2.2e-7 to 2.6e-7) on the same case (float32 rounding of
    # the sums; the transforms only add, subtract and halve)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((8, 32, 18, 18)), rng.standard_normal((64, 32, 3, 3))
    grad = rng.standard_normal((8, 64, 16, 16))
    single = _calls(x.astype(np.float32), w.astype(np.float32), grad.astype(np.float32))
    for name, operands in _calls(x, w, grad).items():
        got = _numpy_kernels.WINOGRAD[name](np, *single[name], *ONES)
        expected = _numpy_kernels.WINOGRAD[name](np, *operands, *ONES)  # float64, checked above
        assert got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max(), name


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Send every convolution kernel call of the NumPy backend to the Winograd path."""
    monkeypatch.setattr(_numpy_kernels, "path", lambda *args: "winograd")


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("spatial", [(8, 8), (7, 10)])
def test_convolution_through_winograd_matches_pytorch(winograd_everywhere, padding, spatial):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x_np, w_np = rng.standard_normal((2, 3) + spatial), rng.standard_normal((4, 3, 3, 3))
    x, w = nk.from_ndarray(x_np).requires_grad(), nk.from_ndarray(w_np).requires_grad()
    y = nk.convolution(x, w, padding=padding)
    y.forward()
    cotangent = rng.standard_normal(y.shape)
    y.backward(cotangent)
    xt, wt = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, padding=padding)
    yt.backward(torch.tensor(cotangent))
    assert np.allclose(y.numpy(), yt.detach().numpy(), atol=1e-12)
    assert np.allclose(np.asarray(x.grad), xt.grad.numpy(), atol=1e-12)
    assert np.allclose(np.asarray(w.grad), wt.grad.numpy(), atol=1e-12)


def test_gradcheck_through_winograd(winograd_everywhere):
    rng = np.random.default_rng(3)
    assert gradcheck(lambda x, w: nk.convolution(x, w, padding=1), [rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 3))])


@pytest.mark.parametrize(
    "w_shape, stride, dilation, groups, dtype",
    [
        ((8, 4, 3, 3), (2, 2), (1, 1), 1, np.float32),  # stride
        ((8, 4, 3, 3), (1, 1), (2, 2), 1, np.float32),  # dilation
        ((8, 2, 3, 3), (1, 1), (1, 1), 2, np.float32),  # groups
        ((8, 4, 5, 5), (1, 1), (1, 1), 1, np.float32),  # not 3x3
        ((8, 4, 3, 1), (1, 1), (1, 1), 1, np.float32),
        ((8, 4, 3, 3), (1, 1), (1, 1), 1, np.float16),  # dtype
    ],
)
def test_the_rule_never_sends_what_winograd_cannot_compute_to_it(monkeypatch, w_shape, stride, dilation, groups, dtype):
    # rates that make Winograd look free: the rule would take it wherever it may
    monkeypatch.setattr(_numpy_kernels, "WINOGRAD_SECONDS", {"flop": 1e-30, "element": 1e-30, "call": 0.0})
    _numpy_kernels.path.cache_clear()
    monkeypatch.setattr(_numpy_kernels, "path", _numpy_kernels.path.__wrapped__)  # no cached picks leak out
    assert _numpy_kernels.path("conv_forward", (64, 4, 34, 34), (8, 4, 3, 3), (1, 1), (1, 1), 1, np.dtype(np.float32)) == "winograd"
    assert not _numpy_kernels.winograd_fits(w_shape, stride, dilation, groups, np.dtype(dtype))
    for batch, size in ((128, 34), (16, 66), (64, 10)):
        for name in NAMES:
            x_shape = (batch, 4, size, size)
            assert _numpy_kernels.path(name, x_shape, w_shape, stride, dilation, groups, np.dtype(dtype)) != "winograd"
    # 1-d and 3-d kernels of 3 taps neither
    for x_shape, shape in (((64, 32, 66), (32, 32, 3)), ((8, 32, 18, 18, 18), (32, 32, 3, 3, 3))):
        ones = (1,) * (len(x_shape) - 2)
        assert not _numpy_kernels.winograd_fits(shape, ones, ones, 1, np.dtype(np.float32))
        assert all(_numpy_kernels.path(n, x_shape, shape, ones, ones, 1, np.dtype(np.float32)) != "winograd" for n in NAMES)


def test_the_weight_gradient_takes_the_forward_input_tiles_and_keeps_nothing_after(monkeypatch):
    monkeypatch.setattr(_numpy_kernels, "path", lambda *args: "winograd")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    y = _numpy_kernels.KERNELS["conv_forward"](np, x, w, *ONES)
    assert (id(x), "tiles") in _kept.KEPT  # kept for the backward
    grad = rng.standard_normal(y.shape).astype(np.float32)
    kept = _numpy_kernels.KERNELS["conv_backward_weight"](np, grad, x, w.shape, *ONES)
    assert not _kept.KEPT  # taken by the weight gradient
    assert np.array_equal(kept, _winograd_conv.conv_backward_weight(grad, x))
    _numpy_kernels.KERNELS["conv_forward"](np, x, w, *ONES)
    del x  # an input that is freed takes its tiles with it
    assert not _kept.KEPT


def test_the_rule_does_not_take_winograd_with_the_default_rates():
    # measured slower than im2col or fft on this machine (docs/convolution.md): no rates, no picks
    assert _numpy_kernels.WINOGRAD_SECONDS is None
    for x_shape, w_shape in (((128, 32, 18, 18), (64, 32, 3, 3)), ((8, 128, 34, 34), (128, 128, 3, 3))):
        assert all(_numpy_kernels.path(n, x_shape, w_shape, *ONES, np.dtype(np.float32)) != "winograd" for n in NAMES)
