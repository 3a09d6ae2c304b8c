"""One check shared by the op tests: an op's value and the gradients of every input against
PyTorch's (CPU, float64), with the same random cotangent on both sides."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest

import neuronika as nk


def against_torch(
    ours: Callable[..., nk.Var],
    theirs: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    device: str,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> None:
    """``ours(*vars)`` and ``theirs(*tensors)`` agree in value and in every input's gradient."""
    torch = pytest.importorskip("torch")
    leaves = [nk.from_ndarray(a, dtype="float64", device=device).requires_grad() for a in arrays]
    out = ours(*leaves).forward()
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    expected = theirs(*tensors)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=atol, err_msg="value")
    assert out.shape == tuple(expected.shape)
    cotangent = np.random.default_rng(7).standard_normal(out.shape)
    out.backward(cotangent if out.shape else float(cotangent))
    expected.backward(torch.tensor(cotangent, dtype=torch.float64))
    for position, (leaf, tensor) in enumerate(zip(leaves, tensors)):
        reference = np.zeros(tensor.shape) if tensor.grad is None else tensor.grad.numpy()
        np.testing.assert_allclose(
            nk.backends.to_host(leaf.grad), reference, rtol=rtol, atol=atol, err_msg=f"gradient of input {position}"
        )
