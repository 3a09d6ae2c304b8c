"""Fused loss nodes, where composing primitives would be unstable or wasteful.

Each node computes the element-wise (or per-sample) loss; the reduction ("mean" or "sum") is one
more node (see :func:`reduce`). ``mse_loss`` and ``mae_loss`` need no node of their own: they are
``(x - t)²`` and ``|x - t|`` composed from primitives (see ``neuronika.nn.loss``).

- :class:`BCE`: ``-(t·ln x + (1 - t)·ln(1 - x))`` with both logs clamped at -100, as PyTorch, so
  x = 0 or 1 gives a finite loss; its input gradient is ``(x - t) / max(x(1 - x), 1e-12)``.
  A probability outside [0, 1] has no logarithm: its loss and gradient are NaN (PyTorch
  raises; a NaN is cheaper than a check on every forward, and ``detect_anomaly`` names it).
- :class:`BCEWithLogits`: ``max(x, 0) - x·t + ln(1 + e^-|x|)``, finite for any logit;
  gradients ``σ(x) - t`` and ``-x``.
- :class:`NLL`: ``-x[n, t_n]`` per sample for log-probabilities ``(N, C, *d)`` and class indices
  ``(N, *d)`` held as floats (in a dtype that holds every index ``0..C-1`` exactly). Indices are
  checked when the loss is built (a leaf target) and by every forward (one vectorised test:
  targets assigned later are checked too).
- :class:`KLDiv`: ``t·(ln t - x)`` with ``0·ln 0 = 0``; a negative target is NaN (as PyTorch's
  ``xlogy``).
"""

from __future__ import annotations

import math
from typing import Any

from ._build import check_same_place
from .node import Node
from .reduction import Mean, Sum

#: the largest integer up to which every integer is exact in each floating dtype
EXACT_INTEGERS = {"float16": 2**11, "float32": 2**24, "float64": 2**53, "int32": 2**31 - 1, "int64": 2**63 - 1}
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


class NLL(Node):
    """Negative log-likelihood per sample: ``-x[n, t_n, *d]`` for log-probabilities
    ``x (N, C, *d)`` and class indices ``t (N, *d)`` stored as integers or floats. The target
    receives no gradient (indices are not differentiable)."""

    __slots__ = ("classes", "mask", "samples")
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
        # the target passes no gradient (indices); inside ``no_grad`` nothing is differentiable
        self.differentiable = self.requires_grad = self.differentiable and input.differentiable
        backend = input.backend
        classes = input.shape[1]
        if classes - 1 > EXACT_INTEGERS[target.dtype.name]:
            raise TypeError(
                f"nll_loss: a {target.dtype} target cannot hold the class indices 0..{classes - 1} "
                f"exactly (it holds integers up to {EXACT_INTEGERS[target.dtype.name]}); give the "
                f"target as an integer array, or as a float32 variable (.astype('float32'))"
            )
        # the class numbers in the target's dtype, which holds each of them exactly
        aranged = backend.xp.arange(classes, dtype=backend.dtype(target.dtype), device=backend.native_device)
        self.classes = backend.xp.reshape(aranged, (1, classes) + (1,) * (len(input.shape) - 2))
        self.mask = None
        self.samples = math.prod(expected)
        if target.is_leaf:
            check_class_indices(target, classes)

    def _forward(self) -> None:
        xp = self.xp
        x, t = self.inputs[0].value, self.inputs[1].value
        self.mask = self.classes == xp.expand_dims(t, axis=1)
        # every index must match exactly one class: one count over the mask, one host read
        # (measured: 0.4 µs for 128 × 10, 30 µs for 1024 × 1000 on NumPy; see docs/nn.md)
        if int(xp.count_nonzero(self.mask)) != self.samples:
            check_class_indices(self.inputs[1], self.classes.shape[1], assigned=True)
            raise ValueError("nll_loss: a target index matches no class")  # unreachable
        self.value = -xp.sum(xp.where(self.mask, x, 0.0), axis=1)

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            xp = self.xp
            input.add_grad(xp.where(self.mask, -xp.expand_dims(self.grad, axis=1), 0.0))


def check_class_indices(target: Node, classes: int, assigned: bool = False) -> None:
    """Every value of a target must be an integer in ``[0, classes)``: checked on a leaf target
    when the loss is built, and (``assigned``) by ``forward`` when an index matched no class."""
    xp, values = target.xp, target.value
    if values is None or not values.shape or 0 in values.shape:
        return
    with target.backend.scope():  # `!=` is a kernel of the current device: the target's
        low, high = float(xp.min(values)), float(xp.max(values))
        integral = not bool(xp.any(values != xp.round(values)))
    if not integral or low < 0 or high >= classes or low != low or high != high:
        when = " (in the values the target holds now)" if assigned else ""
        raise ValueError(
            f"nll_loss: target class indices must be integers in [0, {classes - 1}] for an input "
            f"with {classes} classes; got values from {low:g} to {high:g}{when}"
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
