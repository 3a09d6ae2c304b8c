"""The scatter-add capability ``index_add``: every backend's kernel (and each NumPy path) agrees
with the generic Array API kernel, which agrees with NumPy's unbuffered ``add.at``."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika.kernels import GENERIC
from neuronika.kernels.scatter import index_add as generic

# (number of indices, rest of the row shape, output rows): 1-d and 2-d rows, few and many
# targets, on both sides of the NumPy override's switch points, and no indices at all
CASES = [(50, (), 7), (40, (3,), 500), (64, (40,), 9), (30, (33,), 1000), (20, (2, 17), 300), (0, (4,), 5), (6, (5,), 1)]


def _inputs(rng, count, rest, size, dtype):
    source = rng.standard_normal((count,) + rest).astype(dtype)
    index = rng.integers(0, size, count)
    expected = np.zeros((size,) + rest, dtype=np.float64)
    np.add.at(expected, index, source.astype(np.float64))
    return source, index, expected


@pytest.mark.parametrize("count, rest, size", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_backend_kernel_and_the_generic_one_sum_repeated_indices(device, rng, count, rest, size, dtype):
    backend = nk.backends.get(device)
    source, index, expected = _inputs(rng, count, rest, size, dtype)
    src = backend.asarray(source, nk.backends.to_dtype(dtype))
    idx = backend.asarray(index, nk.int64)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    for kernel in {backend.kernel("index_add", generic), generic}:
        with backend.scope():  # as the engine calls kernels: on the backend's device
            out = kernel(backend.xp, src, idx, size)
        assert backend.owns(out) and tuple(out.shape) == (size,) + rest
        host = backend.to_host(out)
        assert host.dtype == np.dtype(dtype)
        np.testing.assert_allclose(host, expected, rtol=tolerance, atol=tolerance)


def test_float16_rows_are_summed_to_float16_rounding(device, rng):
    backend = nk.backends.get(device)
    if "float16" not in backend._xp_dtypes:
        pytest.skip(f"{device} has no float16")
    source, index, expected = _inputs(rng, 200, (8,), 10, "float16")
    with backend.scope():
        out = backend.kernel("index_add", generic)(backend.xp, backend.asarray(source, nk.float16), backend.asarray(index, nk.int64), 10)
    np.testing.assert_allclose(backend.to_host(out).astype(np.float64), expected, rtol=1e-2, atol=5e-2)


@pytest.mark.parametrize("path", ["bincount", "add.at", "sort+reduceat"])
@pytest.mark.parametrize("count, rest, size", CASES)
def test_every_numpy_path_agrees_with_the_generic_kernel(rng, path, count, rest, size):
    from neuronika.backends._numpy_scatter import PATHS

    source, index, _ = _inputs(rng, count, rest, size, "float32")
    ours = PATHS[path](source, index, size)
    reference = generic(np, source, index, size)
    assert ours.dtype == np.float32 and ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)


def test_index_add_is_a_named_capability_with_overrides_on_numpy_and_cupy():
    assert GENERIC["index_add"] is generic
    assert "index_add" in nk.backends.get("cpu").kernels
    if "array_api_strict" in nk.backends.available():
        assert "index_add" not in nk.backends.get("array_api_strict").kernels  # the referee runs the generic one
    if "cupy" in nk.backends.available():
        assert "index_add" in nk.backends.get("cuda").kernels


def test_a_large_or_infinite_row_does_not_swamp_the_other_indices(device):
    """Each index's sum holds only its own rows: after a row of 1e20 the rows of other indices
    keep their values, and an infinite row makes only its own index infinite. The generic kernel
    differenced one running sum over all rows, giving 0 after the large row and NaN after the
    infinite one (silently wrong gradients of indexing on array_api_strict)."""
    backend = nk.backends.get(device)
    source = np.array([[1e20, 1.0], [1.0, 2.0], [np.inf, 3.0], [2.0, 4.0], [3.0, -np.inf], [4.0, 5.0]])
    index = np.array([0, 1, 2, 3, 3, 1])
    expected = np.zeros((5, 2))
    np.add.at(expected, index, source)
    src, idx = backend.asarray(source, nk.float64), backend.asarray(index, nk.int64)
    for kernel in {backend.kernel("index_add", generic), generic}:
        with backend.scope():
            out = kernel(backend.xp, src, idx, 5)
        np.testing.assert_array_equal(backend.to_host(out), expected)
    x = nk.from_ndarray(np.zeros(4), dtype="float64", device=device).requires_grad()
    weights = nk.from_ndarray(np.array([1e20, 1.0, np.inf, 2.0, 3.0]), dtype="float64", device=device)
    with np.errstate(invalid="ignore"):  # the forward's 0 * inf is NaN (only the gradient is checked)
        (x[np.array([0, 1, 2, 3, 3])] * weights).sum().backward()
    np.testing.assert_array_equal(nk.backends.to_host(x.grad), [1e20, 1.0, np.inf, 5.0])
