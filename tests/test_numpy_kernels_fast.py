"""NumPy backend speed-ups that must not change a bit: the max-pooling kernels
(backends/_numpy_pool.py) return what the generic kernels (kernels/pooling.py) return (values,
winners and input gradients, with ties, NaN, signed zeros, padding, overlapping and dilated
windows), and the frequency-domain weight gradient reuses the forward's input spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from neuronika.backends import _numpy_pool
from neuronika.kernels import convolution as generic_conv
from neuronika.kernels import pooling as generic


def _special(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, nan: bool | str = True) -> np.ndarray:
    """Values with many ties; ``nan``: NaN, ±0 and ±inf mixed in; False: -0.0 mixed in (the
    forward's shorter path without NaN); "plain": neither (its ``maximum`` path)."""
    x = rng.integers(-3, 4, shape).astype(dtype)  # many ties
    flat = x.reshape(-1)
    if nan == "plain":
        flat[rng.choice(flat.size, size=flat.size // 5, replace=False)] = np.inf
        return x
    if not nan:  # the kernel takes a shorter path without NaN
        flat[rng.choice(flat.size, size=flat.size // 5, replace=False)] = -0.0
        return x
    picks = rng.choice(flat.size, size=flat.size // 5, replace=False)
    flat[picks[0::4]] = np.nan
    flat[picks[1::4]] = -0.0
    flat[picks[2::4]] = np.inf
    flat[picks[3::4]] = -np.inf
    return x


@pytest.mark.parametrize("nan", [True, False, "plain"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "spatial, kernel, stride, padding, dilation, ceil",
    [
        ((8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
        ((7, 9), (3, 2), (2, 1), (1, 0), (1, 2), True),
        ((10,), (3,), (1,), (1,), (1,), False),
        ((5, 6, 4), (2, 3, 2), (2, 2, 1), (1, 1, 0), (1, 1, 2), False),
        # windows that tile the (padded) input, large enough for the write-once backward
        ((32, 32), (2, 2), (2, 2), (0, 0), (1, 1), False),
        ((30, 30), (2, 2), (2, 2), (1, 1), (1, 1), True),
        ((3, 48, 36), (1, 2, 3), (1, 2, 3), (0, 0, 0), (1, 1, 1), False),
    ],
)
def test_numpy_max_pool_kernels_equal_the_generic_ones_bit_for_bit(dtype, nan, spatial, kernel, stride, padding, dilation, ceil):
    rng = np.random.default_rng(0)
    x = _special(rng, (2, 3) + spatial, dtype, nan)
    plan = generic.make_plan(spatial, kernel, stride, padding, dilation, ceil)
    values, winners = _numpy_pool.max_pool_forward(np, x, plan)
    expected_values, expected_winners = generic.max_pool_forward(np, x, plan)
    assert values.dtype == expected_values.dtype and np.issubdtype(winners.dtype, np.integer)
    assert np.array_equal(values.view(f"u{values.itemsize}"), expected_values.view(f"u{values.itemsize}"))
    assert np.array_equal(winners, expected_winners)
    grad = _special(rng, values.shape, dtype)
    got = _numpy_pool.max_pool_backward(np, grad, winners, plan, x.shape)
    want = generic.max_pool_backward(np, grad, winners, plan, x.shape)
    assert got.shape == want.shape == x.shape
    assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{got.itemsize}"))


def test_the_weight_gradient_reuses_the_forward_input_spectrum_bit_for_bit_and_keeps_nothing_after():
    from neuronika.backends import _fft_conv, _kept, _numpy_kernels as kernels

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 16, 5, 5)).astype(np.float32)
    args = ((1, 1), (1, 1), 1)
    assert kernels.path("conv_backward_weight", x.shape, w.shape, *args, x.dtype) == "fft"
    y = kernels.FFT["conv_forward"](np, x, w, *args)
    assert (id(x), "x_hat") in _kept.KEPT  # kept for the backward
    grad = rng.standard_normal(y.shape).astype(np.float32)
    kept = kernels.FFT["conv_backward_weight"](np, grad, x, w.shape, *args)
    assert (id(x), "x_hat") not in _kept.KEPT  # taken by the backward that used it
    fresh = _fft_conv.conv_backward_weight(grad, x, w.shape, *args)
    assert np.array_equal(kept, fresh)
    kernels.FFT["conv_forward"](np, x, w, *args)
    del x  # an input that is freed takes its spectrum with it
    assert not _kept.KEPT


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-5), ("float64", 1e-12)])
def test_the_weight_gradient_conjugates_the_input_gradients_spectrum_and_keeps_nothing_after(dtype, tolerance):
    from neuronika.backends import _fft_conv, _kept, _numpy_kernels as kernels

    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 16, 12, 12)).astype(dtype)
    w = rng.standard_normal((8, 8, 5, 5)).astype(dtype)
    args = ((1, 1), (1, 1), 2)
    assert kernels.path("conv_backward_input", x.shape, w.shape, *args, x.dtype) == "fft"
    assert kernels.path("conv_backward_weight", x.shape, w.shape, *args, x.dtype) == "fft"
    grad = rng.standard_normal((4, 8, 8, 8)).astype(dtype)
    grad_x = kernels.FFT["conv_backward_input"](np, grad, w, x.shape, *args)
    assert (id(grad), "g_hat") in _kept.KEPT  # kept for the weight gradient
    kept = kernels.FFT["conv_backward_weight"](np, grad, x, w.shape, *args)
    assert not _kept.KEPT  # taken by the weight gradient
    fresh = _fft_conv.conv_backward_weight(grad, x, w.shape, *args)
    assert np.allclose(kept, fresh, rtol=0, atol=tolerance * np.abs(fresh).max())
    assert np.allclose(kept, generic_conv.conv_backward_weight(np, grad, x, w.shape, *args), rtol=0, atol=tolerance * np.abs(fresh).max())
    assert np.allclose(grad_x, generic_conv.conv_backward_input(np, grad, w, x.shape, *args), rtol=0, atol=tolerance * np.abs(grad_x).max())
    kernels.FFT["conv_backward_input"](np, grad, w, x.shape, *args)
    del grad  # a gradient that is freed takes its spectrum with it
    assert not _kept.KEPT


def test_a_kept_gradient_spectrum_is_not_taken_by_a_convolution_of_another_stride(monkeypatch):
    # two convolutions of one input whose outputs have the same shape may be handed the same
    # gradient array: (11 - 3) // 2 + 1 = (11 - 7) // 1 + 1 = 5
    from neuronika.backends import _fft_conv, _kept, _numpy_kernels as kernels

    monkeypatch.setattr(kernels, "path", lambda *args: "fft")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 11))
    w_strided, w_wide = rng.standard_normal((3, 4, 3)), rng.standard_normal((3, 4, 7))
    grad = rng.standard_normal((2, 3, 5))
    kernels.FFT["conv_backward_input"](np, grad, w_strided, x.shape, (2,), (1,), 1)  # keeps ĝ at stride 2
    got = kernels.FFT["conv_backward_weight"](np, grad, x, w_wide.shape, (1,), (1,), 1)
    assert np.allclose(got, generic_conv.conv_backward_weight(np, grad, x, w_wide.shape, (1,), (1,), 1), atol=1e-12)
    _kept.KEPT.clear()
