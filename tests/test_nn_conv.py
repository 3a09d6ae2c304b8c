"""Conv1d/2d/3d and GroupedConv1d/2d/3d: parameter layout and default init, forward against a
NumPy reference (sliding windows + einsum), gradients against finite differences and, where
PyTorch is installed, forward and gradients against torch.nn.functional with the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn
from neuronika.testing import gradcheck

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
GROUPED = {1: nn.GroupedConv1d, 2: nn.GroupedConv2d, 3: nn.GroupedConv3d}
NUMPY_PAD = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "edge"}


def leaf(array: np.ndarray, device: str) -> nk.Var:
    return nk.from_ndarray(array, dtype="float64", device=device)


def grad_of(var) -> np.ndarray:
    return var._node.backend.to_host(var.grad)


def reference_conv(x, w, b, stride, dilation, padding, mode="zero", value=0.0, groups=1):
    """Cross-correlation with NumPy: pad, take dilated sliding windows, contract per group."""
    dims = x.ndim - 2
    widths = [(0, 0), (0, 0)] + [(p, p) for p in padding]
    extra = {"constant_values": value if mode == "constant" else 0.0} if NUMPY_PAD[mode] == "constant" else {}
    x = np.pad(x, widths, mode=NUMPY_PAD[mode], **extra)
    kernel = w.shape[2:]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(2, 2 + dims)))
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride) + tuple(slice(None, None, d) for d in dilation)
    windows = windows[index]  # (N, C, *out, *kernel)
    batch, channels = x.shape[:2]
    out_shape = windows.shape[2 : 2 + dims]
    windows = windows.reshape((batch, groups, channels // groups) + out_shape + tuple(kernel))
    weights = w.reshape((groups, w.shape[0] // groups) + w.shape[1:])
    letters = "defgh"[:dims]
    kern = "xyz"[:dims]
    out = np.einsum(f"ngc{letters}{kern},goc{kern}->ngo{letters}", windows, weights)
    out = out.reshape((batch, w.shape[0]) + out_shape)
    return out + b.reshape((1, -1) + (1,) * dims)


CASES = [
    # dims, in, out, kernel, stride, dilation, padding, mode, groups, spatial size
    (1, 4, 6, 3, 1, 1, 0, "zero", 1, (9,)),
    (1, 4, 6, 3, 2, 2, 2, "reflective", 2, (10,)),
    (2, 3, 4, (3, 2), (2, 1), (1, 2), (1, 2), "zero", 1, (7, 6)),
    (2, 4, 4, 3, 1, 1, 1, "replicative", 4, (5, 5)),
    (2, 2, 4, 2, (1, 2), 1, (2, 1), "constant", 2, (5, 4)),
    (3, 2, 4, (2, 3, 2), (1, 2, 1), (2, 1, 1), 1, "reflective", 2, (5, 5, 4)),
]


def build(dims, cin, cout, kernel, stride, dilation, padding, mode, groups, device, rng, padding_value=0.0):
    layer = CONV[dims](cin, cout, kernel, padding=padding, padding_mode=mode, stride=stride, dilation=dilation,
                       groups=groups, padding_value=padding_value, dtype="float64", device=device)
    weight = rng.standard_normal(layer.weight.shape)
    bias = rng.standard_normal(cout)
    layer.weight = leaf(weight, device).requires_grad()
    layer.bias = leaf(bias, device).requires_grad()
    return layer, weight, bias


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_parameters_have_pytorch_shapes_and_default_bounds(device, dims):
    layer = CONV[dims](6, 8, 3, groups=2, device=device)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [("weight", (8, 3) + (3,) * dims), ("bias", (8,))]
    bound = 1 / math.sqrt(3 * 3**dims)  # 1/sqrt(in/groups · prod(kernel))
    for param in layer.parameters():
        values = param._node.backend.to_host(param.data)
        assert np.abs(values).max() <= bound
    assert layer.kernel_size == (3,) * dims and layer.stride == (1,) * dims and layer.padding == (0,) * dims


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{c[7]}-g{c[8]}" for c in CASES])
def test_conv_forward_matches_numpy(device, rng, case):
    dims, cin, cout, kernel, stride, dilation, padding, mode, groups, size = case
    layer, weight, bias = build(dims, cin, cout, kernel, stride, dilation, padding, mode, groups, device, rng, padding_value=0.5)
    x = rng.standard_normal((2, cin) + size)
    out = layer(leaf(x, device))
    expected = reference_conv(x, weight, bias, layer.stride, layer.dilation, layer.padding, mode, 0.5, groups)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.forward().numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_gradients(device, rng, dims):
    size = {1: (6,), 2: (4, 5), 3: (3, 4, 3)}[dims]

    def fn(x, w, b):
        layer = CONV[dims](4, 2, 2, padding=1, padding_mode="reflective", stride=2 if dims == 1 else 1,
                           groups=2, dtype="float64", device=device)
        layer.weight, layer.bias = w, b
        return layer(x)

    arrays = [rng.standard_normal((2, 4) + size), rng.standard_normal((2, 2) + (2,) * dims), rng.standard_normal(2)]
    assert gradcheck(fn, arrays, device=device)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_grouped_conv_is_conv_with_groups_after_kernel_size(device, rng, dims):
    grouped = GROUPED[dims](4, 6, 3, 2, padding=1, device=device)
    assert isinstance(grouped, CONV[dims]) and grouped.groups == 2
    assert grouped.weight.shape == (6, 2) + (3,) * dims
    plain = CONV[dims](4, 6, 3, padding=1, groups=2, device=device)
    plain.load_state_dict(grouped.state_dict())
    x = nk.from_ndarray(rng.standard_normal((1, 4) + (5,) * dims).astype(np.float32), device=device)
    np.testing.assert_array_equal(grouped(x).forward().numpy(), plain(x).forward().numpy())
    assert type(grouped).__name__ == f"GroupedConv{dims}d"


def test_conv_without_bias(device, rng):
    layer = nn.Conv2d(2, 3, 2, bias=False, dtype="float64", device=device)
    weight = layer.weight.numpy()
    x = rng.standard_normal((1, 2, 4, 4))
    expected = reference_conv(x, weight, np.zeros(3), (1, 1), (1, 1), (0, 0))
    np.testing.assert_allclose(layer(leaf(x, device)).forward().numpy(), expected, rtol=1e-12)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


def test_conv_errors_are_raised_when_built(device):
    with pytest.raises(ValueError, match="groups=3 must divide both in_channels"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv1d(2, 2, 3, padding_mode="circular")
    with pytest.raises(ValueError, match="kernel_size must be an int >= 1 or a tuple of 2"):
        nn.Conv2d(2, 2, (3, 3, 3))
    layer = nn.Conv2d(3, 4, 3, device=device)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4\): input has shape \(1, 2, 8, 8\), expected \(N, 3, H, W\)"):
        layer(nk.zeros((1, 2, 8, 8), device=device))


# --- against PyTorch ---------------------------------------------------------------------------------

TORCH_PAD = {"zero": "constant", "constant": "constant", "reflective": "reflect", "replicative": "replicate"}


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}d-{c[7]}-g{c[8]}" for c in CASES])
def test_conv_matches_torch_forward_and_gradients(device, rng, case):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    dims, cin, cout, kernel, stride, dilation, padding, mode, groups, size = case
    layer, weight, bias = build(dims, cin, cout, kernel, stride, dilation, padding, mode, groups, device, rng, padding_value=-1.0)
    x = rng.standard_normal((2, cin) + size)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    pads = [p for p in reversed(layer.padding) for _ in (0, 1)]
    padded = functional.pad(tx, pads, mode=TORCH_PAD[mode], **({"value": -1.0} if mode == "constant" else {}))
    conv = {1: functional.conv1d, 2: functional.conv2d, 3: functional.conv3d}[dims]
    expected = conv(padded, tw, tb, stride=layer.stride, dilation=layer.dilation, groups=groups)
    seed = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(seed))

    ox = leaf(x, device).requires_grad()
    out = layer(ox)
    out.backward(seed)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_of(ox), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_of(layer.weight), tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_of(layer.bias), tb.grad.numpy(), rtol=1e-10, atol=1e-12)
