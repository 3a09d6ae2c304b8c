"""Fused loss nodes, where composing primitives would be unstable or wasteful.

Each node computes the element-wise (or per-sample) loss; the reduction ("mean" or "sum") is one
more node (see :func:`reduce`). ``mse_loss`` and ``mae_loss`` need no node of their own: they are
``(x - t)²`` and ``|x - t|`` composed from primitives (see ``neuronika.nn.loss``).

- :class:`BCE`: ``-(t·ln x + (1 - t)·ln(1 - x))`` with both logs clamped at -100, as PyTorch, so
  x = 0 or 1 gives a finite loss; its input gradient is ``(x - t) / max(x(1 - x), 1e-12)``.
  A probability outside [0, 1] has no logarithm: its loss and gradient are NaN (PyTorch
  raises; a NaN is cheaper than a check on every forward, and ``detect_anomaly`` names it).
- :class:`BCEWithLogits`: ``max(x, 0) - x·t + ln(1 + e^-|x|)``, finite for any logit;
  gradients ``σ(x) - t`` and ``-x``. With ``pos_weight`` p (broadcast over the input, as
  PyTorch): ``(1 - t)·x + (1 + (p - 1)·t)·softplus(-x)``, gradients ``(1 - t) - L·σ(-x)`` with
  ``L = 1 + (p - 1)·t``, and ``-x + (p - 1)·softplus(-x)``.
- :class:`Huber`: ``½d²`` for ``|d| < δ``, ``δ·(|d| - ½δ)`` beyond (``d = x - t``), times a
  constant ``scale`` (``smooth_l1_loss`` is Huber with ``δ = β`` scaled by ``1/β``); gradient
  ``scale·clip(d, -δ, δ)``.

NLL and cross-entropy (class axis, weights, ignored indices) live in ``cross_entropy.py``.
- :class:`KLDiv`: ``t·(ln t - x)`` with ``0·ln 0 = 0``; a negative target is NaN (as PyTorch's
  ``xlogy``).
"""

from __future__ import annotations

import math
from typing import Any

from ._build import broadcast_shapes, check_same_place
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
    """``max(ln v, -100)`` for ``v ≥ 0``, NaN for ``v < 0`` (and NaN), with ``ln 0`` and ``ln v<0`` never
    evaluated (no -inf, no warnings)."""
    positive = values > 0
    logs = xp.log(xp.where(positive, values, 1.0))
    clamped = xp.where(positive, xp.clip(logs, min=LOG_FLOOR), LOG_FLOOR)
    return xp.where(values >= 0, clamped, math.nan)


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
            spread = x * (1.0 - x)  # negative exactly when x is outside [0, 1]: NaN there
            input.add_grad(self.grad * (x - t) / xp.where(spread >= 0, xp.clip(spread, min=BCE_EPS), math.nan))
        if target.requires_grad:
            target.add_grad(self.grad * (_clamped_log(xp, 1.0 - x) - _clamped_log(xp, x)))


class BCEWithLogits(_PairLoss):
    """Binary cross-entropy of logits ``x`` (σ applied inside, stably) and targets ``t``; an
    optional third input ``pos_weight`` weighs the positive term."""

    __slots__ = ()
    name = "bce_with_logits_loss"

    def __init__(self, input: Node, target: Node, pos_weight: "Node | None" = None) -> None:
        super().__init__(input, target)
        if pos_weight is None:
            return
        check_same_place(self.name, (input, pos_weight))
        try:
            fits = broadcast_shapes(self.name, input.shape, pos_weight.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{self.name}: pos_weight of shape {pos_weight.shape} must broadcast to the input's "
                f"shape {input.shape} (one weight per class: shape ({input.shape[-1] if input.shape else 1},))"
            )
        if pos_weight.differentiable:
            raise TypeError(f"{self.name}: pos_weight is a constant here; pass pos_weight.detach()")
        self.inputs = (input, target, pos_weight)

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        if len(self.inputs) == 2:
            self.value = xp.clip(x, min=0.0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
            return
        positive = 1.0 + (self.inputs[2].value - 1.0) * t
        self.value = (1.0 - t) * x + positive * (xp.clip(-x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x))))

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs[0], self.inputs[1]
        x, t = input.value, target.value
        if len(self.inputs) == 2:
            if input.requires_grad:
                input.add_grad(self.grad * (xp.tanh(x * 0.5) * 0.5 + 0.5 - t))
            if target.requires_grad:
                target.add_grad(-self.grad * x)
            return
        extra = self.inputs[2].value - 1.0
        if input.requires_grad:
            below = 0.5 - xp.tanh(x * 0.5) * 0.5  # σ(-x)
            input.add_grad(self.grad * ((1.0 - t) - (1.0 + extra * t) * below))
        if target.requires_grad:
            softplus = xp.clip(-x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x)))
            target.add_grad(self.grad * (extra * softplus - x))


class Huber(_PairLoss):
    """``scale·(½d² if |d| < δ else δ·(|d| - ½δ))`` of ``d = x - t``."""

    __slots__ = ("delta", "scale")
    name = "huber_loss"

    def __init__(self, input: Node, target: Node, delta: float, scale: float = 1.0) -> None:
        super().__init__(input, target)
        self.delta, self.scale = delta, scale

    def _forward(self) -> None:
        xp = self.xp
        diff = self.inputs[0].value - self.inputs[1].value
        size = xp.abs(diff)
        inside = size < self.delta
        value = xp.where(inside, diff * diff * 0.5, (size - 0.5 * self.delta) * self.delta)
        self.value = value if self.scale == 1.0 else value * self.scale

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs
        local = xp.clip(input.value - target.value, min=-self.delta, max=self.delta) * self.scale
        local = local * self.grad
        if input.requires_grad:
            input.add_grad(local)
        if target.requires_grad:
            target.add_grad(-local)


class SmoothL1(Huber):
    """``smooth_l1_loss``: Huber with ``δ = β`` scaled by ``1/β``."""

    __slots__ = ()
    name = "smooth_l1_loss"


class KLDiv(_PairLoss):
    """Kullback-Leibler divergence terms ``t·(ln t - x)`` of log-probabilities ``x`` and
    probabilities ``t``; a zero target contributes 0 (and the target gradient there is ``-x``)."""

    __slots__ = ()
    name = "kldiv_loss"

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.value = xp.where(t >= 0, t * (xp.log(xp.where(t > 0, t, 1.0)) - x), math.nan)

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs
        x, t = input.value, target.value
        if input.requires_grad:
            input.add_grad(-self.grad * t)
        if target.requires_grad:
            positive = t > 0
            target.add_grad(self.grad * (xp.where(positive, xp.log(xp.where(positive, t, 1.0)) + 1.0, 0.0) - x))


def reduce(node: Node, reduction: str, divisor: int | None = None) -> Node:
    """``sum`` or ``mean`` of a loss node: the mean over all elements, or a sum divided by
    ``divisor`` when one is given (e.g. the batch size, for KL divergence); "none" is the node."""
    if reduction == "none":
        return node
    if reduction == "sum":
        return Sum(node)
    if divisor is None:
        return Mean(node)
    total = Sum(node)
    total.scale = 1.0 / max(divisor, 1)
    return total
