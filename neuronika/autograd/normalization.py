"""Normalization: ``layer_norm``, ``group_norm`` and ``batch_norm`` (functional forms; the layers
are in :mod:`neuronika.nn.normalization`).

All three stand on one node, :class:`Normalize`, that standardises its input over a set of axes,
``x̂ = (x - μ) / √(σ² + ε)`` with the biased variance ``σ²`` (PyTorch's rule), followed by the
element-wise affine ``γ·x̂ + β`` built from ordinary ops. The VJP of the standardisation is the
closed form ``∂L/∂x = (g - mean(g) - x̂·mean(g·x̂)) / √(σ² + ε)`` (means over the same axes).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Sequence, cast

from ..backends import float16, float32
from .node import Node, tick
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var


class Normalize(Node):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance), same shape as ``x``.
    float16 inputs are standardised in float32 and rounded once (PyTorch's accumulation type: a
    float16 mean of 3000 values near 100 overflowed to inf), their VJP means taken in float32."""

    __slots__ = ("axes", "eps", "inv_std", "wide")
    name = "normalize"

    def __init__(self, input: Node, axes: tuple[int, ...], eps: float) -> None:
        self._setup((input,), input.shape, input.dtype, input.backend)
        self.axes = axes
        self.eps = float(eps)
        self.inv_std = None
        self.wide = input.backend.dtype(float32) if input.dtype is float16 else None

    def _widened(self, array: Any) -> Any:
        return array if self.wide is None else self.xp.astype(array, self.wide)

    def _narrowed(self, array: Any) -> Any:
        return array if self.wide is None else self.xp.astype(array, self.backend.dtype(float16))

    def _forward(self) -> None:
        self._standardize()

    def _standardize(self) -> tuple[Any, Any]:
        """Standardise over ``axes``; returns the batch mean and biased variance (kept dims)."""
        xp = self.xp
        x = self._widened(self.inputs[0].value)
        mean = xp.mean(x, axis=self.axes, keepdims=True)
        centered = x - mean
        var = xp.mean(centered * centered, axis=self.axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        self.inv_std = self._narrowed(inv_std)
        self.value = self._narrowed(centered * inv_std)
        return self._narrowed(mean), self._narrowed(var)

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            xp = self.xp
            grad, normalized = self.grad, self.value
            if self.wide is not None:
                grad, normalized = self._widened(grad), self._widened(normalized)
            mean_grad = xp.mean(grad, axis=self.axes, keepdims=True)
            mean_grad_normalized = xp.mean(grad * normalized, axis=self.axes, keepdims=True)
            input.add_grad(self._narrowed((grad - mean_grad - normalized * mean_grad_normalized) * self._widened(self.inv_std)))


def _check_affine(op: str, name: str, param: "Var | None", shape: tuple[int, ...], input: Var) -> None:
    if param is not None and tuple(param.shape) != shape:
        raise ValueError(f"{op}: {name} has shape {param.shape}, expected {shape} for the input {input.shape}")


def _float(op: str, name: str, value: Any, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and not value > 0):
        raise ValueError(f"{op}: {name} must be a positive number, got {value!r}")
    return float(value)


def layer_norm(input: Var, normalized_shape: "int | Sequence[int]", weight: "Var | None" = None, bias: "Var | None" = None, eps: float = 1e-5) -> Var:
    """Layer normalization over the trailing ``normalized_shape`` axes, as
    ``torch.nn.functional.layer_norm``: ``γ·(x - μ)/√(σ² + ε) + β`` with ``μ, σ²`` over those axes;
    ``weight``/``bias`` have shape ``normalized_shape``. Output: the input's shape.

    >>> y = nk.layer_norm(nk.from_ndarray([[1.0, 3.0]]), 2).forward()
    >>> [round(v, 3) for v in y.numpy()[0].tolist()]
    [-1.0, 1.0]
    """
    op = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
        raise ValueError(f"{op}: normalized_shape must be a positive int or a non-empty tuple of them, got {normalized_shape!r}")
    if tuple(input.shape[-len(shape):]) != shape or input.ndim < len(shape):
        raise ValueError(
            f"{op}: the input {input.shape} does not end with normalized_shape {shape}; "
            f"normalized_shape names the trailing axes to normalize over"
        )
    _check_affine(op, "weight", weight, shape, input)
    _check_affine(op, "bias", bias, shape, input)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = _handles.wrap(Normalize(input._node, axes, _float(op, "eps", eps)))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _per_channel(param: Var, ndim: int) -> Var:
    """A ``(C,)`` parameter shaped ``(C, 1, ..., 1)`` to broadcast over ``(N, C, *spatial)``."""
    return param.reshape((param.shape[0],) + (1,) * (ndim - 2)) if ndim > 2 else param


def group_norm(input: Var, num_groups: int, weight: "Var | None" = None, bias: "Var | None" = None, eps: float = 1e-5) -> Var:
    """Group normalization of ``(N, C, *)`` as ``torch.nn.functional.group_norm``: the channels
    split into ``num_groups`` groups, each sample's group standardised over its channels and
    positions, then ``γ_c·x̂ + β_c`` per channel (``weight``/``bias`` of shape ``(C,)``).

    >>> nk.group_norm(nk.rand((2, 4, 3)), 2).shape
    (2, 4, 3)
    """
    op = "group_norm"
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got {input.shape}")
    channels = input.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(f"{op}: num_groups must be a positive int dividing the channels ({channels}, input {input.shape}), got {num_groups!r}")
    _check_affine(op, "weight", weight, (channels,), input)
    _check_affine(op, "bias", bias, (channels,), input)
    grouped = input.reshape(input.shape[0], num_groups, -1) if math.prod(input.shape) else input.reshape(input.shape[0], num_groups, 0)
    out = _handles.wrap(Normalize(grouped._node, (2,), _float(op, "eps", eps))).reshape(input.shape)
    if weight is not None:
        out = out * _per_channel(weight, input.ndim)
    if bias is not None:
        out = out + _per_channel(bias, input.ndim)
    return out


class RunningStats:
    """Where batch normalization keeps its running estimates: two ``(C,)`` variables and an
    optional batch count, looked up at each forward through ``lookup`` (so a layer's buffers that
    were replaced — loaded, moved — are the ones read and written). Each computed training
    forward folds the batch statistics in with PyTorch's rule ``r ← (1 - m)·r + m·s`` (``s`` the
    batch mean, or the *unbiased* batch variance; ``m = 1 / batches`` when ``momentum`` is None:
    a cumulative average). ``nn.BatchNorm*d`` looks up its buffers; :func:`batch_norm` the
    variables it is given."""

    def __init__(self, lookup: Callable[[], "tuple[Var, Var, Var | None]"], momentum: float | None) -> None:
        self.lookup, self.momentum = lookup, momentum
        self.batches = 0

    def current(self) -> tuple[Any, Any]:
        mean, var, _ = self.lookup()
        return mean._node.value, var._node.value

    def track(self, xp: Any, mean: Any, var: Any, n: int) -> None:
        running_mean, running_var, count = self.lookup()
        self.batches += 1
        if count is not None:
            count._node.value = count._node.value + 1
        momentum = self.momentum
        if momentum is None:  # a cumulative average needs the count on the host (a sync on a GPU)
            batches = self.batches if count is None else int(count._node.backend.to_host(count._node.value).reshape(()))
            momentum = 1.0 / batches
        unbiased = var * (n / (n - 1)) if n > 1 else var
        # written in place of the leaves' values, with no tick of the staleness clock: the
        # forward pass that reads them is the one running now (PyTorch updates in place too)
        for holder, batch in ((running_mean, mean), (running_var, unbiased)):
            node = holder._node
            node.value = (1.0 - momentum) * node.value + momentum * xp.astype(xp.reshape(batch, (-1,)), node.value.dtype)


class BatchNormalize(Normalize):
    """Batch normalization's standardisation of ``(N, C, *)`` per channel: over the batch and
    positions with the batch statistics in training (which it folds into ``stats``), with the
    running estimates in evaluation (then ``x̂ = (x - r_μ)/√(r_σ² + ε)`` and the VJP is
    ``g/√(r_σ² + ε)``). ``training`` is switched on graphs already built (``set_training``)."""

    __slots__ = ("stats", "training", "used_batch")
    name = "batch_norm"
    repeatable = False  # what _backward reads (lifetimes.py)

    def __init__(self, input: Node, stats: "RunningStats | None", eps: float, training: bool) -> None:
        super().__init__(input, (0,) + tuple(range(2, len(input.shape))), eps)
        self.stats = stats
        self.training = training
        self.used_batch = True

    def set_training(self, mode: bool) -> None:
        if self.training != mode:
            self.training = mode
            tick()

    def _forward(self) -> None:
        stats = self.stats
        self.used_batch = self.training or stats is None
        if self.used_batch:
            mean, var = self._standardize()
            if stats is not None and self.training:
                n = math.prod(self.shape) // self.shape[1]
                stats.track(self.xp, mean, var, n)
            return
        xp = self.xp
        x = self.inputs[0].value
        shape = (1, self.shape[1]) + (1,) * (len(self.shape) - 2)
        running_mean, running_var = cast("RunningStats", stats).current()
        self.inv_std = xp.reshape(1.0 / xp.sqrt(running_var + self.eps), shape)
        self.value = (x - xp.reshape(running_mean, shape)) * self.inv_std

    def _backward(self) -> None:
        if self.used_batch:
            super()._backward()
            return
        input = self.inputs[0]
        if input.requires_grad:
            input.add_grad(self.grad * self.inv_std)


def batch_norm_node(input: Var, stats: "RunningStats | None", weight: "Var | None", bias: "Var | None", training: bool, eps: float) -> tuple[Var, BatchNormalize]:
    """The standardisation node and the affine on top (the layers keep the node to switch it)."""
    op = "batch_norm"
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C) or (N, C, *), got {input.shape}")
    channels = input.shape[1]
    _check_affine(op, "weight", weight, (channels,), input)
    _check_affine(op, "bias", bias, (channels,), input)
    if training and math.prod(input.shape) // channels < 2:
        raise ValueError(
            f"{op}: training needs more than one value per channel to take batch statistics, got "
            f"an input of shape {input.shape}; use a larger batch or evaluation mode"
        )
    node = BatchNormalize(input._node, stats, _float(op, "eps", eps), training)
    out = _handles.wrap(node)
    if weight is not None:
        out = out * _per_channel(weight, input.ndim)
    if bias is not None:
        out = out + _per_channel(bias, input.ndim)
    return out, node


def batch_norm(
    input: Var,
    running_mean: "Var | None",
    running_var: "Var | None",
    weight: "Var | None" = None,
    bias: "Var | None" = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Var:
    """Batch normalization of ``(N, C)`` or ``(N, C, *)``, as ``torch.nn.functional.batch_norm``:
    per channel ``γ·(x - μ)/√(σ² + ε) + β``, with the batch's ``μ, σ²`` in training (folded into
    ``running_mean``/``running_var``, ``(C,)`` variables, at each computed forward) and the running
    ones otherwise.

    >>> mean, var = nk.zeros(3), nk.ones(3)
    >>> nk.batch_norm(nk.rand((4, 3)), mean, var, training=True).shape
    (4, 3)
    """
    op = "batch_norm"
    channels = input.shape[1] if input.ndim >= 2 else 0
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and tuple(stat.shape) != (channels,):
            raise ValueError(f"{op}: {name} has shape {stat.shape}, expected ({channels},) for the input {input.shape}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation (training=False) needs running_mean and running_var")
    stats = None if running_mean is None else RunningStats(lambda: (running_mean, running_var, None), momentum)  # type: ignore[arg-type,return-value]
    return batch_norm_node(input, stats, weight, bias, bool(training), eps)[0]
