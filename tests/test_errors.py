"""Bad input raises when the op is built, naming the op, the shapes/dtypes/devices and the fix."""

from __future__ import annotations

import pytest

import neuronika as nk


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda d: nk.ones((2, 3), device=d) + nk.ones((4, 3), device=d), r"add: shapes \(2, 3\) and \(4, 3\) do not broadcast"),
        (lambda d: nk.ones((2, 3), device=d) * nk.ones(4, device=d), r"mul: shapes \(2, 3\) and \(4,\)"),
        (lambda d: nk.ones((3, 4), device=d).mm(nk.ones((5, 2), device=d)), r"mm: cannot multiply \(3, 4\) by \(5, 2\): inner sizes 4 and 5 differ"),
        (lambda d: nk.ones((3, 4), device=d).mm(nk.ones((2, 4), device=d)), "did you mean mm_t"),
        (lambda d: nk.ones((3, 4), device=d).mm_t(nk.ones((4, 2), device=d)), "did you mean mm"),
        (lambda d: nk.ones((3, 4), device=d).mv(nk.ones((3,), device=d)), "mv: cannot multiply"),
        (lambda d: nk.ones(3, device=d).mm(nk.ones((3, 3), device=d)), r"mm: the left operand must be a matrix \(2-d\), got shape \(3,\)"),
        (lambda d: nk.ones(3, device=d).vv(nk.ones(4, device=d)), "inner sizes 3 and 4"),
        (lambda d: nk.ones((2, 2, 3), device=d) @ nk.ones((2, 2), device=d), r"matmul: cannot multiply \(2, 2, 3\) by \(2, 2\): inner sizes 3"),
        (lambda d: nk.ones(3, device=d).t(), "t: the operand must be a matrix"),
        (lambda d: nk.ones((2, 3), device=d).softmax(2), "softmax: axis 2 is out of range"),
        (lambda d: nk.ones((2, 3), device=d).sum(axis=(0, 0)), "repeats"),
        (lambda d: nk.ones((2, 3), device=d).unsqueeze(4), "unsqueeze: axis 4"),
        (lambda d: nk.cat([nk.ones((2, 3), device=d), nk.ones((3, 4), device=d)], 0), r"cat: shapes \(2, 3\) and \(3, 4\) differ"),
        (lambda d: nk.stack([nk.ones((2, 3), device=d), nk.ones((2, 4), device=d)], 0), "stack: shapes"),
        (lambda d: nk.ones((5, 4), device=d).chunks((2,)), "chunks: chunk shape"),
        (lambda d: nk.ones((2, 3), device=d).reshape(4, 2), r"reshape: cannot reshape \(2, 3\)"),
    ],
)
def test_shape_errors_name_the_op_and_the_shapes(device, build, message):
    with pytest.raises(ValueError, match=message):
        build(device)


def test_mixed_dtypes_raise_instead_of_promoting(device):
    with pytest.raises(TypeError, match=r"add: operands have different dtypes, float32 \(2,\) and float64 \(2,\).*astype"):
        nk.ones(2, device=device) + nk.ones(2, dtype="float64", device=device)


def test_mixed_devices_raise_naming_both_and_to(device):
    other = "array_api_strict:1" if device != "array_api_strict:1" else "cpu"
    with pytest.raises(ValueError, match=rf"mul: operands live on different devices, .* and .*\.to\("):
        nk.ones(2, device=device) * nk.ones(2, device=other)


def test_combining_with_a_raw_array_says_how_to_wrap_it(device):
    import numpy as np

    with pytest.raises(TypeError, match="from_ndarray"):
        nk.ones(2, device=device) + np.ones(2)


def test_pow_needs_a_number(device):
    with pytest.raises(TypeError, match="pow: the exponent"):
        nk.ones(2, device=device).pow(nk.ones(2, device=device))
