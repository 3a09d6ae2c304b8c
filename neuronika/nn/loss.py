"""Loss functions, as the crate's ``nn::loss``: each ``fn(input, target, reduction="mean")``
returns a 0-d variable; ``reduction`` is ``"mean"`` or ``"sum"`` (or ``Reduction.Mean`` /
``Reduction.Sum``).

=========================== ============================================ ======================
function                    element-wise loss ℓ                          "mean" divides by
=========================== ============================================ ======================
``mse_loss``                (x - t)²                                     number of elements
``mae_loss``                \\|x - t\\|                                    number of elements
``bce_loss``                -(t·ln x + (1 - t)·ln(1 - x)), logs ≥ -100  number of elements
``bce_with_logits_loss``    max(x, 0) - x·t + ln(1 + e^-|x|)             number of elements
``nll_loss``                -x[n, t_n]                                   number of samples N
``kldiv_loss``              t·(ln t - x), 0·ln 0 = 0                     batch size N
=========================== ============================================ ======================

Input and target must have the same shape (no broadcasting), checked when the loss is built.
Gradients flow to the input, and to a differentiable target (except for ``nll_loss``, whose
target holds class indices). A target may also be given as an array or nested lists: it becomes
a constant on the input's device and dtype (a copy; what ``from_ndarray`` accepts).

Empty batches: "sum" over no elements is 0; "mean" over an empty batch is 0/0, so every loss
refuses it with the same ValueError when the loss is built (use "sum", or skip empty batches).
"""

from __future__ import annotations

import enum
import math
from typing import Any, TypeVar, cast

from ..autograd import Var
from ..autograd import loss as nodes
from ..autograd.node import Leaf
from ..autograd.variable import wrap
from ..backends import DType, float32, float64
from ..backends._values import to_array

#: the input's kind: a loss of a VarDiff is a VarDiff (for type checkers; see docs/typing.md)
_V = TypeVar("_V", bound=Var)

__all__ = ["Reduction", "mse_loss", "mae_loss", "bce_loss", "bce_with_logits_loss", "nll_loss", "kldiv_loss"]


class Reduction(enum.Enum):
    """How the element-wise losses are combined into one number: ``Reduction.Mean`` or
    ``Reduction.Sum`` (the same as the strings ``"mean"`` and ``"sum"``).

    >>> nk.nn.loss.mse_loss(nk.ones(2), nk.zeros(2), nk.nn.loss.Reduction.Sum).forward().item()
    2.0
    """

    Mean = "mean"
    Sum = "sum"


def _reduction(op: str, reduction: "str | Reduction") -> str:
    if isinstance(reduction, Reduction):
        return reduction.value
    if isinstance(reduction, str) and reduction.lower() in ("mean", "sum"):
        return reduction.lower()
    raise ValueError(f"{op}: reduction must be 'mean' or 'sum' (or Reduction.Mean / Reduction.Sum), got {reduction!r}")


def _input(op: str, input: Any) -> Var:
    if not isinstance(input, Var):
        raise TypeError(f"{op}: input must be a neuronika variable, got {type(input).__name__}")
    return input


def _target(op: str, input: Var, target: Any, dtype: "DType | None" = None) -> Var:
    """The target as a variable; arrays and lists become constants (copies) beside the input,
    in the input's dtype unless ``dtype`` is given."""
    if isinstance(target, Var):
        return target
    node = input._node
    dtype = dtype or node.dtype
    return Var(Leaf(to_array(node.backend, target, dtype, f"{op}: target"), node.backend, dtype))


def _check_mean(op: str, mode: str, input: Var, divisor: "int | None" = None) -> None:
    """"mean" over an empty batch is 0/0: one error for every loss, when the loss is built.
    ``divisor`` is what the mean divides by (default: the number of elements of the input)."""
    count = math.prod(input.shape) if divisor is None else divisor
    if mode == "mean" and count == 0:
        raise ValueError(
            f"{op}: reduction='mean' over an empty batch (input shape {input.shape}) divides by "
            f"zero; use reduction='sum' (0 for an empty batch) or skip empty batches"
        )


def _same_shape(op: str, input: Var, target: Var) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input {input.shape} and target {target.shape} must have the same shape "
            f"(losses do not broadcast; reshape the target)"
        )


def mse_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Mean squared error: ``Σ (x - t)²``, divided by the number of elements for "mean".
    Input and target of one shape ``(*)``; the result is 0-d.

    >>> nk.nn.loss.mse_loss(nk.ones(3), nk.zeros(3)).forward().item()
    1.0
    """
    mode = _reduction("mse_loss", reduction)
    prediction = _input("mse_loss", input)
    _check_mean("mse_loss", mode, prediction)
    goal = _target("mse_loss", prediction, target)
    _same_shape("mse_loss", prediction, goal)
    squared = (prediction - goal).pow(2)
    return cast(_V, squared.sum() if mode == "sum" else squared.mean())


def mae_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Mean absolute error: ``Σ |x - t|``, divided by the number of elements for "mean"
    (the gradient at ``x = t`` is 0). Input and target of one shape ``(*)``; the result is 0-d.

    >>> nk.nn.loss.mae_loss(nk.full(2, 3.0), nk.ones(2)).forward().item()
    2.0
    """
    mode = _reduction("mae_loss", reduction)
    prediction = _input("mae_loss", input)
    _check_mean("mae_loss", mode, prediction)
    goal = _target("mae_loss", prediction, target)
    _same_shape("mae_loss", prediction, goal)
    absolute = (prediction - goal).abs()
    return cast(_V, absolute.sum() if mode == "sum" else absolute.mean())


def _fused(op: str, node_type: type, input: _V, target: Any, reduction: "str | Reduction", per_batch: bool = False) -> _V:
    mode = _reduction(op, reduction)
    prediction = _input(op, input)
    divisor = (prediction.shape[0] if prediction.shape else 1) if per_batch else None
    _check_mean(op, mode, prediction, divisor)
    goal = _target(op, prediction, target)
    node = node_type(prediction._node, goal._node)
    return cast(_V, wrap(nodes.reduce(node, mode, divisor)))


def bce_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Binary cross-entropy of probabilities ``x ∈ [0, 1]`` and targets ``t ∈ [0, 1]``:
    ``-(t·ln x + (1 - t)·ln(1 - x))`` with each log clamped at -100 (as PyTorch), so saturated
    probabilities give a large but finite loss. Input and target ``(*)``; result 0-d.

    >>> round(nk.nn.loss.bce_loss(nk.full(2, 0.5), nk.ones(2)).forward().item(), 4)
    0.6931
    """
    return _fused("bce_loss", nodes.BCE, input, target, reduction)


def bce_with_logits_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Binary cross-entropy of logits: ``bce_loss(σ(x), t)`` computed as
    ``max(x, 0) - x·t + ln(1 + e^-|x|)``, exact and finite for logits of any size. Input and
    target ``(*)``; result 0-d.

    >>> round(nk.nn.loss.bce_with_logits_loss(nk.zeros(2), nk.ones(2)).forward().item(), 4)
    0.6931
    """
    return _fused("bce_with_logits_loss", nodes.BCEWithLogits, input, target, reduction)


def kldiv_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Kullback-Leibler divergence of log-probabilities ``x`` from probabilities ``t``:
    ``Σ t·(ln t - x)`` (``0·ln 0 = 0``). "mean" divides by the batch size (the first axis), as
    the crate, i.e. PyTorch's ``reduction="batchmean"``. Input and target ``(N, *)``; result 0-d.

    >>> nk.nn.loss.kldiv_loss(nk.full((2, 2), 0.5).ln(), nk.full((2, 2), 0.5)).forward().item()
    0.0
    """
    return _fused("kldiv_loss", nodes.KLDiv, input, target, reduction, per_batch=True)


def nll_loss(input: _V, target: Any, reduction: "str | Reduction" = "mean") -> _V:
    """Negative log-likelihood of log-probabilities ``x (N, C)`` (e.g. from
    ``log_softmax(axis=1)``) and class indices ``t (N,)``: ``-Σ_n x[n, t_n]``, divided by N for
    "mean". Extra axes follow PyTorch: ``x (N, C, *d)`` with ``t (N, *d)``.

    The indices are floats holding integers (the crate's way: a ``Var`` such as a batch of
    labels) or any integer array or list, converted to a constant (float32 or wider when the
    input's dtype cannot hold every class index exactly, e.g. float16 with more than 2049
    classes). Indices must be integers in ``[0, C)``, else ``ValueError``: checked when the loss
    is built (a leaf target) and by every ``forward`` (so values assigned later are checked too).

    >>> nk.nn.loss.nll_loss(nk.from_ndarray([[-1.0, -2.0]]), [1]).forward().item()
    2.0
    """
    mode = _reduction("nll_loss", reduction)
    log_probabilities = _input("nll_loss", input)
    shape = log_probabilities.shape
    if len(shape) >= 2:
        _check_mean("nll_loss", mode, log_probabilities, math.prod(shape[:1] + shape[2:]))
    if not isinstance(target, Var) and len(shape) >= 2:
        needed = shape[1] - 1
        exact = nodes.EXACT_INTEGERS[log_probabilities.dtype.name]
        dtype = log_probabilities.dtype if needed <= exact else float32 if needed <= nodes.EXACT_INTEGERS["float32"] else float64
        target = _target("nll_loss", log_probabilities, target, dtype)
    indices = _target("nll_loss", log_probabilities, target)
    return cast(_V, wrap(nodes.reduce(nodes.NLL(log_probabilities._node, indices._node), mode)))
