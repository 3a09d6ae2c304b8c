"""nk.convolution: kernel conformance (every backend override against the generic kernels),
values against a naive loop reference and PyTorch, gradchecks, and build-time errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import neuronika as nk
from neuronika import kernels as generic
from neuronika.testing import gradcheck

MODES = ("zero", "constant", "reflective", "replicative")
NUMPY_MODES = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "edge"}
KERNEL_NAMES = ("pad", "pad_backward", "conv_forward", "conv_backward_input", "conv_backward_weight")


def host(device: str, array):
    return nk.backends.get(device).to_host(array)


# --- an independent reference: loops over every output element --------------------------------
def reference_pad(x: np.ndarray, padding, mode: str, value: float) -> np.ndarray:
    width = ((0, 0), (0, 0)) + tuple((p, p) for p in padding)
    if NUMPY_MODES[mode] == "constant":
        return np.pad(x, width, mode="constant", constant_values=value if mode == "constant" else 0.0)
    return np.pad(x, width, mode=NUMPY_MODES[mode])


def reference_unpad(grad_padded: np.ndarray, shape, padding, mode: str) -> np.ndarray:
    """Adjoint of reference_pad: pad an index map and add every padded gradient to its source."""
    index = np.arange(int(np.prod(shape))).reshape(shape)
    sources = reference_pad(index, padding, "constant" if NUMPY_MODES[mode] == "constant" else mode, -1)
    keep = sources >= 0
    grad = np.zeros(index.size)
    np.add.at(grad, sources[keep], grad_padded[keep])
    return grad.reshape(shape)


def reference_convolution(x, w, gy, stride, dilation, padding, mode, groups, value):
    """Forward and both gradients of the convolution by explicit loops."""
    padded = reference_pad(x, padding, mode, value)
    batch, out_channels, kernel = x.shape[0], w.shape[0], w.shape[2:]
    per_group, out_per_group = x.shape[1] // groups, out_channels // groups
    out = tuple((s - d * (k - 1) - 1) // t + 1 for s, k, t, d in zip(padded.shape[2:], kernel, stride, dilation))
    y = np.zeros((batch, out_channels) + out)
    grad_padded, grad_w = np.zeros_like(padded), np.zeros_like(w)
    for n, o in itertools.product(range(batch), range(out_channels)):
        first = (o // out_per_group) * per_group
        for p in np.ndindex(*out):
            for c in range(per_group):
                for j in np.ndindex(*kernel):
                    at = (n, first + c) + tuple(pi * t + ji * d for pi, ji, t, d in zip(p, j, stride, dilation))
                    y[(n, o) + p] += w[(o, c) + j] * padded[at]
                    grad_w[(o, c) + j] += gy[(n, o) + p] * padded[at]
                    grad_padded[at] += gy[(n, o) + p] * w[(o, c) + j]
    return y, reference_unpad(grad_padded, x.shape, padding, mode), grad_w


def run_convolution(device, x, w, gy, **options):
    """nk.convolution on ``device``: (output, input gradient, kernel gradient) on the host."""
    xv = nk.from_ndarray(x, dtype="float64", device=device).requires_grad()
    wv = nk.from_ndarray(w, dtype="float64", device=device).requires_grad()
    y = nk.convolution(xv, wv, **options)
    y.forward()
    y.backward(gy)
    return y.numpy(), host(device, xv.grad), host(device, wv.grad)


# --- (1) conformance: the backend's kernels against the generic ones ----------------------------
GRID = list(itertools.product((1, 2, 3), (1, 2), (1, 2), (1, 2), MODES))
# channel counts and widths that make the NumPy/CuPy override gather its windows channels-first
# (one channel, long rows) and channels-last (many channels, short rows)
LAYOUTS = [(2, 1, (9, 12), (3, 3)), (2, 16, (5, 4), (2, 3)), (3, 1, (4, 5, 11), (2, 2, 3)), (1, 12, (6,), (4,))]


def check_conformance(device, seed, channels, spatial, kernel, padding, stride, dilation, groups, mode):
    backend = nk.backends.get(device)
    xp = backend.xp
    rng = np.random.default_rng(seed)
    ndim = len(spatial)
    strides, dilations = (stride,) * ndim, (dilation,) * ndim
    x = backend.asarray(rng.standard_normal((2, channels) + spatial), nk.float64)
    w = backend.asarray(rng.standard_normal((6, channels // groups) + kernel), nk.float64)

    def both(name, *args):
        with backend.scope():  # as the ops run them: kernels compute on the operands' GPU
            ours = backend.kernel(name, generic.GENERIC[name])(xp, *args)
            theirs = generic.GENERIC[name](xp, *args)
        return host(device, ours), host(device, theirs)

    padded, expected = both("pad", x, padding, mode, 0.5)
    np.testing.assert_allclose(padded, expected, rtol=0, atol=1e-10)
    padded = backend.asarray(padded, nk.float64)
    y, expected = both("conv_forward", padded, w, strides, dilations, groups)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-10)
    gy = backend.asarray(rng.standard_normal(y.shape), nk.float64)
    grad_padded, expected = both("conv_backward_input", gy, w, tuple(padded.shape), strides, dilations, groups)
    np.testing.assert_allclose(grad_padded, expected, rtol=0, atol=1e-10)
    grad_w, expected = both("conv_backward_weight", gy, padded, tuple(w.shape), strides, dilations, groups)
    np.testing.assert_allclose(grad_w, expected, rtol=0, atol=1e-10)
    grad_x, expected = both("pad_backward", backend.asarray(grad_padded, nk.float64), padding, mode)
    np.testing.assert_allclose(grad_x, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("ndim, stride, dilation, groups, mode", GRID, ids=lambda v: str(v))
def test_backend_kernels_agree_with_generic_kernels(device, ndim, stride, dilation, groups, mode):
    seed = GRID.index((ndim, stride, dilation, groups, mode))
    spatial, kernel, padding = (7, 6, 5)[:ndim], (3, 2, 2)[:ndim], (2, 1, 1)[:ndim]
    check_conformance(device, seed, 4, spatial, kernel, padding, stride, dilation, groups, mode)


@pytest.mark.parametrize("ndim, channels, spatial, kernel", LAYOUTS)
@pytest.mark.parametrize("stride", (1, 2))
def test_backend_kernels_agree_with_generic_kernels_in_both_layouts(device, ndim, channels, spatial, kernel, stride):
    check_conformance(device, channels, channels, spatial, kernel, (1,) * ndim, stride, 1, 1, "zero")


def test_numpy_backend_registers_the_strided_blas_overrides():
    kernels = nk.backends.get("cpu").kernels
    for name in ("conv_forward", "conv_backward_input", "conv_backward_weight"):
        assert kernels[name] is not generic.GENERIC[name]


def test_array_api_strict_runs_the_generic_kernels():
    pytest.importorskip("array_api_strict")
    backend = nk.backends.get("array_api_strict")
    for name in KERNEL_NAMES:
        assert backend.kernel(name, generic.GENERIC[name]) is generic.GENERIC[name]


def test_kernels_are_looked_up_once_when_the_op_is_built(device, monkeypatch):
    backend = nk.backends.get(device)
    calls = []

    def spy(xp, x, w, stride, dilation, groups):
        calls.append(tuple(x.shape))
        return generic.conv_forward(xp, x, w, stride, dilation, groups)

    monkeypatch.setitem(backend.kernels, "conv_forward", spy)
    y = nk.convolution(nk.ones((1, 2, 5), device=device), nk.ones((3, 2, 2), device=device), padding=1)
    monkeypatch.delitem(backend.kernels, "conv_forward")  # later registry changes do not reach built ops
    y.forward()
    assert calls == [(1, 2, 7)]
    np.testing.assert_allclose(y.numpy()[0, 0], [2, 4, 4, 4, 4, 2], atol=1e-6)  # 2 channels x 2 taps


# --- (2) values against independent references ---------------------------------------------------
NAIVE_CASES = [
    # shape, kernel shape, stride, dilation, padding, mode, groups
    ((2, 2, 7), (3, 2, 3), 1, 1, 0, "zero", 1),
    ((2, 4, 9), (4, 2, 2), 2, 2, 2, "reflective", 2),
    ((1, 2, 5, 6), (2, 2, 3, 2), (2, 1), (1, 2), (1, 2), "replicative", 1),
    ((2, 4, 5, 5), (4, 1, 2, 2), 1, 2, 1, "constant", 4),
    ((1, 2, 6, 5), (4, 1, 3, 3), 2, 1, 1, "zero", 2),
    ((1, 2, 4, 5, 4), (2, 2, 2, 3, 2), (1, 2, 1), 1, (1, 0, 2), "reflective", 1),
    ((1, 2, 4, 4, 5), (2, 1, 2, 2, 2), 2, (2, 1, 1), 1, "constant", 2),
    ((1, 1, 3, 4, 3), (1, 1, 2, 2, 2), 1, 1, 2, "replicative", 1),
]


@pytest.mark.parametrize("shape, kernel, stride, dilation, padding, mode, groups", NAIVE_CASES)
def test_values_and_gradients_match_a_naive_loop(device, shape, kernel, stride, dilation, padding, mode, groups):
    rng = np.random.default_rng(7)
    ndim = len(shape) - 2
    tup = lambda v: (v,) * ndim if isinstance(v, int) else v  # noqa: E731
    x, w = rng.standard_normal(shape), rng.standard_normal(kernel)
    options = dict(stride=stride, dilation=dilation, padding=padding, padding_mode=mode, groups=groups, padding_value=-0.75)
    out = nk.convolution(nk.from_ndarray(x, dtype="float64", device=device), nk.from_ndarray(w, dtype="float64", device=device), **options)
    gy = rng.standard_normal(out.shape)
    expected = reference_convolution(x, w, gy, tup(stride), tup(dilation), tup(padding), mode, groups, -0.75)
    for got, want in zip(run_convolution(device, x, w, gy, **options), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


TORCH_MODES = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "replicate"}


@pytest.mark.parametrize("ndim", (1, 2, 3))
@pytest.mark.parametrize("mode", MODES)
def test_values_and_gradients_match_pytorch(device, ndim, mode):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(ndim * 10 + MODES.index(mode))
    spatial, kernel = (9, 8, 7)[:ndim], (3, 2, 3)[:ndim]
    stride, dilation, padding = (2, 1, 2)[:ndim], (1, 2, 1)[:ndim], (2, 1, 2)[:ndim]
    x, w = rng.standard_normal((3, 4) + spatial), rng.standard_normal((6, 2) + kernel)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    widths = tuple(p for p in reversed(padding) for _ in range(2))
    value = 1.25 if mode == "constant" else 0.0
    if TORCH_MODES[mode] == "constant":
        padded = functional.pad(tx, widths, mode="constant", value=value)
    else:
        padded = functional.pad(tx, widths, mode=TORCH_MODES[mode])
    conv = (functional.conv1d, functional.conv2d, functional.conv3d)[ndim - 1]
    ty = conv(padded, tw, stride=stride, dilation=dilation, groups=2)
    gy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(gy))
    y, grad_x, grad_w = run_convolution(
        device, x, w, gy, stride=stride, dilation=dilation, padding=padding, padding_mode=mode, groups=2, padding_value=value
    )
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad_w, tw.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("zero", [0, 0, 0, 1, 2, 3, 4, 0, 0]),
        ("constant", [9, 9, 0, 1, 2, 3, 4, 9, 9]),
        ("reflective", [2, 1, 0, 1, 2, 3, 4, 3, 2]),
        ("replicative", [0, 0, 0, 1, 2, 3, 4, 4, 4]),
    ],
)
def test_padding_modes_follow_the_documented_layout(device, mode, expected):
    signal = nk.from_ndarray(np.arange(5.0).reshape(1, 1, 5), device=device)
    identity = nk.from_ndarray(np.ones((1, 1, 1)), device=device)
    out = nk.convolution(signal, identity, padding=2, padding_mode=mode, padding_value=9.0)
    out.forward()
    np.testing.assert_allclose(out.numpy().ravel(), expected)


def test_float32_stays_float32_and_only_differentiable_operands_get_gradients(device):
    x = nk.rand((2, 3, 8, 8), device=device)
    w = nk.rand((4, 3, 3, 3), device=device).requires_grad()
    y = nk.convolution(x, w, padding=1)
    assert isinstance(y, nk.VarDiff) and y.dtype == nk.float32 and y.shape == (2, 4, 8, 8)
    y.forward()
    y.backward(1.0)
    assert x._node.grad is None and tuple(w.grad.shape) == (4, 3, 3, 3)
    assert isinstance(nk.convolution(x, nk.rand((4, 3, 3, 3), device=device)), nk.Var)


# --- (3) gradcheck ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ndim", (1, 2, 3))
@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_input_and_kernel(device, ndim, mode):
    rng = np.random.default_rng(3)
    spatial, kernel = (6, 5, 4)[:ndim], (3, 2, 2)[:ndim]
    x, w = rng.standard_normal((2, 2) + spatial), rng.standard_normal((2, 1) + kernel)
    stride, dilation = (2, 1, 1)[:ndim], (1, 2, 1)[:ndim]

    def fn(input, weight):
        return nk.convolution(input, weight, stride=stride, dilation=dilation, padding=1, padding_mode=mode, groups=2, padding_value=0.3)

    assert gradcheck(fn, [x, w], device=device)


# --- (4) build-time errors ------------------------------------------------------------------------
ERRORS = [
    (ValueError, r"channel mismatch: the input \(2, 3, 8, 8\) has 3 channels.*\(C_out, 3, \*k\), got \(4, 2, 3, 3\)", (2, 3, 8, 8), (4, 2, 3, 3), {}),
    (ValueError, r"the kernel \(1, 1, 5, 5\) .* is larger than the padded input \(4, 4\)", (1, 1, 4, 4), (1, 1, 5, 5), {}),
    (ValueError, r"the kernel \(1, 1, 3\) \(spatial extent \(5,\) with dilation \(2,\)\) is larger", (1, 1, 4), (1, 1, 3), {"dilation": 2}),
    (ValueError, r"groups=2 must divide both the input channels \(4, .*\) and the output channels \(3, kernel \(3, 2, 3, 3\)\)", (1, 4, 8, 8), (3, 2, 3, 3), {"groups": 2}),
    (ValueError, r"groups=3 must divide both the input channels \(4", (1, 4, 8), (3, 1, 3), {"groups": 3}),
    (ValueError, r"groups must be a positive int, got 0", (1, 4, 8), (3, 4, 3), {"groups": 0}),
    (ValueError, r"the input must be \(N, C_in, \*spatial\) with 1, 2 or 3 spatial dimensions, got shape \(4, 8\)", (4, 8), (2, 4), {}),
    (ValueError, r"the input must be .* 1, 2 or 3 spatial dimensions, got shape \(1, 1, 2, 2, 2, 2\)", (1, 1, 2, 2, 2, 2), (1, 1, 1, 1, 1, 1), {}),
    (ValueError, r"the kernel must be \(C_out, C_in/groups, \*k\) with as many dimensions as the input \(1, 2, 8, 8\), got shape \(3, 2, 3\)", (1, 2, 8, 8), (3, 2, 3), {}),
    (ValueError, r"unknown padding_mode 'circular'; use one of zero, constant, reflective, replicative", (1, 1, 8), (1, 1, 3), {"padding": 1, "padding_mode": "circular"}),
    (ValueError, r"reflective padding \(3, 1\) must be smaller than the input's spatial size \(3, 8\)", (1, 1, 3, 8), (1, 1, 2, 2), {"padding": (3, 1), "padding_mode": "reflective"}),
    (ValueError, r"stride must be >= 1 in every dimension, got 0", (1, 1, 8), (1, 1, 3), {"stride": 0}),
    (ValueError, r"padding must be >= 0 in every dimension, got \(1, -1\)", (1, 1, 8, 8), (1, 1, 3, 3), {"padding": (1, -1)}),
    (TypeError, r"dilation must be an int or a tuple of 2 ints \(one per spatial dimension\), got \(1, 1, 1\)", (1, 1, 8, 8), (1, 1, 3, 3), {"dilation": (1, 1, 1)}),
]


@pytest.mark.parametrize("error, message, shape, kernel, options", ERRORS)
def test_bad_arguments_raise_when_the_op_is_built(device, error, message, shape, kernel, options):
    with pytest.raises(error, match=r"^convolution: " + message):
        nk.convolution(nk.ones(shape, device=device), nk.ones(kernel, device=device), **options)


def test_operands_on_different_devices_raise(device):
    pytest.importorskip("array_api_strict")
    other = "array_api_strict:1" if device != "array_api_strict:1" else "cpu"
    with pytest.raises(ValueError, match=r"convolution: operands live on different devices, .* and .*\.to\("):
        nk.convolution(nk.ones((1, 1, 8), device=device), nk.ones((1, 1, 3), device=other))


def test_operands_of_different_dtypes_raise(device):
    with pytest.raises(TypeError, match=r"convolution: operands have different dtypes, float32 \(1, 1, 8\) and float64 \(1, 1, 3\)"):
        nk.convolution(nk.ones((1, 1, 8), device=device), nk.ones((1, 1, 3), dtype="float64", device=device))


def test_raw_arrays_are_refused_with_the_fix(device):
    with pytest.raises(TypeError, match=r"convolution: the kernel must be a neuronika variable, got ndarray; wrap arrays with nk.from_ndarray"):
        nk.convolution(nk.ones((1, 1, 8), device=device), np.ones((1, 1, 3)))


# --- (5) the NumPy override's two paths: im2col and the frequency domain -------------------------
# (NumPy-only kernels, called directly; the dispatch itself is covered through the backend below)
from neuronika.backends import _numpy_kernels  # noqa: E402

CONV_NAMES = ("conv_forward", "conv_backward_input", "conv_backward_weight")
FFT_GRID = list(itertools.product((1, 2, 3), (1, 2, 3), (1, 2), (1, 2)))


def kernel_calls(x, w, gy, strides, dilations, groups):
    """The arguments of the three convolution kernels, by name."""
    return {
        "conv_forward": (x, w, strides, dilations, groups),
        "conv_backward_input": (gy, w, tuple(x.shape), strides, dilations, groups),
        "conv_backward_weight": (gy, x, tuple(w.shape), strides, dilations, groups),
    }


@pytest.mark.parametrize("ndim, stride, dilation, groups", FFT_GRID, ids=str)
def test_fft_kernels_agree_with_generic_kernels_in_float64(ndim, stride, dilation, groups):
    # odd and even grids (the Nyquist term of the half spectrum), strided outputs, dilated kernels
    rng = np.random.default_rng(100 + FFT_GRID.index((ndim, stride, dilation, groups)))
    spatial, kernel = (9, 8, 7)[:ndim], (3, 2, 3)[:ndim]
    strides, dilations = (stride,) * ndim, (dilation,) * ndim
    x, w = rng.standard_normal((2, 4) + spatial), rng.standard_normal((6, 4 // groups) + kernel)
    y = generic.conv_forward(np, x, w, strides, dilations, groups)
    gy = rng.standard_normal(y.shape)
    for name, operands in kernel_calls(x, w, gy, strides, dilations, groups).items():
        got, expected = _numpy_kernels.FFT[name](np, *operands), generic.GENERIC[name](np, *operands)
        assert got.shape == expected.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10, err_msg=name)


def test_fft_kernels_take_one_input_channel_and_a_broadcast_gradient():
    # one channel per group (a broadcast product instead of matmul) and the zero-stride gradient
    # that ``sum`` hands to the backward pass
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 4, 10, 9)), rng.standard_normal((8, 1, 4, 3))
    y = generic.conv_forward(np, x, w, (1, 2), (2, 1), 4)
    gy = np.broadcast_to(rng.standard_normal((1, 8, 1, 1)), y.shape)
    for name, operands in kernel_calls(x, w, gy, (1, 2), (2, 1), 4).items():
        got, expected = _numpy_kernels.FFT[name](np, *operands), generic.GENERIC[name](np, *operands)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10, err_msg=name)


def test_fft_kernels_in_float32_stay_within_1e_4_of_the_largest_value():
    # the benchmark CNN's second layer, smaller batch; float64 generic kernels as the reference
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((4, 16, 24, 24)), rng.standard_normal((32, 16, 5, 5))
    gy = rng.standard_normal((4, 32, 20, 20))
    single = kernel_calls(x.astype(np.float32), w.astype(np.float32), gy.astype(np.float32), (1, 1), (1, 1), 1)
    for name, operands in kernel_calls(x, w, gy, (1, 1), (1, 1), 1).items():
        got, expected = _numpy_kernels.FFT[name](np, *single[name]), generic.GENERIC[name](np, *operands)
        assert got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max(), name


BENCHMARK_PATHS = [
    # padded input, kernel, the path of (forward, input gradient, kernel gradient)
    ((64, 1, 28, 28), (16, 1, 5, 5), ("im2col", "im2col", "im2col")),  # one input channel
    ((64, 16, 24, 24), (32, 16, 5, 5), ("fft", "fft", "fft")),
    ((16, 4, 18, 18, 18), (8, 4, 3, 3, 3), ("fft", "fft", "fft")),
    # W2L's three layers (padded inputs): the measured fastest path of each call, one thread
    ((128, 3, 34, 34), (32, 3, 3, 3), ("im2col", "im2col", "im2col")),
    ((128, 32, 18, 18), (64, 32, 3, 3), ("fft", "fft", "fft")),
    ((128, 64, 10, 10), (128, 64, 3, 3), ("fft", "fft", "fft")),
]


@pytest.mark.parametrize("x_shape, w_shape, paths", BENCHMARK_PATHS)
def test_numpy_rule_picks_the_documented_path_for_the_benchmark_shapes(x_shape, w_shape, paths):
    ones = (1,) * (len(x_shape) - 2)
    for name, expected in zip(CONV_NAMES, paths):
        for dtype in (np.float32, np.float64):
            assert _numpy_kernels.path(name, x_shape, w_shape, ones, ones, 1, np.dtype(dtype)) == expected, name


def test_numpy_rule_keeps_im2col_for_other_dtypes_and_large_grids():
    assert _numpy_kernels.path("conv_forward", (64, 16, 24, 24), (32, 16, 5, 5), (1, 1), (1, 1), 1, np.dtype(np.float16)) == "im2col"
    # a 3x3 kernel on 256x256 images: the transforms cost more than the taps they save
    for name in CONV_NAMES:
        assert _numpy_kernels.path(name, (8, 16, 258, 258), (16, 16, 3, 3), (1, 1), (1, 1), 1, np.dtype(np.float32)) == "im2col"
    # a single tap is a plain GEMM
    assert _numpy_kernels.path("conv_forward", (64, 64, 24, 24), (64, 64, 1, 1), (1, 1), (1, 1), 1, np.dtype(np.float32)) == "im2col"


# shapes (as check_conformance builds them: batch 2, 6 output channels, padding 1) on which the
# NumPy backend takes the frequency-domain path for all three kernels
FFT_CASES = [
    (32, (64,), (31,), 1, 2),
    (8, (16, 16), (7, 7), 1, 1),
    (32, (20, 20), (5, 5), 2, 2),
    (12, (16, 16), (7, 7), 1, 3),
    (6, (20, 20), (7, 7), 1, 6),  # depthwise: one channel per group
    (8, (10, 10, 10), (3, 3, 3), 1, 1),
]


@pytest.mark.parametrize("channels, spatial, kernel, dilation, groups", FFT_CASES)
@pytest.mark.parametrize("mode", ("zero", "reflective"))
def test_backend_kernels_agree_with_generic_kernels_on_the_fft_path(device, channels, spatial, kernel, dilation, groups, mode):
    ndim = len(spatial)
    if device == "cpu":  # the cases are there to exercise the NumPy frequency-domain path
        x_shape, w_shape = (2, channels) + tuple(s + 2 for s in spatial), (6, channels // groups) + kernel
        for name in CONV_NAMES:
            assert _numpy_kernels.path(name, x_shape, w_shape, (1,) * ndim, (dilation,) * ndim, groups, np.dtype(np.float64)) == "fft"
    check_conformance(device, channels, channels, spatial, kernel, (1,) * ndim, 1, dilation, groups, mode)
