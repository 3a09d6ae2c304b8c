"""Integer and bool variables: dtypes, conversions, comparisons, logic, any/all (issue 13 §1)."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk


def ints(values, device, dtype="int64"):
    return nk.from_ndarray(np.asarray(values), dtype=dtype, device=device)


def test_integer_and_bool_dtypes_exist_and_compare_to_their_names():
    assert nk.int32 == "int32" and nk.int64 == "int64" and nk.bool == "bool"
    assert not nk.int64.is_floating and nk.float32.is_floating
    assert nk.backends.to_dtype("bool") is nk.bool


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_from_ndarray_keeps_integer_and_bool_arrays(device, dtype):
    values = np.array([0, 1, 1]).astype(dtype)
    var = nk.from_ndarray(values, device=device)
    assert var.dtype == dtype
    np.testing.assert_array_equal(var.numpy(), values)
    assert var.numpy().dtype == np.dtype(dtype)


def test_integer_constructors(device):
    assert nk.zeros(3, dtype="int64", device=device).numpy().tolist() == [0, 0, 0]
    assert nk.full(2, 7, dtype="int32", device=device).numpy().tolist() == [7, 7]
    assert nk.ones(2, dtype="bool", device=device).numpy().tolist() == [True, True]
    assert nk.range(0, 6, 2, dtype="int64", device=device).numpy().tolist() == [0, 2, 4]
    with pytest.raises(TypeError, match="not floating"):
        nk.randn(3, dtype="int64", device=device)
    with pytest.raises(TypeError, match="range"):
        nk.range(0, 1, 0.5, dtype="int64", device=device)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_and_bool_variables_cannot_require_grad(device, dtype):
    with pytest.raises(TypeError, match="only floating dtypes"):
        nk.zeros(3, dtype=dtype, device=device).requires_grad()


def test_astype_converts_between_all_dtypes(device):
    x = nk.from_ndarray(np.array([1.7, -2.2, 0.0]), dtype="float64", device=device)
    assert x.astype("int64").forward().numpy().tolist() == [1, -2, 0]  # truncation, as PyTorch
    assert x.astype("bool").forward().numpy().tolist() == [True, True, False]
    assert x.astype("int32").astype("float32").forward().numpy().tolist() == [1.0, -2.0, 0.0]
    flags = ints([True, False], device, "bool")
    assert flags.astype("int64").forward().numpy().tolist() == [1, 0]
    assert flags.astype("float64").forward().numpy().tolist() == [1.0, 0.0]


def test_casting_a_differentiable_variable_to_int_stops_the_gradient(device):
    x = nk.from_ndarray([1.5, 2.5], dtype="float32", device=device).requires_grad()
    as_int = x.astype("int64")
    assert type(as_int) is nk.Var
    y = (x * 2.0).sum() + as_int.astype("float32").sum()
    assert type(y) is nk.VarDiff
    y.backward()
    np.testing.assert_array_equal(nk.backends.to_host(x.grad), [2.0, 2.0])  # nothing through the int path


def test_integer_arithmetic_stays_integer(device):
    a, b = ints([1, 2, 3], device), ints([10, 20, 30], device)
    out = (a + b * 2 - 1).forward()
    assert out.dtype == nk.int64 and out.numpy().tolist() == [20, 41, 62]
    assert (-a).forward().numpy().tolist() == [-1, -2, -3]
    assert a.sum().forward().item() == 6 and isinstance(a.sum().forward().item(), int)


def test_mixed_float_and_int_operands_raise_at_build_time(device):
    a = ints([1, 2], device)
    x = nk.ones(2, device=device)
    with pytest.raises(TypeError, match="different dtypes, float32 .* int64"):
        x + a
    with pytest.raises(TypeError, match="int64 variable with the Python float 0.5"):
        a * 0.5
    with pytest.raises(TypeError, match="div: takes floating variables, got a int64"):
        a / ints([1, 1], device)
    with pytest.raises(TypeError, match="exp: takes floating variables"):
        a.exp()
    with pytest.raises(TypeError, match="mean: takes floating variables"):
        a.mean()
    with pytest.raises(TypeError, match="add: takes floating or integer variables, got a bool"):
        (x > 0) + (x > 1)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_comparisons_match_pytorch(device, op, rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(0, 3, (3, 4)).astype(np.float32)
    b = rng.integers(0, 3, (4,)).astype(np.float32)
    x, y = nk.from_ndarray(a, device=device), nk.from_ndarray(b, device=device)
    fn = {"<": lambda p, q: p < q, "<=": lambda p, q: p <= q, ">": lambda p, q: p > q,
          ">=": lambda p, q: p >= q, "==": lambda p, q: p == q, "!=": lambda p, q: p != q}[op]
    out = fn(x, y)
    assert out.dtype == nk.bool and out.shape == (3, 4)
    np.testing.assert_array_equal(out.forward().numpy(), fn(torch.from_numpy(a), torch.from_numpy(b)).numpy())
    with_scalar = fn(x, 1.0).forward().numpy()
    np.testing.assert_array_equal(with_scalar, fn(torch.from_numpy(a), 1.0).numpy())
    reflected = fn(1.0, x).forward().numpy()  # Python swaps the operator for a scalar on the left
    np.testing.assert_array_equal(reflected, fn(1.0, torch.from_numpy(a)).numpy())


def test_comparing_differentiable_variables_gives_a_non_differentiable_bool(device):
    x = nk.rand(3, device=device).requires_grad()
    mask = x > 0.5
    assert type(mask) is nk.Var and mask.dtype == nk.bool
    with pytest.raises(TypeError, match="bool variable cannot be|cannot be differentiable|only a leaf"):
        mask.requires_grad()


def test_integer_comparisons_with_scalars_and_ints(device):
    a = ints([1, 2, 3], device)
    assert (a >= 2).forward().numpy().tolist() == [False, True, True]
    assert (a == ints([1, 0, 3], device)).forward().numpy().tolist() == [True, False, True]
    with pytest.raises(TypeError, match="Python float 2.5"):
        a < 2.5


def test_logical_operators_and_functions_match_pytorch(device):
    torch = pytest.importorskip("torch")
    p = np.array([[True, False], [True, True]])
    q = np.array([True, False])
    a, b = ints(p, device, "bool"), ints(q, device, "bool")
    tp, tq = torch.from_numpy(p), torch.from_numpy(q)
    pairs = [
        (a & b, tp & tq), (a | b, tp | tq), (a ^ b, tp ^ tq), (~a, ~tp),
        (nk.logical_and(a, b), torch.logical_and(tp, tq)), (nk.logical_or(a, b), torch.logical_or(tp, tq)),
        (nk.logical_xor(a, b), torch.logical_xor(tp, tq)), (nk.logical_not(b), torch.logical_not(tq)),
        (True & b, True & tq), (a | False, tp | False),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == nk.bool
        np.testing.assert_array_equal(ours.forward().numpy(), theirs.numpy())


def test_logic_takes_only_bool_variables(device):
    x = nk.ones(2, device=device)
    with pytest.raises(TypeError, match="logical_and: takes bool variables, got a float32"):
        x & (x > 0)
    with pytest.raises(TypeError, match="logical_not: takes bool"):
        ~x


def test_any_and_all_match_pytorch_over_axes(device, rng):
    torch = pytest.importorskip("torch")
    a = rng.random((3, 4, 2)) > 0.7
    t = torch.from_numpy(a)
    x = nk.from_ndarray(a, device=device)
    assert x.any().forward().item() == bool(t.any()) and x.all().forward().item() == bool(t.all())
    for axis in (0, 1, -1):
        for keepdims in (False, True):
            np.testing.assert_array_equal(x.any(axis=axis, keepdims=keepdims).forward().numpy(), t.any(dim=axis, keepdim=keepdims).numpy())
            np.testing.assert_array_equal(x.all(axis=axis, keepdims=keepdims).forward().numpy(), t.all(dim=axis, keepdim=keepdims).numpy())
    numbers = nk.from_ndarray(np.array([0.0, 2.0]), device=device)
    assert numbers.any().forward().item() is True and numbers.all().forward().item() is False


def test_bool_and_int_sums_count_in_int64(device):
    mask = nk.from_ndarray(np.array([[True, False, True], [True, True, True]]), device=device)
    counts = mask.sum(axis=1).forward()
    assert counts.dtype == nk.int64 and counts.numpy().tolist() == [2, 3]
    assert ints([1, 2], device, "int32").sum().dtype == nk.int64


def test_truth_value_of_a_variable_raises_with_the_fix(device):
    x = nk.ones(2, device=device)
    with pytest.raises(TypeError, match=r"\.any\(\)\.forward\(\)\.item\(\)"):
        bool(x > 0)


def test_variables_stay_hashable_and_compare_by_identity_with_other_objects(device):
    x = nk.ones(2, device=device)
    assert len({x, x}) == 1
    assert (x == None) is False  # noqa: E711 (the operator is what is tested)
    assert x in [x]


def test_comparing_variables_on_different_devices_raises(device):
    other = "cpu" if device == "array_api_strict" else "array_api_strict"
    if other not in ("cpu",) and "array_api_strict" not in nk.backends.available():
        pytest.skip("array_api_strict is not installed")
    with pytest.raises(ValueError, match="different devices"):
        nk.ones(2, device=device) < nk.ones(2, device=other)


def test_integer_labels_feed_nll_loss_as_float_labels_do(device, rng):
    from neuronika import nn

    logits = nk.from_ndarray(rng.standard_normal((4, 3)), dtype="float64", device=device)
    labels = np.array([0, 2, 1, 1])
    as_int = nn.loss.nll_loss(logits.log_softmax(axis=1), nk.from_ndarray(labels, device=device))
    as_float = nn.loss.nll_loss(logits.log_softmax(axis=1), nk.from_ndarray(labels, dtype="float64", device=device))
    assert as_int.forward().item() == pytest.approx(as_float.forward().item(), rel=1e-12)


@pytest.mark.parametrize("name, rearrange", [
    ("permute", lambda v: v.permute(1, 0)), ("transpose", lambda v: v.transpose(0, 1)), ("t", lambda v: v.t()),
    ("expand", lambda v: v.reshape(1, 4).expand(3, 4)), ("flip", lambda v: v.flip(0)), ("roll", lambda v: v.roll(1, 1)),
    ("tile", lambda v: v.tile((2, 1))), ("repeat_interleave", lambda v: v.repeat_interleave(2, 0)),
])
def test_rearranging_ops_keep_integer_and_bool_values(device, name, rearrange):
    torch = pytest.importorskip("torch")
    values = np.array([[1, -2], [3, 4]], dtype=np.int64)
    torch_ops = {
        "permute": lambda t: t.permute(1, 0), "transpose": lambda t: t.transpose(0, 1), "t": lambda t: t.t(),
        "expand": lambda t: t.reshape(1, 4).expand(3, 4), "flip": lambda t: t.flip(0), "roll": lambda t: t.roll(1, 1),
        "tile": lambda t: t.tile((2, 1)), "repeat_interleave": lambda t: t.repeat_interleave(2, 0),
    }
    for host in (values, values > 0):
        out = rearrange(nk.from_ndarray(host, device=device)).forward()
        assert out.dtype == (nk.bool if host.dtype == bool else nk.int64)
        np.testing.assert_array_equal(out.numpy(), torch_ops[name](torch.from_numpy(host)).numpy())


@pytest.mark.parametrize("build", [lambda v: v + 2**40, lambda v: v < 2**40, lambda v: nk.where(v > 0, v, 2**35), lambda v: nk.maximum(v, -(2**31) - 1)])
def test_an_int_operand_outside_the_variables_dtype_names_the_op_and_the_fix(device, build):
    """A Python int that does not fit an int32 variable raises the house's TypeError at build
    (op, value, dtype range, fix), where NumPy's bare ``OverflowError: Python integer ... out of
    bounds for int32`` came from inside; the bounds themselves are accepted."""
    v = nk.from_ndarray(np.array([1, 2]), dtype="int32", device=device)
    with pytest.raises(TypeError, match=r"^\w+: the Python int -?\d+ does not fit the int32 variable's dtype \(-2147483648\.\.2147483647\).*astype\('int64'\)"):
        build(v)
    assert (v + (2**31 - 1)).forward().numpy().dtype == np.int32
    assert (v > -(2**31)).forward().numpy().tolist() == [True, True]
