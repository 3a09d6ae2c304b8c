"""Fused loss nodes, where composing primitives would be unstable or wasteful.

Each node computes the element-wise (or per-sample) loss; the reduction ("mean" or "sum") is one
more node (see :func:`reduce`). ``mse_loss`` and ``mae_loss`` need no node of their own: they are
``(x - t)²`` and ``|x - t|`` composed from primitives (see ``neuronika.nn.loss``).

- :class:`BCE`: ``-(t·ln x + (1 - t)·ln(1 - x))`` with both logs clamped at -100, as PyTorch, so
  x = 0 or 1 gives a finite loss; its input gradient is ``(x - t) / max(x(1 - x), 1e-12)``.
- :class:`BCEWithLogits`: ``max(x, 0) - x·t + ln(1 + e^-|x|)``, finite for any logit;
  gradients ``σ(x) - t`` and ``-x``.
- :class:`NLL`: ``-x[n, t_n]`` per sample for log-probabilities ``(N, C, *d)`` and class indices
  ``(N, *d)`` held as floats.
- :class:`KLDiv`: ``t·(ln t - x)`` with ``0·ln 0 = 0``.
"""

from __future__ import annotations

from typing import Any

from ._build import check_same_place
from .node import Node
from .reduction import Mean, Sum

#: PyTorch's floor for the logs of binary cross-entropy and for the denominator of its gradient
LOG_FLOOR = -100.0
BCE_EPS = 1e-12


class _PairLoss(Node):
    """Element-wise loss of an input and a target of the same shape."""

    __slots__ = ()

    def __init__(self, input: Node, target: Node) -> None:
        check_same_place(self.name, (input, target))
        if input.shape != target.shape:
            raise ValueError(
                f"{self.name}: input {input.shape} and target {target.shape} must have the same "
                f"shape (losses do not broadcast; reshape the target)"
            )
        self._setup((input, target), input.shape, input.dtype, input.backend)


def _clamped_log(xp: Any, values: Any) -> Any:
    """``max(ln v, -100)``, with ``ln 0`` never evaluated (no -inf, no warnings)."""
    positive = values > 0
    logs = xp.log(xp.where(positive, values, 1.0))
    return xp.where(positive, xp.clip(logs, min=LOG_FLOOR), LOG_FLOOR)


class BCE(_PairLoss):
    """Binary cross-entropy of probabilities ``x`` in [0, 1] and targets ``t``."""

    __slots__ = ()
    name = "bce_loss"

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.value = -(t * _clamped_log(xp, x) + (1.0 - t) * _clamped_log(xp, 1.0 - x))

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs
        x, t = input.value, target.value
        if input.requires_grad:
            input.add_grad(self.grad * (x - t) / xp.clip(x * (1.0 - x), min=BCE_EPS))
        if target.requires_grad:
            target.add_grad(self.grad * (_clamped_log(xp, 1.0 - x) - _clamped_log(xp, x)))


class BCEWithLogits(_PairLoss):
    """Binary cross-entropy of logits ``x`` (σ applied inside, stably) and targets ``t``."""

    __slots__ = ()
    name = "bce_with_logits_loss"

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.value = xp.clip(x, min=0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs
        x, t = input.value, target.value
        if input.requires_grad:
            input.add_grad(self.grad * (xp.tanh(x * 0.5) * 0.5 + 0.5 - t))
        if target.requires_grad:
            target.add_grad(-self.grad * x)


class KLDiv(_PairLoss):
    """Kullback-Leibler divergence terms ``t·(ln t - x)`` of log-probabilities ``x`` and
    probabilities ``t``; a zero target contributes 0 (and the target gradient there is ``-x``)."""

    __slots__ = ()
    name = "kldiv_loss"

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.value = t * (xp.log(xp.where(t > 0, t, 1.0)) - x)

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs
        x, t = input.value, target.value
        if input.requires_grad:
            input.add_grad(-self.grad * t)
        if target.requires_grad:
            positive = t > 0
            target.add_grad(self.grad * (xp.where(positive, xp.log(xp.where(positive, t, 1.0)) + 1.0, 0.0) - x))


class NLL(Node):
    """Negative log-likelihood per sample: ``-x[n, t_n, *d]`` for log-probabilities
    ``x (N, C, *d)`` and class indices ``t (N, *d)`` stored as integers or floats. The target
    receives no gradient (indices are not differentiable)."""

    __slots__ = ("classes", "mask")
    name = "nll_loss"
    kinds = "fi"  # the input must be floating (checked below); the target may be integer

    def __init__(self, input: Node, target: Node) -> None:
        if target.backend is not input.backend:
            raise ValueError(
                f"nll_loss: input and target live on different devices, {input.backend.device} "
                f"and {target.backend.device}; move the target with .to({str(input.backend.device)!r})"
            )
        if not input.dtype.is_floating:
            raise TypeError(f"nll_loss: input must hold floating log-probabilities, got {input.dtype}; convert it with .astype('float32')")
        if len(input.shape) < 2:
            raise ValueError(f"nll_loss: input must be log-probabilities of shape (N, C), got {input.shape}")
        expected = input.shape[:1] + input.shape[2:]
        if target.shape != expected:
            raise ValueError(
                f"nll_loss: target has shape {target.shape}; for an input of shape {input.shape} it "
                f"must hold one class index per sample, shape {expected}"
            )
        self._setup((input, target), expected, input.dtype, input.backend)
        self.differentiable = self.requires_grad = input.differentiable
        backend = input.backend
        classes = input.shape[1]
        aranged = backend.xp.arange(classes, dtype=backend.dtype(target.dtype), device=backend.native_device)
        self.classes = backend.xp.reshape(aranged, (1, classes) + (1,) * (len(input.shape) - 2))
        self.mask = None
        if target.is_leaf:
            check_class_indices(target, classes)

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.mask = self.classes == xp.expand_dims(t, axis=1)
        self.value = -xp.sum(xp.where(self.mask, x, 0.0), axis=1)

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            xp = self.xp
            input.add_grad(xp.where(self.mask, -xp.expand_dims(self.grad, axis=1), 0.0))


def check_class_indices(target: Node, classes: int) -> None:
    """Every value of a target leaf must be an integer in ``[0, classes)`` (build time only)."""
    xp, values = target.xp, target.value
    if values is None or not values.shape or 0 in values.shape:
        return
    low, high = float(xp.min(values)), float(xp.max(values))
    integral = not bool(xp.any(values != xp.round(values)))
    if not integral or low < 0 or high >= classes:
        raise ValueError(
            f"nll_loss: target class indices must be integers in [0, {classes - 1}] for an input "
            f"with {classes} classes; got values from {low:g} to {high:g}"
            + ("" if integral else " (some not integral)")
        )


def reduce(node: Node, reduction: str, divisor: int | None = None) -> Node:
    """``sum`` or ``mean`` of a loss node: the mean over all elements, or a sum divided by
    ``divisor`` when one is given (e.g. the batch size, for KL divergence)."""
    if reduction == "sum":
        return Sum(node)
    if divisor is None:
        return Mean(node)
    total = Sum(node)
    total.scale = 1.0 / max(divisor, 1)
    return total
