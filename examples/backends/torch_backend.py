"""A neuronika backend for PyTorch tensors, written as a third party would: one file, one
``register``.

``xp`` is array-api-compat's PyTorch namespace (``array_api_compat.torch``), which makes
``torch`` an Array API namespace; the graph, nn and optim code run on it unchanged. PyTorch's
native kernels replace neuronika's generic ones where it has them:

* ``conv_forward`` -> ``torch.nn.functional.conv1d/2d/3d``; ``conv_backward_input`` and
  ``conv_backward_weight`` -> ``torch.nn.grad.conv*d_input`` / ``conv*d_weight`` (PyTorch's own
  convolution backward, oneDNN on the CPU);
* ``erf`` -> ``torch.special.erf``; ``einsum`` -> ``torch.einsum``; ``index_add`` (scatter-add)
  -> ``Tensor.index_add_``.

PyTorch's own autograd is never used: neuronika's graph computes the gradients (the tensors it
handles never require grad).

Devices: ``"torch"`` is the CPU; ``"torch_cuda"`` / ``"torch_cuda:N"`` is CUDA GPU N where
PyTorch has one. Random numbers come from a ``torch.Generator`` per device, whose state
(``get_state()``, a byte tensor) is stored as a list of ints.

Use it::

    import neuronika as nk
    import torch_backend                     # registers "torch" (and "torch_cuda")
    model = nk.nn.Conv2d(3, 8, 3, device="torch")

and check it with ``python -m neuronika.conformance examples/backends/torch_backend.py:create``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from array_api_compat import torch as torch_namespace

import neuronika as nk
from neuronika.backends import Backend, DType

_CONV = {1: (F.conv1d, torch.nn.grad.conv1d_input, torch.nn.grad.conv1d_weight),
         2: (F.conv2d, torch.nn.grad.conv2d_input, torch.nn.grad.conv2d_weight),
         3: (F.conv3d, torch.nn.grad.conv3d_input, torch.nn.grad.conv3d_weight)}


def conv_forward(xp: Any, x: Any, w: Any, stride: Sequence[int], dilation: Sequence[int], groups: int) -> Any:
    return _CONV[x.ndim - 2][0](x, w, stride=tuple(stride), dilation=tuple(dilation), groups=groups)


def conv_backward_input(xp: Any, grad: Any, w: Any, x_shape: Sequence[int], stride: Sequence[int],
                        dilation: Sequence[int], groups: int) -> Any:
    return _CONV[grad.ndim - 2][1](tuple(x_shape), w, grad, stride=tuple(stride), dilation=tuple(dilation), groups=groups)


def conv_backward_weight(xp: Any, grad: Any, x: Any, w_shape: Sequence[int], stride: Sequence[int],
                         dilation: Sequence[int], groups: int) -> Any:
    return _CONV[x.ndim - 2][2](x, tuple(w_shape), grad, stride=tuple(stride), dilation=tuple(dilation), groups=groups)


KERNELS: dict[str, Callable[..., Any]] = {
    "conv_forward": conv_forward,
    "conv_backward_input": conv_backward_input,
    "conv_backward_weight": conv_backward_weight,
    "erf": lambda xp, x: torch.special.erf(x),
    "einsum": lambda xp, subscripts, *operands: torch.einsum(subscripts, *operands),
    # scatter-add (the gradient of every gather): zeros of (size, *rest), rows added at index
    "index_add": lambda xp, source, index, size: torch.zeros(
        (size,) + tuple(source.shape[1:]), dtype=source.dtype, device=source.device).index_add_(0, index.to(torch.int64), source),
}


class TorchBackend(Backend):
    name = "torch"
    xp = torch_namespace
    native_ops = frozenset({"fft"})
    negative_slice_steps = False  # torch.Tensor refuses x[::-1] (use flip)

    def __init__(self, device: str) -> None:
        super().__init__()
        self.native_device = torch.device(device)
        self.kernels.update(KERNELS)
        self._generator = torch.Generator(device=self.native_device)
        self._generator.seed()

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        if not isinstance(obj, torch.Tensor):
            if hasattr(obj, "__dlpack__") and not isinstance(obj, np.ndarray):
                try:
                    obj = torch.from_dlpack(obj)  # JAX, CuPy, array_api_strict: zero copy where possible
                except (BufferError, TypeError, RuntimeError):
                    obj = torch.from_numpy(np.array(obj.get() if hasattr(obj, "get") else obj))
            else:
                obj = torch.as_tensor(np.asarray(obj))
        return obj.to(device=self.native_device, dtype=None if dtype is None else self.dtype(dtype))

    def to_host(self, array: Any) -> Any:
        return array.detach().cpu().numpy().copy()

    def owns(self, array: Any) -> bool:
        return isinstance(array, torch.Tensor) and array.device == self.native_device

    def seed(self, seed: int) -> None:
        self._generator.manual_seed(int(seed))

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        sample = torch.rand(tuple(shape), generator=self._generator, dtype=self.dtype(dtype), device=self.native_device)
        return sample * (high - low) + low if (low, high) != (0.0, 1.0) else sample

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        sample = torch.randn(tuple(shape), generator=self._generator, dtype=self.dtype(dtype), device=self.native_device)
        return sample * std + mean if (mean, std) != (0.0, 1.0) else sample

    def permutation(self, n: int) -> list[int]:
        return torch.randperm(n, generator=self._generator, device=self.native_device).tolist()

    def get_rng_state(self) -> dict[str, Any]:
        return {"generator": "torch", "device": str(self.native_device), "state": self._generator.get_state().tolist()}

    def check_rng_state(self, state: Any) -> None:
        ok = isinstance(state, dict) and state.get("generator") == "torch" and isinstance(state.get("state"), list)
        if not ok or len(state["state"]) != len(self._generator.get_state()):
            raise ValueError(f"set_rng_state: {self.device}: not a torch generator state of this device, got {str(state)[:200]}")

    def set_rng_state(self, state: Any) -> None:
        self.check_rng_state(state)
        self._generator.set_state(torch.tensor(state["state"], dtype=torch.uint8))


def create(index: int) -> TorchBackend:
    """The CPU backend factory (``"torch"``): ``register`` calls it with the device index."""
    if index != 0:
        raise ValueError(f"device 'torch:{index}': the PyTorch CPU backend has a single device, 'torch'")
    return TorchBackend("cpu")


def create_cuda(index: int) -> TorchBackend:
    """The CUDA backend factory (``"torch_cuda:N"``)."""
    count = torch.cuda.device_count()
    if index >= count:
        raise nk.backends.BackendUnavailableError(f"device 'torch_cuda:{index}': PyTorch sees {count} CUDA device(s)")
    backend = TorchBackend(f"cuda:{index}")
    backend.name = "torch_cuda"
    return backend


nk.backends.register("torch", create, probe=lambda: True)
nk.backends.register("torch_cuda", create_cuda, probe=lambda: torch.cuda.is_available())
