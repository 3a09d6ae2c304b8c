"""Checks shared by the op and layer tests: an op's value and the gradients of every input
against PyTorch's (CPU, float64), with the same random cotangent on both sides
(``against_torch``); a layer with PyTorch's state dict copied in, its output, input, parameter
gradients and buffers (``module_against_torch``)."""

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


def host(array: Any) -> np.ndarray:
    """A backend array (a gradient, a parameter's data) as a NumPy array."""
    return np.asarray(nk.backends.to_host(array))


def module_against_torch(
    ours: Any, theirs: Any, arrays: Sequence[np.ndarray], device: str, train: bool = True, steps: int = 1,
    call: "Callable[..., Any] | None" = None, rtol: float = 1e-9, atol: float = 1e-11,
) -> None:
    """``ours`` (float64) with ``theirs``' state dict agrees in output, input and parameter
    gradients and buffers (running statistics) after each of ``steps`` forward/backward passes.
    ``call(module, *inputs)`` adapts the calling conventions (default: ``module(*inputs)``)."""
    torch = pytest.importorskip("torch")
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
