"""Differential tests against PyTorch (CPU, float64 unless the dtype is the point): the regressions of the bugs the differential sweep found
(each failed before its fix) and the differences docs/ops.md, docs/nn.md and docs/optim.md state
on purpose, each tested as documented.
Values and the gradients of every input (with a random cotangent) are compared by
``torch_compare.against_torch``; layers copy PyTorch's state dict in
(``module_against_torch``). The sweep itself: ``test_differential_ops.py`` and
``test_differential_layers.py``."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim
from neuronika.autograd import compiled
from neuronika.nn import functional as NF

from torch_compare import against_torch, host, module_against_torch

torch = pytest.importorskip("torch")
F = torch.nn.functional
T = torch.nn
INF = np.inf


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


def test_softplus_threshold_is_honoured(device):
    # threshold was accepted and ignored: Softplus(threshold=1)(2.0) gave 2.127, PyTorch 2.0
    x = np.array([[-3.0, 0.0, 0.5, 1.0, 2.0, 30.0]])
    for threshold in (1.0, 20.0):
        module_against_torch(nn.Softplus(threshold=threshold), T.Softplus(threshold=threshold), [x], device)
    against_torch(lambda a: NF.softplus(a, threshold=0.5), lambda t: F.softplus(t, threshold=0.5), [x], device)


# --- differences the docs state on purpose, tested as documented ---------------------------------------------
def test_documented_l2_penalty_is_half_of_pytorchs_weight_decay(device):
    # docs/optim.md: L2(λ) adds 2λw, PyTorch's weight_decay=2λ
    start = np.array([1.0, -2.0])
    param = nk.from_ndarray(start, device=device).requires_grad()
    (param * 0.0).sum().backward()
    optim.SGD([param], lr=0.1, penalty=optim.L2(0.5)).step()
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
