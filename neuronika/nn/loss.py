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
a constant on the input's device and dtype.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar, cast

from ..autograd import Var
from ..autograd import loss as nodes
from ..autograd.node import Leaf
from ..autograd.variable import wrap

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


def _target(op: str, input: Var, target: Any) -> Var:
    """The target as a variable; arrays and lists become constants beside the input."""
    if isinstance(target, Var):
        return target
    node = input._node
    try:
        value = node.backend.asarray(target, node.dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{op}: cannot use a {type(target).__name__} as the target: {error}") from error
    if value is target:
        value = node.xp.asarray(value, copy=True)
    return Var(Leaf(value, node.backend, node.dtype))


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
    goal = _target("mae_loss", prediction, target)
    _same_shape("mae_loss", prediction, goal)
    absolute = (prediction - goal).abs()
    return cast(_V, absolute.sum() if mode == "sum" else absolute.mean())


def _fused(op: str, node_type: type, input: _V, target: Any, reduction: "str | Reduction", per_batch: bool = False) -> _V:
    mode = _reduction(op, reduction)
    prediction = _input(op, input)
    goal = _target(op, prediction, target)
    node = node_type(prediction._node, goal._node)
    divisor = (prediction.shape[0] if prediction.shape else 1) if per_batch else None
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
    labels) or any integer array or list, converted to a constant. Indices known when the loss is
    built (a leaf target) must be integers in ``[0, C)``, else ``ValueError``; values assigned to
    the target later are not checked (an index out of range then matches no class and adds 0).

    >>> nk.nn.loss.nll_loss(nk.from_ndarray([[-1.0, -2.0]]), [1]).forward().item()
    2.0
    """
    mode = _reduction("nll_loss", reduction)
    log_probabilities = _input("nll_loss", input)
    indices = _target("nll_loss", log_probabilities, target)
    return cast(_V, wrap(nodes.reduce(nodes.NLL(log_probabilities._node, indices._node), mode)))
