"""Classification losses over a class axis: negative log-likelihood and cross-entropy.

Inputs are ``x (N, C, *d)`` (log-probabilities for NLL, logits for cross-entropy); targets are
class indices ``t (N, *d)`` (floats holding integers, or an integer variable) or, for
cross-entropy only, class probabilities of ``x``'s shape. Each node reduces itself, because the
"mean" of a weighted loss divides by a sum that depends on the target values (PyTorch's rule):

* per sample ``ℓ_n = w[t_n]·(-x[n, t_n])`` (NLL), with ``w`` the class weights (1 without) and
  ``ℓ_n = 0`` where ``t_n == ignore_index``;
* "sum" is ``Σ ℓ_n``; "mean" is ``Σ ℓ_n / Σ_{n not ignored} w[t_n]`` (the plain mean over the
  samples not ignored when there are no weights; NaN when every sample is ignored, as PyTorch);
  "none" keeps ``ℓ`` of shape ``(N, *d)``.

Cross-entropy of logits is fused: ``log p = x - max - ln Σ e^(x - max)`` (stable at ±1e4), and
with label smoothing ``ε``
``ℓ_n = (1-ε)·w[t_n]·(-log p[n, t_n]) + (ε/C)·Σ_c w_c·(-log p[n, c])`` (0 where ignored); its
input gradient is ``(1-ε)·w[t_n]·(p - onehot) + (ε/C)·(W·p - w)`` with ``W = Σ_c w_c``.
With probability targets ``q``: ``q' = (1-ε)·q + ε/C``, ``ℓ_n = -Σ_c w_c·q'_c·log p_c``,
"mean" divides by ``N·Π d``, and the target receives ``-(1-ε)·w·log p``.

Class indices are checked when the loss is built (a leaf target) and by every forward (one
vectorised count, one host read: targets assigned later are checked too).

Cost: ``x[n, t_n]`` (and ``w[t_n]``) are picked with one ``take`` of ``N·Πd`` elements, and
``log p`` is never formed over the whole input; the input gradient is three passes over it.
Measured (NumPy, float32, N = 1024, C = 1000, one thread, forward + backward, best of 20):
the fused node 2.8 ms, ``nll_loss(x.log_softmax(1), t)`` 3.6 ms (4.3 and 4.5 ms before the
``take``), PyTorch's ``F.cross_entropy`` 1.3 ms.
"""

from __future__ import annotations

import math
from typing import Any

from .node import Node

#: the largest integer up to which every integer is exact in each floating dtype
EXACT_INTEGERS = {"float16": 2**11, "float32": 2**24, "float64": 2**53}
REDUCTIONS = ("mean", "sum", "none")


def _check_weight(op: str, input: Node, weight: "Node | None") -> None:
    if weight is None:
        return
    classes = input.shape[1] if len(input.shape) > 1 else 0
    if weight.backend is not input.backend:
        raise ValueError(
            f"{op}: weight lives on {weight.backend.device}, the input on {input.backend.device}; "
            f"move it with .to({str(input.backend.device)!r})"
        )
    if weight.shape != (classes,):
        raise ValueError(f"{op}: weight must hold one number per class, shape ({classes},); got {weight.shape}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{op}: weight is {weight.dtype} but the input is {input.dtype}; convert it with .astype({str(input.dtype)!r})")
    if weight.differentiable:
        raise TypeError(f"{op}: class weights are constants here; pass weight.detach()")


class ClassIndexLoss(Node):
    """What NLL and cross-entropy with class-index targets share: the one-hot mask of the
    targets, the per-sample weights ``w[t_n]`` (0 where ignored) and the reduction."""

    __slots__ = ("classes", "ignore_index", "ignore_in_range", "reduction", "samples", "onehot", "sample_weight",
                 "denominator", "base", "positions", "flat", "ones")
    name = "nll_loss"
    onehot: Any
    sample_weight: Any
    denominator: Any
    flat: Any
    kinds = "fi"  # the input must be floating (checked below); the target may hold integers

    def __init__(self, input: Node, target: Node, weight: "Node | None", ignore_index: int, reduction: str) -> None:
        op = self.name
        if target.backend is not input.backend:
            raise ValueError(
                f"{op}: input and target live on different devices, {input.backend.device} "
                f"and {target.backend.device}; move the target with .to({str(input.backend.device)!r})"
            )
        if input.dtype.name not in EXACT_INTEGERS:
            raise TypeError(f"{op}: the input must be floating, got {input.dtype}; convert it with .astype('float32')")
        if len(input.shape) < 2:
            raise ValueError(f"{op}: input must have shape (N, C) or (N, C, d1, ...), got {input.shape}")
        expected = input.shape[:1] + input.shape[2:]
        if target.shape != expected:
            raise ValueError(
                f"{op}: target has shape {target.shape}; for an input of shape {input.shape} it "
                f"must hold one class index per sample, shape {expected}"
                + (" (or class probabilities of the input's shape)" if op == "cross_entropy_loss" else "")
            )
        _check_weight(op, input, weight)
        inputs = (input, target) if weight is None else (input, target, weight)
        self._setup(inputs, expected if reduction == "none" else (), input.dtype, input.backend)
        # the target passes no gradient (indices); inside ``no_grad`` nothing is differentiable
        self.differentiable = self.requires_grad = self.differentiable and input.differentiable
        backend = input.backend
        classes = input.shape[1]
        limit = EXACT_INTEGERS.get(target.dtype.name)
        if limit is not None and classes - 1 > limit:
            raise TypeError(
                f"{op}: a {target.dtype} target cannot hold the class indices 0..{classes - 1} "
                f"exactly (it holds integers up to {limit}); give the target as an integer array, "
                f"or as a float32 variable (.astype('float32'))"
            )
        xp, device = backend.xp, backend.native_device
        with backend.scope():  # build-time arrays on the input's device
            # the class numbers in the target's dtype, which holds each of them exactly
            aranged = xp.arange(classes, dtype=backend.dtype(target.dtype), device=device)
            self.classes = xp.reshape(aranged, (1, classes) + (1,) * (len(input.shape) - 2))
            # the flat position of element (n, 0, *d) of the input, shape (N, *d): adding t·D
            # picks x[n, t, *d] with one ``take`` (D = Π d), not a pass over (N, C, *d)
            self.positions = math.prod(input.shape[2:])
            spatial = input.shape[2:]
            rows = xp.arange(input.shape[0], dtype=xp.int64, device=device) * (classes * self.positions)
            offsets = xp.arange(self.positions, dtype=xp.int64, device=device)
            self.base = xp.reshape(rows, (-1,) + (1,) * len(spatial)) + xp.reshape(offsets, (1,) + spatial)
        self.ignore_index = int(ignore_index)
        self.ignore_in_range = 0 <= self.ignore_index < classes
        self.reduction = reduction
        self.samples = math.prod(expected)
        self.onehot = self.sample_weight = self.denominator = self.flat = self.ones = None
        if target.is_leaf:
            check_class_indices(op, target, classes, self.ignore_index)

    def _select(self) -> Any:
        """Set the one-hot mask and the per-sample weights; return the "not ignored" mask (None
        when no sample is ignored and there are no class weights: every weight is 1)."""
        xp = self.xp
        target = self.inputs[1]
        t = target.value
        onehot = self.classes == xp.expand_dims(t, axis=1)
        # every index not ignored must match exactly one class: one count, one host read
        # (measured: 0.4 µs for 128 × 10, 30 µs for 1024 × 1000 on NumPy; see docs/nn.md)
        matched = int(xp.count_nonzero(onehot))
        self.onehot = onehot
        if matched == self.samples and not self.ignore_in_range and len(self.inputs) == 2:
            # the common case: every sample names a class and none is ignored (the ignore index
            # names no class), so every weight is 1 and the mean divides by N — the arrays of
            # the general case below, without the passes that would recompute those constants
            ones = self.ones
            if ones is None:  # made once, never written (the products below make new arrays)
                backend = self.backend
                with backend.scope():
                    ones = self.ones = xp.ones(t.shape, dtype=backend.dtype(self.dtype), device=backend.native_device)
            self.sample_weight = ones
            self.denominator = float(self.samples) if self.reduction == "mean" else None
            index = t if t.dtype == xp.int64 else xp.astype(t, xp.int64)
            self.flat = xp.reshape((index * self.positions if self.positions != 1 else index) + self.base, (-1,))
            return None
        valid = t != self.ignore_index
        if not self.ignore_in_range:
            matched = matched + int(xp.count_nonzero(xp.logical_not(valid)))
        if matched != self.samples:
            check_class_indices(self.name, target, self.classes.shape[1], self.ignore_index, assigned=True)
            raise ValueError(f"{self.name}: a target index matches no class")  # unreachable
        if self.ignore_in_range:
            self.onehot = xp.logical_and(onehot, xp.expand_dims(valid, axis=1))
        dtype = self.backend.dtype(self.dtype)
        index = xp.astype(xp.where(valid, t, xp.zeros_like(t)), xp.int64)  # an ignored sample picks class 0, weighted 0
        self.flat = xp.reshape(index * self.positions + self.base, (-1,))
        self.sample_weight = xp.astype(valid, dtype)
        if len(self.inputs) == 3:
            picked = xp.reshape(xp.take(self.inputs[2].value, xp.reshape(index, (-1,))), t.shape)
            self.sample_weight = picked * self.sample_weight
        self.denominator = xp.sum(self.sample_weight) if self.reduction == "mean" else None
        return valid

    def _picked(self, values: Any) -> Any:
        """``values[n, t_n, *d]`` for every sample, shape ``(N, *d)``: one ``take``."""
        xp = self.xp
        return xp.reshape(xp.take(xp.reshape(values, (-1,)), self.flat), self.inputs[1].shape)

    def _weight(self) -> Any:
        """The class weights shaped to broadcast along the class axis, ``(1, C, 1, ...)``."""
        return self.xp.reshape(self.inputs[2].value, self.classes.shape)

    def _reduce(self, per_sample: Any) -> Any:
        if self.reduction == "none":
            return per_sample
        total = self.xp.sum(per_sample)
        return total if self.reduction == "sum" else total / self.denominator

    def _upstream(self) -> Any:
        """The incoming gradient per sample, broadcastable along the class axis."""
        if self.reduction == "none":
            return self.xp.expand_dims(self.grad, axis=1)
        return self.grad if self.reduction == "sum" else self.grad / self.denominator


class NLL(ClassIndexLoss):
    """``-w[t_n]·x[n, t_n]`` of log-probabilities ``x``, reduced (see the module docstring)."""

    __slots__ = ()
    name = "nll_loss"

    def _forward(self) -> None:
        self._select()
        picked = -self._picked(self.inputs[0].value)
        # every weight 1 (the common case, see ``_select``): ``x·1`` is ``x``, so no product
        self.value = self._reduce(picked if self.sample_weight is self.ones else picked * self.sample_weight)

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            xp = self.xp
            scaled = -self._upstream()
            if self.sample_weight is not self.ones:
                scaled = scaled * xp.expand_dims(self.sample_weight, axis=1)
            input.add_grad(xp.where(self.onehot, scaled, 0.0))


def log_softmax_parts(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(log p, p)`` of logits along axis 1, shifted by the maximum (finite for any logits)."""
    shifted, log_total, probs = softmax_parts(xp, x)
    return shifted - log_total, probs


def softmax_parts(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """``(x - max, ln Σ e^(x - max), p)`` along axis 1: ``log p = (x - max) - ln Σ``, left for
    the caller to form only where it needs it."""
    shifted = x - xp.max(x, axis=1, keepdims=True)
    probs = xp.exp(shifted)
    total = xp.sum(probs, axis=1, keepdims=True)
    return shifted, xp.log(total), probs / total


class CrossEntropy(ClassIndexLoss):
    """Fused log-softmax + NLL of logits with class-index targets, optional label smoothing."""

    __slots__ = ("smoothing", "probs", "valid", "kept")
    name = "cross_entropy_loss"
    probs: Any
    valid: Any
    kept: Any

    def __init__(self, input: Node, target: Node, weight: "Node | None", ignore_index: int, reduction: str, smoothing: float) -> None:
        super().__init__(input, target, weight, ignore_index, reduction)
        self.smoothing = smoothing
        self.probs = self.valid = self.kept = None

    def _forward(self) -> None:
        xp = self.xp
        valid = self.kept = self._select()
        shifted, log_total, self.probs = softmax_parts(xp, self.inputs[0].value)
        log_total = xp.reshape(log_total, self.inputs[1].shape)
        per_sample = (log_total - self._picked(shifted)) * self.sample_weight
        if self.smoothing:
            # Σ_c w_c·log p_c = Σ_c w_c·shifted_c - W·ln Σ
            if len(self.inputs) == 2:
                weighted, total_weight = xp.sum(shifted, axis=1), float(self.classes.shape[1])
            else:
                weighted, total_weight = xp.sum(shifted * self._weight(), axis=1), xp.sum(self.inputs[2].value)
            self.valid = self.sample_weight if valid is None else xp.astype(valid, self.backend.dtype(self.dtype))
            smooth = (log_total * total_weight - weighted) * self.valid
            per_sample = per_sample * (1.0 - self.smoothing) + smooth * (self.smoothing / self.classes.shape[1])
        self.value = self._reduce(per_sample)

    def _backward(self) -> None:
        input = self.inputs[0]
        if not input.requires_grad:
            return
        xp, probs = self.xp, self.probs
        # an ignored sample's gradient is 0 even when every sample is ignored: the mean then
        # divides by 0, and weight 0 times the infinite upstream would be NaN (PyTorch gives 0)
        masked = self.kept is not None and self.reduction == "mean"
        if not self.smoothing:  # the common case: three passes over (N, C, *d)
            factor = xp.expand_dims(self.sample_weight, axis=1) * self._upstream()
            if masked:
                factor = xp.where(xp.expand_dims(self.kept, axis=1), factor, 0.0)
            input.add_grad(xp.where(self.onehot, probs - 1.0, probs) * factor)
            return
        local = xp.where(self.onehot, probs - 1.0, probs) * xp.expand_dims(self.sample_weight, axis=1)
        if len(self.inputs) == 2:
            spread = probs * float(self.classes.shape[1]) - 1.0
        else:
            weight = self._weight()
            spread = probs * xp.sum(weight) - weight
        local = local * (1.0 - self.smoothing) + spread * (xp.expand_dims(self.valid, axis=1) * (self.smoothing / self.classes.shape[1]))
        grad = local * self._upstream()
        input.add_grad(xp.where(xp.expand_dims(self.kept, axis=1), grad, 0.0) if masked else grad)


class SoftCrossEntropy(Node):
    """Cross-entropy of logits ``x`` and class probabilities ``q`` of the same shape."""

    __slots__ = ("smoothing", "reduction", "scale", "weight_shape", "logp", "probs", "mixed")
    name = "cross_entropy_loss"
    logp: Any
    probs: Any
    mixed: Any

    def __init__(self, input: Node, target: Node, weight: "Node | None", reduction: str, smoothing: float) -> None:
        if target.backend is not input.backend or target.dtype != input.dtype:
            raise TypeError(
                f"{self.name}: probability targets must share the input's device and dtype "
                f"({input.backend.device}, {input.dtype}); got {target.backend.device}, {target.dtype}"
            )
        _check_weight(self.name, input, weight)
        inputs = (input, target) if weight is None else (input, target, weight)
        self._setup(inputs, input.shape[:1] + input.shape[2:] if reduction == "none" else (), input.dtype, input.backend)
        if weight is not None:  # a weight is constant: differentiable only through input/target
            self.differentiable = self.requires_grad = self.differentiable and (input.differentiable or target.differentiable)
        self.smoothing = smoothing
        self.reduction = reduction
        classes = input.shape[1]
        self.scale = classes / max(math.prod(input.shape), 1) if reduction == "mean" else 1.0
        self.weight_shape = (1, classes) + (1,) * (len(input.shape) - 2)
        self.logp = self.probs = self.mixed = None

    def _forward(self) -> None:
        xp = self.xp
        self.logp, self.probs = log_softmax_parts(xp, self.inputs[0].value)
        mixed = self.inputs[1].value
        if self.smoothing:
            mixed = mixed * (1.0 - self.smoothing) + self.smoothing / self.logp.shape[1]
        if len(self.inputs) == 3:
            mixed = mixed * xp.reshape(self.inputs[2].value, self.weight_shape)
        self.mixed = mixed  # w·q'
        per_sample = -xp.sum(mixed * self.logp, axis=1)
        if self.reduction == "none":
            self.value = per_sample
        else:
            total = xp.sum(per_sample)
            self.value = total if self.scale == 1.0 else total * self.scale

    def _backward(self) -> None:
        xp = self.xp
        input, target = self.inputs[0], self.inputs[1]
        upstream = xp.expand_dims(self.grad, axis=1) if self.reduction == "none" else self.grad * self.scale
        if input.requires_grad:
            input.add_grad((self.probs * xp.sum(self.mixed, axis=1, keepdims=True) - self.mixed) * upstream)
        if target.requires_grad:
            local = -self.logp * (1.0 - self.smoothing)
            if len(self.inputs) == 3:
                local = local * xp.reshape(self.inputs[2].value, self.weight_shape)
            target.add_grad(local * upstream)


def check_class_indices(op: str, target: Node, classes: int, ignore_index: int = -100, assigned: bool = False) -> None:
    """Every value of a target other than ``ignore_index`` must be an integer in ``[0, classes)``:
    checked on a leaf target when the loss is built, and (``assigned``) by ``forward`` when an
    index matched no class."""
    xp, values = target.xp, target.value
    if values is None or not values.shape or 0 in values.shape:
        return
    with target.backend.scope():  # `!=` is a kernel of the current device: the target's
        kept = values != ignore_index
        if not bool(xp.any(kept)):
            return
        floating = target.dtype.name in EXACT_INTEGERS
        low = float(xp.min(xp.where(kept, values, xp.max(values))))
        high = float(xp.max(xp.where(kept, values, xp.min(values))))
        integral = not floating or not bool(xp.any(xp.logical_and(kept, values != xp.round(values))))
    if not integral or low < 0 or high >= classes or low != low or high != high:
        when = " (in the values the target holds now)" if assigned else ""
        raise ValueError(
            f"{op}: target class indices must be integers in [0, {classes - 1}] for an input "
            f"with {classes} classes (or ignore_index={ignore_index}); got values from {low:g} "
            f"to {high:g}{when}" + ("" if integral else " (some not integral)")
        )
