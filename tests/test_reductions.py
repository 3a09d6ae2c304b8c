"""Reductions of issue 13 §3: max/min (amax/amin), argmax/argmin, prod, var/std, logsumexp,
norm, cumsum: values and gradients as PyTorch, gradchecked in float64, build-time errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neuronika as nk
from neuronika.testing import gradcheck

AXES = [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)]


def _compare(device, rng, ours, theirs, base, atol=1e-12):
    """Values and input gradients of ``ours(x)`` and ``theirs(tensor)`` for a random cotangent."""
    torch = pytest.importorskip("torch")
    x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
    out = ours(x)
    tensor = torch.from_numpy(base).requires_grad_()
    expected = theirs(tensor)
    assert out.shape == tuple(expected.shape)
    seed = rng.standard_normal(out.shape)
    out.backward(nk.backends.get(device).asarray(seed) if out.shape else float(seed))
    expected.backward(torch.from_numpy(np.asarray(seed)))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(nk.backends.to_host(x.grad), tensor.grad.numpy(), rtol=1e-10, atol=atol)


def _dims(axis):
    return tuple(range(3)) if axis is None else axis


@pytest.mark.parametrize("axis, keepdims", AXES)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_match_amax_amin_and_split_the_gradient_among_ties(device, rng, name, axis, keepdims):
    base = rng.integers(0, 3, (3, 4, 2)).astype(np.float64)  # small integers: ties in every slice
    torch_name = "amax" if name == "max" else "amin"
    _compare(device, rng, lambda x: getattr(x, name)(axis=axis, keepdims=keepdims),
             lambda t: getattr(t, torch_name)(dim=_dims(axis), keepdim=keepdims), base)


def test_max_min_gradcheck_and_aliases(device, rng):
    base = rng.standard_normal((3, 4))
    assert gradcheck(lambda x: x.max(axis=1) + x.min(axis=1) * 2.0, [base], device=device)
    assert nk.Var.amax is nk.Var.max and nk.Var.amin is nk.Var.min
    tie = nk.from_ndarray([2.0, 2.0, 1.0], device=device).requires_grad()
    tie.max().backward()
    assert nk.backends.to_host(tie.grad).tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_pytorch_and_are_int64(device, rng, name):
    torch = pytest.importorskip("torch")
    base = rng.integers(0, 4, (3, 5)).astype(np.float32)  # ties: the first index wins, as PyTorch
    x = nk.from_ndarray(base, device=device)
    t = torch.from_numpy(base)
    for axis, keepdims in [(None, False), (0, False), (1, True), (-1, False)]:
        ours = getattr(x, name)(axis=axis, keepdims=keepdims)
        assert ours.dtype == nk.int64 and type(ours) is nk.Var
        theirs = getattr(t, name)(dim=axis, keepdim=keepdims) if axis is not None else getattr(t, name)()
        np.testing.assert_array_equal(ours.forward().numpy(), theirs.numpy())
    with pytest.raises(TypeError, match="axis must be an int or None"):
        getattr(x, name)(axis=(0, 1))


@pytest.mark.parametrize("axis, keepdims", AXES)
def test_prod_matches_pytorch(device, rng, axis, keepdims):
    base = rng.uniform(0.5, 1.5, (3, 4, 2))
    _compare(device, rng, lambda x: x.prod(axis=axis, keepdims=keepdims),
             lambda t: t.prod(dim=axis, keepdim=keepdims) if isinstance(axis, int) else _torch_prod(t, axis, keepdims), base)


def _torch_prod(t, axis, keepdims):
    for dim in sorted(_dims(axis), reverse=True):
        t = t.prod(dim=dim, keepdim=keepdims)
    return t


def test_prod_gradient_is_exact_with_zeros(device, rng):
    # row 0: no zero, row 1: one zero, row 2: two zeros
    base = np.array([[2.0, 3.0, 4.0], [2.0, 0.0, 5.0], [0.0, 7.0, 0.0]])
    _compare(device, rng, lambda x: x.prod(axis=1), lambda t: t.prod(dim=1), base)
    x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
    x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(nk.backends.to_host(x.grad), [[12.0, 8.0, 6.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    assert gradcheck(lambda v: v.prod(axis=0), [rng.uniform(0.5, 2, (3, 2))], device=device)


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_match_pytorch_with_correction(device, rng, name, correction):
    base = rng.standard_normal((3, 4, 3))
    for axis, keepdims in AXES:
        _compare(device, rng, lambda x: getattr(x, name)(axis=axis, correction=correction, keepdims=keepdims),
                 lambda t: getattr(t, name)(dim=axis, correction=correction, keepdim=keepdims), base, atol=1e-11)


def test_var_std_gradcheck_default_correction_and_errors(device, rng):
    base = rng.standard_normal((4, 3))
    assert gradcheck(lambda x: x.var(axis=0) + x.std(axis=0), [base], device=device)
    x = nk.from_ndarray(np.array([1.0, 2.0, 3.0, 4.0]), dtype="float64", device=device)
    assert x.var().forward().item() == pytest.approx(5 / 3)  # unbiased by default, as PyTorch
    with pytest.raises(ValueError, match="no degrees of freedom with correction=1"):
        nk.zeros((1, 3), device=device).var(axis=0)
    with pytest.raises(ValueError, match="non-negative number"):
        x.std(correction=-1)


@pytest.mark.parametrize("axis, keepdims", AXES)
def test_logsumexp_matches_pytorch(device, rng, axis, keepdims):
    base = rng.standard_normal((3, 4, 2)) * 3
    _compare(device, rng, lambda x: x.logsumexp(axis=axis, keepdims=keepdims),
             lambda t: t.logsumexp(dim=_dims(axis), keepdim=keepdims), base)


def test_logsumexp_is_stable_at_large_magnitudes(device):
    torch = pytest.importorskip("torch")
    base = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4 + 2.0]], dtype=np.float32)
    x = nk.from_ndarray(base, device=device).requires_grad()
    out = x.logsumexp(axis=1)
    out.sum().backward()
    tensor = torch.from_numpy(base).requires_grad_()
    expected = tensor.logsumexp(dim=1)
    expected.sum().backward()
    values = out.numpy()
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(nk.backends.to_host(x.grad)))
    np.testing.assert_allclose(values, expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(nk.backends.to_host(x.grad), tensor.grad.numpy(), rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():  # ln 0 = -inf is the answer here, not an accident
        warnings.simplefilter("ignore", RuntimeWarning)
        minus_inf = nk.from_ndarray(np.array([-np.inf, -np.inf]), device=device).logsumexp().forward().item()
    assert minus_inf == -np.inf
    assert gradcheck(lambda v: v.logsumexp(axis=1), [base.astype(np.float64) / 1e3], device=device)


@pytest.mark.parametrize("axis, keepdims", AXES)
def test_norm_matches_pytorch_vector_norm(device, rng, axis, keepdims):
    torch = pytest.importorskip("torch")
    base = rng.standard_normal((3, 4, 2))
    _compare(device, rng, lambda x: x.norm(axis=axis, keepdims=keepdims),
             lambda t: torch.linalg.vector_norm(t, ord=2, dim=axis, keepdim=keepdims), base)


def test_norm_gradient_is_zero_at_zero_and_other_orders_raise(device, rng):
    torch = pytest.importorskip("torch")
    base = np.array([[0.0, 0.0], [3.0, 4.0]])
    _compare(device, rng, lambda x: x.norm(axis=1), lambda t: torch.linalg.vector_norm(t, dim=1), base)
    x = nk.from_ndarray(base, dtype="float64", device=device).requires_grad()
    x.norm(axis=1).sum().backward()
    np.testing.assert_allclose(nk.backends.to_host(x.grad), [[0.0, 0.0], [0.6, 0.8]])
    assert gradcheck(lambda v: v.norm(), [rng.standard_normal((2, 3))], device=device)
    with pytest.raises(ValueError, match="only ord=2"):
        x.norm(ord=1)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum_matches_pytorch(device, rng, axis):
    base = rng.standard_normal((3, 4))
    _compare(device, rng, lambda x: x.cumsum(axis), lambda t: t.cumsum(dim=axis), base)
    assert gradcheck(lambda x: x.cumsum(axis), [base], device=device)


def test_cumsum_of_integers_and_bools_counts_in_int64(device):
    flags = nk.from_ndarray(np.array([True, False, True, True]), device=device)
    running = flags.cumsum(0).forward()
    assert running.dtype == nk.int64 and running.numpy().tolist() == [1, 1, 2, 3]
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        flags.cumsum(2)


def test_reductions_of_empty_axes_raise_at_build_time(device):
    empty = nk.zeros((0, 3), device=device)
    for name in ("max", "min", "argmax", "logsumexp"):
        with pytest.raises(ValueError, match=f"{name}: cannot reduce the empty variable"):
            getattr(empty, name)(axis=0)
    with pytest.raises(TypeError, match="prod: takes floating variables, got a bool"):
        (empty > 0).prod()


@pytest.mark.parametrize("op", ["amax", "amin", "logsumexp", "var", "std", "argmax"])
@pytest.mark.parametrize("shape, axis", [((3, 0), 0), ((0, 3), 1), ((2, 0, 3), 2)])
def test_reducing_a_full_axis_next_to_an_empty_one_gives_an_empty_result(device, op, shape, axis):
    """Only the reduced axes need elements: an empty axis that is kept gives an empty output, as
    in PyTorch (``amax`` of ``(3, 0)`` over axis 0 is ``(0,)``), where "cannot reduce the empty
    variable" (or "0 element(s) per slice") was raised; the gradient keeps the operand's shape."""
    torch = pytest.importorskip("torch")
    x = nk.from_ndarray(np.zeros(shape), dtype="float64", device=device).requires_grad()
    y = getattr(x, op)(axis)
    with warnings.catch_warnings():  # PyTorch warns about var/std of an empty output
        warnings.simplefilter("ignore")
        expected = getattr(torch, op)(torch.zeros(shape, dtype=torch.float64), axis)
    assert y.forward().numpy().shape == tuple(expected.shape)
    if op != "argmax":
        y.backward(np.zeros(y.shape))
        assert x.grad.shape == shape


def test_var_without_degrees_of_freedom_suggests_a_fix_that_applies(device):
    """The message names the shape and axis and suggests ``correction=0`` only when it helps."""
    with pytest.raises(ValueError, match=r"1 element\(s\) per slice of the \(3, 1\) variable \(axis 1\).*use correction=0"):
        nk.ones((3, 1), device=device).var(1)
    with pytest.raises(ValueError, match=r"correction=0; reduce over more elements$"):
        nk.ones((3, 0), device=device).var(1, correction=0)


def test_prod_gradient_is_the_product_of_the_others_with_infinities(device):
    """With ±inf in a slice, ``Π / x`` is ``inf / inf`` = NaN at the infinity: the gradient is the
    product of the other elements, computed without that division ([2, inf, 3] → [inf, 6, inf];
    PyTorch gives the same there)."""
    cases = [[2.0, np.inf, 3.0], [0.0, np.inf, 1.0], [-np.inf, 2.0, -1.0], [np.inf, -np.inf, 2.0], [0.0, np.inf, -np.inf],
             [2.0, 3.0, 4.0], [0.0, 2.0, 3.0], [0.0, 0.0, 3.0]]
    x = nk.from_ndarray(np.array(cases), dtype="float64", device=device).requires_grad()
    with np.errstate(invalid="ignore"):
        expected = np.array([[np.prod(np.delete(row, i)) for i in range(3)] for row in np.array(cases)])
        x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(x._node.backend.to_host(x.grad), expected)
