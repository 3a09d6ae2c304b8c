"""Differential tests against PyTorch (CPU, float64 unless the dtype is the point): every public op family at the edge cases where
bugs hide — zeros, kinks, ±inf, ties, signed zeros, size-1 and size-0 axes, negative axes,
broadcasting both ways, every reduction mode and weighting of the losses, negative strides.
Values and the gradients of every input (with a random cotangent) are compared by
``torch_compare.against_torch``."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.nn import functional as NF

from torch_compare import against_torch, host

torch = pytest.importorskip("torch")
F = torch.nn.functional
INF = np.inf


# --- element-wise ops at their special points ------------------------------------------------------
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, INF, -INF, 3.0, -3.0, 6.0, 1e4, -1e4, -800.0, 800.0])
UNARY = {
    "abs": (lambda x: x.abs(), torch.abs), "sqrt": (lambda x: x.abs().sqrt(), lambda t: t.abs().sqrt()),
    "exp": (lambda x: x.exp(), torch.exp), "log1p": (nk.log1p, torch.log1p), "expm1": (nk.expm1, torch.expm1),
    "sin": (nk.sin, torch.sin), "erf": (nk.erf, torch.erf), "sign": (nk.sign, torch.sign),
    "floor": (nk.floor, torch.floor), "round": (nk.round, torch.round), "reciprocal": (nk.reciprocal, torch.reciprocal),
    "relu": (lambda x: x.relu(), F.relu), "leaky_relu": (lambda x: x.leaky_relu(0.2), lambda t: F.leaky_relu(t, 0.2)),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid), "tanh": (lambda x: x.tanh(), torch.tanh),
    "softplus": (lambda x: x.softplus(), F.softplus), "gelu": (lambda x: x.gelu(), F.gelu),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), lambda t: F.gelu(t, approximate="tanh")),
    "silu": (lambda x: x.silu(), F.silu), "mish": (lambda x: x.mish(), F.mish), "elu": (lambda x: x.elu(), F.elu),
    "selu": (lambda x: x.selu(), F.selu), "celu": (lambda x: x.celu(0.5), lambda t: F.celu(t, 0.5)),
    "hardtanh": (lambda x: x.hardtanh(), F.hardtanh), "relu6": (lambda x: x.relu6(), F.relu6),
    "hardswish": (lambda x: x.hardswish(), F.hardswish), "log_sigmoid": (lambda x: x.log_sigmoid(), F.logsigmoid),
    "pow3": (lambda x: x ** 3, lambda t: t ** 3), "pow-2": (lambda x: x ** -2, lambda t: t ** -2),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_at_zeros_kinks_and_infinities(device, name):
    ours, theirs = UNARY[name]
    values = SPECIAL
    if name in ("sign", "reciprocal", "pow-2"):  # ±inf·0 in the cotangent product: compare finite points
        values = values[np.isfinite(values)]
    against_torch(ours, theirs, [values.reshape(1, -1)], device, rtol=1e-12, atol=1e-300)


def test_binary_ops_broadcast_both_ways_and_divide_by_signed_zeros(device):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 1)), rng.standard_normal((4,)) + 3.0
    for ours, theirs in [(lambda x, y: x + y, lambda x, y: x + y), (lambda x, y: x - y, lambda x, y: x - y),
                         (lambda x, y: x * y, lambda x, y: x * y), (lambda x, y: x / y, lambda x, y: x / y)]:
        against_torch(ours, theirs, [a, b], device)
        against_torch(ours, theirs, [b, a], device)
    against_torch(lambda x, y: x * y, lambda x, y: x * y, [np.array(2.5), a], device)
    against_torch(lambda x, y: x + y, lambda x, y: x + y, [np.zeros((0, 1)), rng.standard_normal((1, 3))], device)
    against_torch(lambda x, y: x / y, lambda x, y: x / y, [np.array([1.0, -1.0, 2.0]), np.array([0.0, -0.0, 4.0])], device)


def test_maximum_minimum_where_and_clip_at_ties_and_bounds(device):
    a, b = np.array([[1.0, 2.0, 0.0, -1.0]]), np.array([[1.0], [2.0], [-0.0]])
    against_torch(lambda x, y: nk.maximum(x, y), torch.maximum, [a, b], device)
    against_torch(lambda x, y: nk.minimum(x, y), torch.minimum, [b, a], device)
    values = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0])
    against_torch(lambda x: x.clip(-1.0, 1.0), lambda t: t.clamp(-1.0, 1.0), [values], device)
    against_torch(lambda x: x.clip(1.0, -1.0), lambda t: t.clamp(1.0, -1.0), [values], device)  # min > max
    against_torch(lambda x: x.clip(min=0.5), lambda t: t.clamp(min=0.5), [values], device)
    # the branch not taken may be infinite: its gradient is 0, never inf·0
    against_torch(lambda x, y: nk.where(x > 0, x, y.exp()), lambda x, y: torch.where(x > 0, x, y.exp()),
                  [np.array([1.0, -1.0]), np.array([1000.0, 1.0])], device)
    against_torch(lambda x, y: nk.where(x > 0.5, x, y), lambda x, y: torch.where(x > 0.5, x, y),
                  [np.array([[0.2], [0.9]]), np.array([0.1, 0.7, 0.3])], device)


# --- reductions ---------------------------------------------------------------------------------
TIES = np.array([[1.0, 3.0, 3.0], [-INF, 2.0, INF], [0.0, -0.0, 0.0]])
REDUCTIONS = [
    (lambda x: x.max(axis=1), lambda t: t.amax(1)), (lambda x: x.min(axis=-1, keepdims=True), lambda t: t.amin(-1, keepdim=True)),
    (lambda x: x[:1].max(), lambda t: t[:1].amax()), (lambda x: x.sum(axis=(-1, 0), keepdims=True), lambda t: t.sum((-1, 0), keepdim=True)),
    (lambda x: x[2:].prod(axis=1), lambda t: t[2:].prod(1)), (lambda x: x[:1].logsumexp(axis=1), lambda t: t[:1].logsumexp(1)),
    (lambda x: x[1:].logsumexp(axis=0), lambda t: t[1:].logsumexp(0)), (lambda x: x[2:].norm(), lambda t: torch.linalg.vector_norm(t[2:])),
    (lambda x: x[:1].cumsum(-1), lambda t: t[:1].cumsum(-1)),
]


@pytest.mark.parametrize("case", range(len(REDUCTIONS)))
def test_reductions_with_ties_signed_zeros_infinities_and_negative_axes(device, case):
    ours, theirs = REDUCTIONS[case]
    against_torch(ours, theirs, [TIES], device)


def test_prod_var_norm_and_sums_at_zeros_and_empty_axes(device):
    zeros = np.array([[0.0, 2.0, 0.0], [0.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    against_torch(lambda x: x.prod(axis=1), lambda t: t.prod(1), [zeros], device)
    against_torch(lambda x: x.prod(axis=(0, 1)), lambda t: t.prod(), [zeros], device)
    against_torch(lambda x: x.norm(axis=1, keepdims=True), lambda t: torch.linalg.vector_norm(t, dim=1, keepdim=True),
                  [np.array([[0.0, 0.0], [3.0, 4.0]])], device)
    against_torch(lambda x: x.var(axis=(0, 1), correction=2, keepdims=True), lambda t: t.var((0, 1), correction=2, keepdim=True),
                  [zeros], device)
    empty = np.zeros((2, 0))
    against_torch(lambda x: x.sum(axis=1), lambda t: t.sum(1), [empty], device)
    against_torch(lambda x: x.prod(axis=1), lambda t: t.prod(1), [empty], device)
    against_torch(lambda x: x.cumsum(1), lambda t: t.cumsum(1), [empty], device)


def test_empty_reductions_that_pytorch_makes_nan_raise_when_built(device):
    # docs/ops.md: mean/var/max/logsumexp over an empty axis raise (PyTorch: nan or an error)
    empty = nk.zeros((2, 0), device=device)
    for build in (lambda: empty.mean(axis=1), lambda: empty.max(axis=1), lambda: empty.logsumexp(axis=1),
                  lambda: empty.var(axis=1), lambda: empty.argmax(axis=1)):
        with pytest.raises(ValueError, match="empty|no degrees of freedom"):
            build()


def test_argmax_argmin_take_the_first_of_tied_values(device):
    values = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
    x = nk.from_ndarray(values, device=device)
    t = torch.tensor(values)
    assert x.argmax(axis=1).forward().numpy().tolist() == t.argmax(1).tolist() == [1, 0]
    assert x.argmin(axis=-1, keepdims=True).forward().numpy().tolist() == t.argmin(-1, keepdim=True).tolist()
    assert x.argmax().forward().item() == t.argmax().item() == 1


def test_softmax_and_log_softmax_with_infinite_and_huge_logits(device):
    logits = np.array([[-INF, 0.0, 1.0], [1e4, -1e4, 0.0], [2.0, 2.0, 2.0]])
    for axis in (1, -1):
        against_torch(lambda x: x.softmax(axis=axis), lambda t: F.softmax(t, axis), [logits], device)
        against_torch(lambda x: x.log_softmax(axis=axis), lambda t: F.log_softmax(t, axis), [logits[1:]], device)
    against_torch(lambda x: x.softmax(axis=0), lambda t: F.softmax(t, 0), [logits[1:2]], device)  # a size-1 axis


# --- losses: every reduction, weights, ignored and saturated samples ----------------------------------
REDUCTION_MODES = ("mean", "sum", "none")


@pytest.mark.parametrize("reduction", REDUCTION_MODES)
def test_elementwise_losses_at_kinks_and_saturation(device, reduction):
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((4, 3)), rng.random((4, 3))
    near = np.where(rng.random((4, 3)) < 0.4, x, t)  # x = t: the kink of |d|
    against_torch(lambda a, b: NF.mse_loss(a, b, reduction), lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, t], device)
    against_torch(lambda a, b: NF.l1_loss(a, b, reduction), lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, near], device)
    for width in (0.5, 2.0):
        edge = np.where(rng.random((4, 3)) < 0.4, x + width, near)  # |d| = δ: the other kink
        against_torch(lambda a, b: NF.huber_loss(a, b, reduction, width), lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=width), [x, edge], device)
        against_torch(lambda a, b: NF.smooth_l1_loss(a, b, reduction, width), lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=width), [x, edge], device)
    against_torch(lambda a, b: NF.smooth_l1_loss(a, b, reduction, 0.0), lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.0), [x, near], device)
    weight, positive = np.array([[1.0], [2.0], [0.0], [1.0]]), np.array([1.0, 2.0, 0.5])
    against_torch(lambda a, b: NF.binary_cross_entropy_with_logits(a, b, weight=weight, reduction=reduction, pos_weight=positive),
                  lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=torch.tensor(weight), reduction=reduction, pos_weight=torch.tensor(positive)),
                  [x * 300.0, t], device)
    probabilities = 1.0 / (1.0 + np.exp(-x))
    against_torch(lambda a: NF.binary_cross_entropy(a, t, weight=np.array([1.0, 2.0, 3.0]), reduction=reduction),
                  lambda a: F.binary_cross_entropy(a, torch.tensor(t), weight=torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), reduction=reduction), [probabilities], device)
    # probabilities of exactly 0 and 1: the logs clamped at -100, input gradient (x - t)/max(x(1 - x), 1e-12)
    against_torch(lambda a: NF.binary_cross_entropy(a, np.array([1.0, 0.0, 0.5, 0.0]), reduction=reduction),
                  lambda a: F.binary_cross_entropy(a, torch.tensor([1.0, 0.0, 0.5, 0.0], dtype=torch.float64), reduction=reduction),
                  [np.array([0.0, 1.0, 1e-300, 0.25])], device, rtol=1e-7)


@pytest.mark.parametrize("reduction", ("batchmean", "mean", "sum", "none"))
def test_kl_div_with_zero_target_probabilities(device, reduction):
    rng = np.random.default_rng(4)
    target = np.where(rng.random((4, 3)) < 0.3, 0.0, rng.random((4, 3)))
    log_q = np.log(rng.random((4, 3)))
    against_torch(lambda a: NF.kl_div(a, target, reduction), lambda a: F.kl_div(a, torch.tensor(target), reduction=reduction), [log_q], device)


@pytest.mark.parametrize("reduction", REDUCTION_MODES)
@pytest.mark.parametrize("weighted", (False, True))
@pytest.mark.parametrize("smoothing", (0.0, 0.2))
def test_class_index_losses_with_weights_ignored_samples_and_smoothing(device, reduction, weighted, smoothing):
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((5, 4)), np.array([0, 3, 3, 1, 2])
    weight = np.array([1.0, 2.0, 0.5, 3.0]) if weighted else None
    theirs_weight = None if weight is None else torch.tensor(weight)
    for ignore in (-100, 3):
        against_torch(lambda a: NF.cross_entropy(a, labels, weight, ignore, reduction, smoothing),
                      lambda a: F.cross_entropy(a, torch.tensor(labels), theirs_weight, ignore_index=ignore, reduction=reduction, label_smoothing=smoothing),
                      [logits], device)
        spatial = np.stack([labels, labels[::-1]])  # (N, d) targets for (N, C, d) logits
        against_torch(lambda a: NF.cross_entropy(a, spatial, weight, ignore, reduction, smoothing),
                      lambda a: F.cross_entropy(a, torch.tensor(spatial), theirs_weight, ignore_index=ignore, reduction=reduction, label_smoothing=smoothing),
                      [rng.standard_normal((2, 4, 5))], device)
        if smoothing == 0.0:
            against_torch(lambda a: NF.nll_loss(a, labels, weight, ignore, reduction),
                          lambda a: F.nll_loss(a, torch.tensor(labels), theirs_weight, ignore_index=ignore, reduction=reduction), [logits], device)
    against_torch(lambda a, b: NF.cross_entropy(a, b, weight, reduction=reduction, label_smoothing=smoothing),
                  lambda a, b: F.cross_entropy(a, b, theirs_weight, reduction=reduction, label_smoothing=smoothing),
                  [logits, rng.random((5, 4))], device)


def test_cross_entropy_edge_samples(device):
    logits = np.array([[-INF, 0.0, 1.0, 2.0], [0.0, -INF, 1.0, 2.0]])
    against_torch(lambda a: NF.cross_entropy(a, np.array([1, 0])), lambda a: F.cross_entropy(a, torch.tensor([1, 0])), [logits], device)
    finite = np.array([[0.5, 0.0, 1.0, 2.0], [0.0, -1.0, 1.0, 2.0]])
    # every sample ignored: a NaN mean, zero gradients (as PyTorch); a negative ignore_index
    against_torch(lambda a: NF.cross_entropy(a, np.array([1, 1]), np.array([1.0, 2.0, 3.0, 4.0]), 1),
                  lambda a: F.cross_entropy(a, torch.tensor([1, 1]), torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64), ignore_index=1), [finite], device)
    against_torch(lambda a: NF.cross_entropy(a, np.array([-1, 0]), ignore_index=-1),
                  lambda a: F.cross_entropy(a, torch.tensor([-1, 0]), ignore_index=-1), [finite], device)
    against_torch(lambda a: NF.cross_entropy(a, np.array(2), reduction="none"),
                  lambda a: F.cross_entropy(a, torch.tensor(2), reduction="none"), [finite[0]], device)


# --- shape, indexing, linear algebra, padding -----------------------------------------------------------
SHAPE_OPS = [
    (lambda x: x.permute(-1, 0, -2), lambda t: t.permute(-1, 0, -2)), (lambda x: x.transpose(-1, 0), lambda t: t.transpose(-1, 0)),
    (lambda x: x[:, :1].squeeze(1), lambda t: t[:, :1].squeeze(1)), (lambda x: x.squeeze(0), lambda t: t.squeeze(0)),
    (lambda x: x[:, :1].expand(3, 2, -1, 4), lambda t: t[:, :1].expand(3, 2, -1, 4)), (lambda x: x.flip(), lambda t: t.flip((0, 1, 2))),
    (lambda x: x.flip((0, -1)), lambda t: t.flip((0, -1))), (lambda x: x.tile((2, 1, 1, 2)), lambda t: t.tile((2, 1, 1, 2))),
    (lambda x: x.repeat_interleave(2, axis=-1), lambda t: t.repeat_interleave(2, dim=-1)), (lambda x: x.repeat_interleave(3), lambda t: t.repeat_interleave(3)),
    (lambda x: x.repeat_interleave(0, axis=1), lambda t: t.repeat_interleave(0, dim=1)), (lambda x: x.roll(5), lambda t: t.roll(5)),
    (lambda x: x.roll((1, -7), (0, 2)), lambda t: t.roll((1, -7), (0, 2))), (lambda x: x.unsqueeze(-2), lambda t: t.unsqueeze(-2)),
    (lambda x: nk.cat([p * (i + 1) for i, p in enumerate(x.split(3, axis=-1))], -1),
     lambda t: torch.cat([p * (i + 1) for i, p in enumerate(t.split(3, dim=-1))], -1)),
    (lambda x: nk.cat([p * i for i, p in enumerate(x.split([1, 0, 2], axis=1))], 1),
     lambda t: torch.cat([p * i for i, p in enumerate(t.split([1, 0, 2], dim=1))], 1)),
    (lambda x: nk.stack([x, x * 2.0], -2), lambda t: torch.stack([t, t * 2.0], -2)), (lambda x: x.flatten(0), lambda t: t.flatten()),
    (lambda x: x.gather(-1, nk.from_ndarray(np.array([[[0, 3], [1, 1], [2, 0]]] * 2), device=x.device)),
     lambda t: t.gather(-1, torch.tensor([[[0, 3], [1, 1], [2, 0]]] * 2))),
    (lambda x: x.index_select(-1, nk.from_ndarray(np.array([3, 3, 0]), device=x.device)), lambda t: t.index_select(-1, torch.tensor([3, 3, 0]))),
    (lambda x: x[[1, 1, 0], -1], lambda t: t[[1, 1, 0], -1]), (lambda x: x[..., [0, 0, 3]], lambda t: t[..., [0, 0, 3]]),
    (lambda x: x[None, :, 1:, ::2], lambda t: t[None, :, 1:, ::2]),
]


@pytest.mark.parametrize("case", range(len(SHAPE_OPS)))
def test_shape_and_indexing_ops_with_negative_axes_and_repeats(device, case):
    ours, theirs = SHAPE_OPS[case]
    against_torch(ours, theirs, [np.random.default_rng(6).standard_normal((2, 3, 4))], device)


def test_negative_slice_steps_and_transposed_inputs_from_numpy(device):
    # PyTorch has no negative steps: the reference is the flipped tensor sliced with a positive step
    base = np.random.default_rng(7).standard_normal((4, 6))
    against_torch(lambda x: x[::-1, 1::-2], lambda t: t.flip(0)[:, :2].flip(1)[:, ::2], [base], device)
    for view in (base.T, base[::-1, ::-2], np.asfortranarray(base)):  # non-contiguous, negative strides
        x = nk.from_ndarray(view, device=device).requires_grad()
        t = torch.tensor(view.copy(), requires_grad=True)
        y, expected = (x.exp() * x).sum(axis=0), (t.exp() * t).sum(0)
        np.testing.assert_allclose(y.forward().numpy(), expected.detach().numpy(), rtol=1e-12)
        y.backward(np.arange(1.0, y.shape[0] + 1.0))
        expected.backward(torch.arange(1.0, y.shape[0] + 1.0, dtype=torch.float64))
        np.testing.assert_allclose(host(x.grad), t.grad.numpy(), rtol=1e-12)


def test_matmul_einsum_and_tensordot_broadcasting(device):
    rng = np.random.default_rng(8)
    cases = [
        (lambda a, b: a @ b, lambda a, b: a @ b, [rng.random((2, 1, 3, 4)), rng.random((5, 4, 2))]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [rng.random(4), rng.random((2, 4, 3))]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [rng.random((2, 3, 4)), rng.random(4)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [rng.random((2, 0)), rng.random((0, 3))]),
        (lambda a, b: nk.tensordot(a, b, axes=([0, 2], [2, 0])), lambda a, b: torch.tensordot(a, b, dims=([0, 2], [2, 0])),
         [rng.random((2, 3, 4)), rng.random((4, 5, 2))]),
        (lambda a: nk.einsum("iij->j", a), lambda a: torch.einsum("iij->j", a), [rng.random((3, 3, 2))]),
        (lambda a, b: nk.einsum("...ij,...jk", a, b), lambda a, b: torch.einsum("...ij,...jk", a, b), [rng.random((2, 1, 3, 4)), rng.random((5, 4, 2))]),
        (lambda a, b: nk.einsum("ij,ij->i", a, b), lambda a, b: torch.einsum("ij,ij->i", a, b), [rng.random((3, 1)), rng.random((3, 4))]),
    ]
    for ours, theirs, arrays in cases:
        against_torch(ours, theirs, arrays, device)


def test_padding_modes_against_pytorch(device):
    x = np.random.default_rng(9).standard_normal((2, 3, 4))
    against_torch(lambda a: nk.pad(a, ((0, 0), (1, 2), (2, 1)), "reflective"), lambda t: F.pad(t, (2, 1, 1, 2), mode="reflect"), [x], device)
    against_torch(lambda a: nk.pad(a, ((0, 0), (2, 2), (3, 1)), "replicative"), lambda t: F.pad(t, (3, 1, 2, 2), mode="replicate"), [x], device)
    against_torch(lambda a: NF.pad(a, (1, 2, 2, 0), mode="reflect"), lambda t: F.pad(t, (1, 2, 2, 0), mode="reflect"), [x], device)
    against_torch(lambda a: NF.pad(a, (3, 0), value=2.5), lambda t: F.pad(t, (3, 0), value=2.5), [x], device)
