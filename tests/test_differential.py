"""Differential tests against PyTorch (CPU, float64 unless the dtype is the point): the edge
cases where a framework gives silently wrong numbers — ties, zeros, infinities, size-1 and
size-0 axes, negative axes, broadcasting both ways, every reduction mode of the losses, layers
in training and evaluation with a batch of 1, optimizers with all their options — plus the
regressions of the bugs this sweep found, and the differences docs/ops.md, docs/nn.md and
docs/optim.md state on purpose (each tested as documented).

Values and the gradients of every input (with a random cotangent) are compared by
``torch_compare.against_torch``; layers copy PyTorch's state dict in. Every comparison that
replays a graph also checks that the replay compiler gives the interpreter's bits."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim
from neuronika.autograd import compiled
from neuronika.nn import functional as NF

from torch_compare import against_torch

torch = pytest.importorskip("torch")
F = torch.nn.functional
INF, NAN = np.inf, np.nan


def host(array) -> np.ndarray:
    return np.asarray(nk.backends.to_host(array))


# --- regressions: bugs found by this sweep --------------------------------------------------------
def test_std_of_a_constant_slice_has_a_zero_gradient(device):
    # was NaN everywhere (0/0); PyTorch masks the zero std: 0
    rows = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    against_torch(lambda x: x.std(axis=1), lambda x: x.std(1), [rows], device)
    against_torch(lambda x: x.std(axis=1, correction=0, keepdims=True), lambda x: x.std(1, correction=0, keepdim=True), [rows], device)


def test_pow_zero_has_a_zero_gradient_even_at_zero(device):
    # was 0·x⁻¹ = NaN at x = 0; PyTorch (and calculus: x⁰ is constant) gives 0
    values = np.array([0.0, -0.0, 1.5, -2.0, INF])
    against_torch(lambda x: x.pow(0), lambda x: x.pow(0), [values], device)
    against_torch(lambda x: x ** 0.0, lambda x: x ** 0.0, [values], device)


def _half(device: str) -> None:
    if "float16" not in nk.backends.get(device)._xp_dtypes:
        pytest.skip(f"{device} has no float16")


def test_float16_sums_and_means_accumulate_in_float32(device):
    _half(device)
    # a float16 accumulator overflowed (mean of 10000 tens: inf) and stalled along a strided
    # axis (4000 values 10.5: 32768 instead of 41984, a mean of 8.2 instead of 10.5)
    tens = np.full(10000, 10.0, dtype=np.float16)
    column = np.full((4000, 2), 10.5, dtype=np.float16)
    cases = [
        (tens, lambda x: x.mean(), lambda t: t.mean()),
        (column, lambda x: x.mean(axis=0), lambda t: t.mean(0)),
        (column, lambda x: x.sum(axis=0), lambda t: t.sum(0)),
        (column, lambda x: x.sum(axis=(0, 1), keepdims=True), lambda t: t.sum((0, 1), keepdim=True)),
        (column, lambda x: x.cumsum(0), lambda t: t.cumsum(0)),
        (column, lambda x: x.var(axis=0), lambda t: t.var(0)),
        (column + np.arange(2, dtype=np.float16), lambda x: x.std(), lambda t: t.std()),
    ]
    for array, ours, theirs in cases:
        got = ours(nk.from_ndarray(array, device=device)).forward()
        expected = theirs(torch.tensor(array)).numpy()
        assert got.dtype == nk.float16
        np.testing.assert_allclose(got.numpy().astype(np.float64), expected.astype(np.float64), rtol=2e-3, atol=1e-3)


def test_float16_norm_squares_in_float32(device):
    _half(device)
    # 300² overflows float16: the norm of four 300s was inf, PyTorch gives 600
    x = nk.from_ndarray(np.full(4, 300.0, dtype=np.float16), device=device).requires_grad()
    y = x.norm()
    assert y.forward().item() == 600.0 and y.dtype == nk.float16
    y.backward()
    np.testing.assert_allclose(host(x.grad).astype(np.float64), np.full(4, 0.5), rtol=1e-3)


def test_float16_normalization_and_softmax_accumulate_in_float32(device):
    _half(device)
    rng = np.random.default_rng(20)
    # 3000 values near 100: a float16 mean overflowed (inf, NaN out); 70000 equal logits: the sum
    # of exponentials overflowed and softmax gave 0 instead of 1/70000
    wide = (rng.standard_normal((2, 3000)) * 3 + 100).astype(np.float16)
    logits = np.zeros((1, 70000), dtype=np.float16)
    cases = [
        (wide, lambda x: nn.LayerNorm(3000, elementwise_affine=False, dtype="float16").to(device)(x), lambda t: F.layer_norm(t, (3000,))),
        (wide.reshape(2, 3, 1000), lambda x: nn.GroupNorm(1, 3, affine=False, dtype="float16").to(device)(x), lambda t: F.group_norm(t, 1)),
        (wide.T.copy(), lambda x: nn.BatchNorm1d(2, affine=False, dtype="float16").to(device)(x), lambda t: F.batch_norm(t, None, None, training=True)),
        (logits, lambda x: x.softmax(axis=1), lambda t: F.softmax(t, 1)),
        (logits, lambda x: x.log_softmax(axis=-1), lambda t: F.log_softmax(t, -1)),
    ]
    for array, ours, theirs in cases:  # the reference: PyTorch's function of the same values in float64
        x = nk.from_ndarray(array, device=device).requires_grad()
        t = torch.tensor(array.astype(np.float64), requires_grad=True)
        y, expected = ours(x), theirs(t)
        got = y.forward().numpy()
        assert got.dtype == np.float16 and np.all(np.isfinite(got))
        np.testing.assert_allclose(got.astype(np.float64), expected.detach().numpy(), rtol=2e-3, atol=2e-3)
        cotangent = rng.standard_normal(array.shape).astype(np.float16)
        y.backward(cotangent)
        expected.backward(torch.tensor(cotangent.astype(np.float64)))
        np.testing.assert_allclose(host(x.grad).astype(np.float64), t.grad.numpy(), rtol=1e-2, atol=1e-2)


def test_clip_grad_norm_of_float16_gradients_measures_in_float32(device):
    _half(device)
    # gradients of 300: their float16 squares overflowed, the norm came out inf and every
    # gradient was multiplied by max_norm/inf = 0 (PyTorch: norm 600, gradients 0.5)
    for norm_type, expected in ((2.0, 600.0), (3.0, 300.0 * 4 ** (1 / 3)), (1.0, 1200.0)):
        w = nk.from_ndarray(np.ones(4, dtype=np.float16), device=device).requires_grad()
        (w * nk.from_ndarray(np.full(4, 300.0, dtype=np.float16), device=device)).sum().backward()
        t = torch.ones(4, dtype=torch.float16, requires_grad=True)
        (t * 300.0).sum().backward()
        total = nn.utils.clip_grad_norm_([w], 1.0, norm_type=norm_type)
        theirs = torch.nn.utils.clip_grad_norm_([t], 1.0, norm_type=norm_type)
        assert total == pytest.approx(expected, rel=1e-6) and theirs.item() == pytest.approx(expected, rel=1e-3)
        np.testing.assert_allclose(host(w.grad).astype(np.float64), t.grad.double().numpy(), rtol=1e-3)


def test_float16_arithmetic_refuses_numbers_float16_cannot_hold(device):
    _half(device)
    # x / 70000 made the constant inf: the quotient and its gradient were silently 0 (PyTorch
    # computes with the number in float32: 1.43e-05); 1e-9 became 0 the same way
    x = nk.from_ndarray(np.ones(3, dtype=np.float16), device=device).requires_grad()
    for build in (lambda: x / 70000, lambda: x * 1e-9, lambda: 1e9 + x, lambda: 7e4 - x, lambda: x * np.float64(-1e6)):
        with pytest.raises(TypeError, match="does not fit the float16 variable's dtype"):
            build()
    # numbers float16 holds still work, as before: ±inf and 0 too
    y = (x / 7000.0 + x * 1e-5 - 65504.0 * x * 0.0) * float("inf")
    assert np.isinf(y.forward().numpy()).all()
    (x / 1000 / 70).sum().backward()
    np.testing.assert_allclose(host(x.grad).astype(np.float64), np.full(3, 1 / 70000), rtol=2e-3)


def test_float16_reductions_replay_bit_identically_when_compiled(device):
    _half(device)
    # the replay compiler inlines plain sums as one xp.sum call; a float16 sum is its own class
    # so that a replayed graph accumulates in float32 too
    values = (np.random.default_rng(0).standard_normal((300, 3)) * 20).astype(np.float16)
    results = []
    for enabled in (False, True):
        old = compiled.set_enabled(enabled)
        try:
            x = nk.from_ndarray(values, device=device).requires_grad()
            root = (x * x).sum(axis=0).sum()
            for _ in range(3):  # the second forward compiles, the third replays the plan
                root.forward()
                x.zero_grad()
                root.backward()
            results.append((root.numpy().copy(), host(x.grad).copy()))
        finally:
            compiled.set_enabled(old)
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])
    assert results[0][0] == np.float16(np.sum(values.astype(np.float32) ** 2))


def test_bool_and_int32_sums_replay_when_compiled(device):
    # the compiler inlined every sum without its int64 conversion: a replayed bool sum raised on
    # array_api_strict ("Only numeric dtypes are allowed in sum")
    rng = np.random.default_rng(1)
    masks = [rng.random((3, 4)) > 0.5 for _ in range(3)]
    counts = [rng.integers(-5, 5, (3, 4)).astype(np.int32) for _ in range(3)]
    for arrays in (masks, counts):
        x = nk.from_ndarray(arrays[0], device=device)
        total = x.sum(axis=1)
        for array in arrays:
            x.assign(array)
            got = total.forward().numpy()
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, array.sum(axis=1))


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


# --- layers: PyTorch's state dict copied in, training and evaluation --------------------------------------
def module_against_torch(ours, theirs, arrays, device, train=True, steps=1, call=None, rtol=1e-9, atol=1e-11) -> None:
    """``ours`` (float64) with ``theirs``' state dict agrees in output, input and parameter
    gradients and buffers (running statistics) after each of ``steps`` forward/backward passes.
    ``call(module, *inputs)`` adapts the calling conventions (default: ``module(*inputs)``)."""
    theirs = theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    ours.train() if train else ours.eval()
    theirs.train(train)
    call = call or (lambda module, *inputs: module(*inputs))
    for step in range(steps):
        leaves = [nk.from_ndarray(a, device=device).requires_grad() if a.dtype.kind == "f" else nk.from_ndarray(a, device=device) for a in arrays]
        tensors = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out, expected = call(ours, *leaves).forward(), call(theirs, *tensors)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"value, step {step}")
        cotangent = np.random.default_rng(step).standard_normal(expected.shape)
        ours.zero_grad()
        theirs.zero_grad()
        out.backward(cotangent)
        expected.backward(torch.tensor(cotangent))
        for position, (leaf, tensor) in enumerate(zip(leaves, tensors)):
            if tensor.requires_grad:
                np.testing.assert_allclose(host(leaf.grad), tensor.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {position}")
        reference = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            expected_grad = reference[name].grad
            np.testing.assert_allclose(host(param.grad), 0.0 if expected_grad is None else expected_grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
        state = ours.state_dict()
        for name, buffer in theirs.named_buffers():
            np.testing.assert_allclose(host(state[name]), buffer.numpy(), rtol=rtol, atol=atol, err_msg=name)


T = torch.nn


@pytest.mark.parametrize("train", (True, False))
@pytest.mark.parametrize("momentum", (0.1, None, 1.0))
def test_batch_norm_running_statistics_with_a_batch_of_one(device, train, momentum):
    rng = np.random.default_rng(10)
    module_against_torch(nn.BatchNorm2d(3, momentum=momentum, dtype="float64"), T.BatchNorm2d(3, momentum=momentum),
                         [rng.standard_normal((1, 3, 2, 2))], device, train, steps=3)
    module_against_torch(nn.BatchNorm1d(2, momentum=momentum, dtype="float64"), T.BatchNorm1d(2, momentum=momentum),
                         [np.ones((4, 2))], device, train, steps=2)  # a constant batch: variance 0


def test_normalization_layers_without_affine_or_tracking(device):
    rng = np.random.default_rng(11)
    for train in (True, False):
        module_against_torch(nn.BatchNorm3d(2, affine=False, dtype="float64"), T.BatchNorm3d(2, affine=False),
                             [rng.standard_normal((2, 2, 2, 1, 2))], device, train, steps=2)
        module_against_torch(nn.BatchNorm1d(3, track_running_stats=False, dtype="float64"), T.BatchNorm1d(3, track_running_stats=False),
                             [rng.standard_normal((4, 3, 5))], device, train, steps=2)
    module_against_torch(nn.LayerNorm((3, 4), dtype="float64"), T.LayerNorm((3, 4)), [rng.standard_normal((2, 3, 4))], device)
    module_against_torch(nn.LayerNorm(4, elementwise_affine=False, dtype="float64"), T.LayerNorm(4, elementwise_affine=False), [np.ones((2, 4))], device)
    module_against_torch(nn.GroupNorm(2, 4, dtype="float64"), T.GroupNorm(2, 4), [rng.standard_normal((2, 4, 3))], device)
    module_against_torch(nn.GroupNorm(4, 4, dtype="float64"), T.GroupNorm(4, 4), [rng.standard_normal((2, 4))], device)


def test_embedding_padding_index_gets_no_gradient(device):
    tokens = np.array([[0, 2, 2], [1, 0, 3]])
    for padding in (None, 2, -1):
        module_against_torch(nn.Embedding(4, 3, padding_idx=padding, dtype="float64"), T.Embedding(4, 3, padding_idx=padding), [tokens], device)


POOLS = [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 3, 0, 1, False), (3, 1, 1, 2, False), (4, 3, 2, 1, True)]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil", POOLS)
def test_pooling_stride_above_kernel_dilation_and_ceil_mode(device, kernel, stride, padding, dilation, ceil):
    x = np.random.default_rng(12).standard_normal((2, 2, 7, 6))
    module_against_torch(nn.MaxPool2d(kernel, stride, padding, dilation, ceil), T.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil), [x], device)
    if dilation == 1:
        for include in (True, False):
            module_against_torch(nn.AvgPool2d(kernel, stride, padding, ceil, include), T.AvgPool2d(kernel, stride, padding, ceil, include), [x], device)


def test_max_pooling_ties_and_adaptive_pooling(device):
    rng = np.random.default_rng(13)
    module_against_torch(nn.MaxPool2d(2), T.MaxPool2d(2), [np.ones((1, 1, 4, 4))], device)
    module_against_torch(nn.MaxPool2d(3, 1), T.MaxPool2d(3, 1), [np.round(rng.random((1, 1, 5, 5)))], device)
    module_against_torch(nn.MaxPool1d(3, 2, 1, ceil_mode=True), T.MaxPool1d(3, 2, 1, ceil_mode=True), [rng.standard_normal((2, 3, 8))], device)
    x = rng.standard_normal((1, 2, 7, 6))
    for size in (1, (2, 4), (5, 3), (None, 2)):
        module_against_torch(nn.AdaptiveAvgPool2d(size), T.AdaptiveAvgPool2d(size), [x], device)
        module_against_torch(nn.AdaptiveMaxPool2d(size), T.AdaptiveMaxPool2d(size), [x], device)
    module_against_torch(nn.AdaptiveAvgPool1d(9), T.AdaptiveAvgPool1d(9), [rng.standard_normal((2, 3, 7))], device)


@pytest.mark.parametrize("kernel, stride, padding, dilation, groups, mode", [
    (2, 3, 0, 1, 1, "zeros"), (3, 2, 1, 2, 1, "zeros"), (3, 1, 2, 1, 2, "zeros"), (3, 1, 1, 1, 1, "reflect"), (3, 2, 2, 1, 1, "replicate"),
])
def test_convolution_edge_parameters(device, kernel, stride, padding, dilation, groups, mode):
    ours_mode = {"zeros": "zero", "reflect": "reflective", "replicate": "replicative"}[mode]
    x = np.random.default_rng(14).standard_normal((2, 4, 7, 6))
    module_against_torch(nn.Conv2d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=ours_mode, dtype="float64"),
                         T.Conv2d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode), [x], device)
    module_against_torch(nn.Conv1d(4, 2, kernel, stride=stride, padding=padding, dilation=dilation, padding_mode=ours_mode, dtype="float64"),
                         T.Conv1d(4, 2, kernel, stride=stride, padding=padding, dilation=dilation, padding_mode=mode), [x[:, :, 0]], device)


def _output(module, *inputs):
    out = module(*inputs)
    return out[0] if isinstance(out, tuple) else out


def _last_state(module, *inputs):
    state = module(*inputs)[1]
    return state[0] if isinstance(state, tuple) else state


@pytest.mark.parametrize("kind", ("RNN", "LSTM", "GRU"))
@pytest.mark.parametrize("options", ({"num_layers": 2, "bidirectional": True, "batch_first": True}, {"bias": False, "bidirectional": True}))
def test_recurrent_layers_stacked_and_bidirectional(device, kind, options):
    x = np.random.default_rng(15).standard_normal((2, 4, 3))
    for call in (_output, _last_state):
        module_against_torch(getattr(nn, kind)(3, 5, dtype="float64", **options), getattr(T, kind)(3, 5, **options), [x], device, call=call)


def test_recurrent_cells_and_initial_states(device):
    rng = np.random.default_rng(16)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    # neuronika's (crate's) order: cell((c, h), x) → (c', h'); PyTorch's: cell(x, (h, c)) → (h', c')
    module_against_torch(nn.LSTMCell(3, 4, dtype="float64"), T.LSTMCell(3, 4), [x, h, c], device,
                         call=lambda m, x, h, c: m((c, h), x)[1] if isinstance(m, nn.Module) else m(x, (h, c))[0])
    module_against_torch(nn.GRUCell(3, 4, dtype="float64"), T.GRUCell(3, 4), [x, h], device,
                         call=lambda m, x, h: m(h, x) if isinstance(m, nn.Module) else m(x, h))
    sequence, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 2, 5))
    module_against_torch(nn.GRU(3, 5, num_layers=2, dtype="float64"), T.GRU(3, 5, num_layers=2), [sequence, h0], device, call=_output)


def test_attention_with_masks_and_weights(device):
    rng = np.random.default_rng(17)
    q = rng.standard_normal((2, 3, 8))
    padding, causal = np.array([[False, False, True], [False, False, False]]), np.triu(np.ones((3, 3), bool), 1)
    for ours_call, theirs_call in [
        (lambda m, a: m(a, a, a, key_padding_mask=padding)[0], lambda m, a: m(a, a, a, key_padding_mask=torch.tensor(padding))[0]),
        (lambda m, a: m(a, a, a, attn_mask=causal)[0], lambda m, a: m(a, a, a, attn_mask=torch.tensor(causal))[0]),
        (lambda m, a: m(a, a, a, average_attn_weights=False)[1], lambda m, a: m(a, a, a, average_attn_weights=False)[1]),
    ]:
        module_against_torch(nn.MultiheadAttention(8, 2, batch_first=True, dtype="float64"), T.MultiheadAttention(8, 2, batch_first=True), [q], device,
                             call=lambda m, a: (ours_call if isinstance(m, nn.Module) else theirs_call)(m, a))
    module_against_torch(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True, dtype="float64"),
                         T.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True), [q], device)


def test_softplus_threshold_is_honoured(device):
    # threshold was accepted and ignored: Softplus(threshold=1)(2.0) gave 2.127, PyTorch 2.0
    x = np.array([[-3.0, 0.0, 0.5, 1.0, 2.0, 30.0]])
    for threshold in (1.0, 20.0):
        module_against_torch(nn.Softplus(threshold=threshold), T.Softplus(threshold=threshold), [x], device)
    against_torch(lambda a: NF.softplus(a, threshold=0.5), lambda t: F.softplus(t, threshold=0.5), [x], device)


# --- optimizers and schedulers: several steps against torch.optim ----------------------------------------
L2 = optim.L2
OPTIMIZERS = {
    "sgd_nesterov_decay": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, penalty=L2(0.005)),
                           lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3)),
    "adam_decay": (lambda p: optim.Adam(p, lr=0.01, betas=(0.5, 0.6), eps=1e-3, penalty=L2(0.05)),
                   lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.1)),
    "amsgrad_decay": (lambda p: optim.AMSGrad(p, lr=0.01, penalty=L2(0.05)), lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
    "adamw_amsgrad": (lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=True), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=True)),
    "adagrad_decay": (lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.5, eps=1e-3, penalty=L2(0.05)),
                      lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.5, eps=1e-3, weight_decay=0.1)),
    "rmsprop_all": (lambda p: optim.RMSProp(p, lr=0.01, alpha=0.5, momentum=0.9, centered=True, eps=1e-2, penalty=L2(0.1)),
                    lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.5, momentum=0.9, centered=True, eps=1e-2, weight_decay=0.2)),
}
SCHEDULERS = {
    "none": (None, None),
    "onecycle": (lambda o: optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=12, three_phase=True, anneal_strategy="linear"),
                 lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=12, three_phase=True, anneal_strategy="linear")),
    "sequential": (lambda o: optim.lr_scheduler.SequentialLR(o, [optim.lr_scheduler.LinearLR(o, 0.1, total_iters=3), optim.lr_scheduler.CosineAnnealingLR(o, 4, 0.01)], [3]),
                   lambda o: torch.optim.lr_scheduler.SequentialLR(o, [torch.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=3), torch.optim.lr_scheduler.CosineAnnealingLR(o, 4, 0.01)], [3])),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("schedule", sorted(SCHEDULERS))
def test_optimizer_steps_with_every_option_match_torch_optim(device, name, schedule):
    if schedule == "onecycle" and name.startswith("adagrad"):
        pytest.skip("OneCycleLR cycles a momentum Adagrad lacks")
    ours_factory, theirs_factory = OPTIMIZERS[name]
    ours_schedule, theirs_schedule = SCHEDULERS[schedule]
    rng = np.random.default_rng(18)
    start = rng.standard_normal((3, 2))
    # gradients over six orders of magnitude, and one step with a zero gradient
    grads = [rng.standard_normal((3, 2)) * 10.0 ** rng.integers(-3, 3) for _ in range(8)]
    grads[2] = np.zeros((3, 2))
    param = nk.from_ndarray(start, device=device).requires_grad()
    tensor = torch.tensor(start, requires_grad=True)
    ours, theirs = ours_factory([param]), theirs_factory([tensor])
    ours_lr = ours_schedule(ours) if ours_schedule else None
    theirs_lr = theirs_schedule(theirs) if theirs_schedule else None
    for grad in grads:
        (param * nk.from_ndarray(grad, device=device)).sum().backward()
        tensor.grad = torch.tensor(grad)
        ours.step()
        theirs.step()
        ours.zero_grad()
        if ours_lr:
            ours_lr.step()
            theirs_lr.step()
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12)
        np.testing.assert_allclose(host(param.data), tensor.detach().numpy(), rtol=1e-10, atol=1e-12)


# --- differences the docs state on purpose, tested as documented ---------------------------------------------
def test_documented_l2_penalty_is_half_of_pytorchs_weight_decay(device):
    # docs/optim.md: L2(λ) adds 2λw, PyTorch's weight_decay=2λ
    start = np.array([1.0, -2.0])
    param = nk.from_ndarray(start, device=device).requires_grad()
    (param * 0.0).sum().backward()
    optim.SGD([param], lr=0.1, penalty=L2(0.5)).step()
    np.testing.assert_allclose(host(param.data), start - 0.1 * 2 * 0.5 * start)


def test_documented_flatten_keeps_the_batch_axis_by_default(device):
    # Var.flatten(start_axis=1), the crate's (and nn.Flatten's) default; torch.flatten's is 0
    x = nk.zeros((2, 3, 4), device=device)
    assert x.flatten().shape == (2, 12) == tuple(T.Flatten()(torch.zeros(2, 3, 4)).shape)
    assert x.flatten(0).shape == tuple(torch.zeros(2, 3, 4).flatten().shape) == (24,)


def test_documented_hardsigmoid_uses_a_sixth_of_the_variables_dtype(device):
    # PyTorch's float64 backward multiplies by 1/6 rounded to float32
    x = nk.from_ndarray(np.array([0.5, -1.0, 4.0]), device=device).requires_grad()
    x.hardsigmoid().sum().backward()
    assert host(x.grad).tolist() == [1.0 / 6.0, 1.0 / 6.0, 0.0]


def test_documented_loss_target_gradients_stay_finite_where_pytorch_is_infinite_or_nan(device):
    # docs/nn.md: bce_loss's target gradient is the derivative of the clamped logs; kldiv_loss's
    # is -x·g where the target is 0 (PyTorch: ±inf and NaN there)
    x = nk.from_ndarray(np.array([0.0, 1.0, 0.5]), device=device)
    t = nk.from_ndarray(np.array([1.0, 0.0, 0.5]), device=device).requires_grad()
    nn.loss.bce_loss(x, t, "sum").backward()
    np.testing.assert_allclose(host(t.grad), [100.0, -100.0, 0.0], atol=1e-12)
    log_q = nk.from_ndarray(np.array([[-1.0, -2.0]]), device=device)
    p = nk.from_ndarray(np.array([[0.0, 0.5]]), device=device).requires_grad()
    nn.loss.kldiv_loss(log_q, p, "sum").backward()
    np.testing.assert_allclose(host(p.grad), [[1.0, np.log(0.5) + 1.0 + 2.0]])


def test_documented_sigmoid_tail_is_accurate_to_one_unit_of_one(device):
    # docs/ops.md: σ through tanh is exact to half an ulp of 1 (absolute), so far-negative inputs
    # lose relative accuracy (σ(-40) is 0 in float64; PyTorch: 4.2e-18); log_sigmoid stays exact
    x = nk.from_ndarray(np.array([-40.0, -20.0, 0.0, 20.0]), device=device)
    points = np.array([-40.0, -20.0, 0.0, 20.0])
    got = x.sigmoid().forward().numpy()
    assert np.all(np.abs(got - 1.0 / (1.0 + np.exp(-points))) <= np.finfo(np.float64).eps)
    assert got[0] == 0.0 and torch.sigmoid(torch.tensor(-40.0, dtype=torch.float64)).item() > 0.0
    np.testing.assert_allclose(x.log_sigmoid().forward().numpy(), -np.log1p(np.exp(-points)), rtol=1e-14)
