"""Loss modules with PyTorch's names and defaults: each calls the function of
:mod:`neuronika.nn.loss` with the options given to its constructor.

Class weights and ``pos_weight`` are buffers (``weight``, ``pos_weight``), so they move with
``module.to(device)`` and are saved in the state dict, as in PyTorch; a weight in another
floating dtype than the input is converted when the loss is built.

>>> criterion = nk.nn.CrossEntropyLoss()
>>> round(criterion(nk.zeros((2, 3)), [0, 2]).forward().item(), 4)  # ln 3
1.0986
"""

from __future__ import annotations

from typing import Any

from ..autograd import Var
from . import functional as F
from . import loss as functions
from .module import Module

__all__ = [
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "HuberLoss", "SmoothL1Loss",
    "KLDivLoss",
]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = functions._reduction(type(self).__name__, reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def _buffer(self, name: str, input: Var) -> "Var | None":
        """The buffer ``name`` in the input's dtype (None when unset)."""
        value: "Var | None" = self._buffers.get(name)
        if value is None or value.dtype == input.dtype:
            return value
        return value.astype(input.dtype)


class _Pair(_Loss):
    function: Any = None

    def forward(self, input: Var, target: Any) -> Var:
        """The loss of ``input`` against ``target`` (a 0-d variable unless ``reduction="none"``)."""
        loss: Var = type(self).function(input, target, self.reduction)
        return loss


class MSELoss(_Pair):
    """``mse_loss``: mean squared error, ``(x - t)²``.

    >>> nk.nn.MSELoss()(nk.ones(2), nk.zeros(2)).forward().item()
    1.0
    """

    function = staticmethod(functions.mse_loss)


class L1Loss(_Pair):
    """``mae_loss``: mean absolute error, ``|x - t|``.

    >>> nk.nn.L1Loss(reduction="sum")(nk.ones(2), nk.zeros(2)).forward().item()
    2.0
    """

    function = staticmethod(functions.mae_loss)


class BCELoss(_Loss):
    """``bce_loss``: binary cross-entropy of probabilities, each element's loss rescaled by
    ``weight`` (a buffer) when given.

    >>> round(nk.nn.BCELoss()(nk.full(2, 0.5), nk.ones(2)).forward().item(), 4)
    0.6931
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Var, target: Any) -> Var:
        """The mean (or sum) binary cross-entropy of ``input`` against ``target``."""
        return functions.bce_loss(input, target, self.reduction, weight=self._buffer("weight", input))


class BCEWithLogitsLoss(_Loss):
    """``bce_with_logits_loss`` with optional ``weight`` (per element) and ``pos_weight`` (the
    positive term), both buffers, as PyTorch's.

    >>> round(nk.nn.BCEWithLogitsLoss(pos_weight=nk.full(2, 2.0))(nk.zeros((1, 2)), nk.ones((1, 2))).forward().item(), 4)
    1.3863
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Var, target: Any) -> Var:
        """The mean (or sum) binary cross-entropy of the logits ``input`` against ``target``."""
        return functions.bce_with_logits_loss(
            input, target, self.reduction, pos_weight=self._buffer("pos_weight", input), weight=self._buffer("weight", input)
        )


class KLDivLoss(_Loss):
    """``nn.functional.kl_div``: KL divergence of log-probabilities from probabilities with
    PyTorch's reductions (``"mean"``: over elements; ``"batchmean"``: over the batch, the
    crate's ``kldiv_loss`` "mean"; ``"sum"``; ``"none"``). ``log_target`` is not provided.

    >>> nk.nn.KLDivLoss(reduction="batchmean")(nk.full((2, 2), 0.5).ln(), nk.full((2, 2), 0.5)).forward().item()
    0.0
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        if reduction not in ("mean", "batchmean", "sum", "none") or log_target:
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none' (and log_target False), got {reduction!r}")
        Module.__init__(self)
        self.reduction = reduction

    def forward(self, input: Var, target: Any) -> Var:
        """The KL divergence of ``input`` (log-probabilities) from ``target`` (probabilities)."""
        return F.kl_div(input, target, self.reduction)


class HuberLoss(_Loss):
    """``huber_loss(delta)``: quadratic within ``delta``, linear beyond.

    >>> nk.nn.HuberLoss(delta=1.0)(nk.full(1, 3.0), nk.zeros(1)).forward().item()
    2.5
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Var, target: Any) -> Var:
        return functions.huber_loss(input, target, self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class SmoothL1Loss(_Loss):
    """``smooth_l1_loss(beta)``: ``huber_loss(delta=beta) / beta``.

    >>> nk.nn.SmoothL1Loss(beta=0.5)(nk.full(1, 3.0), nk.zeros(1)).forward().item()
    2.75
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Var, target: Any) -> Var:
        return functions.smooth_l1_loss(input, target, self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class NLLLoss(_Loss):
    """``nll_loss`` of log-probabilities with optional class ``weight`` (a buffer) and
    ``ignore_index``.

    >>> nk.nn.NLLLoss(weight=nk.from_ndarray([1.0, 3.0]))(nk.from_ndarray([[-1.0, -2.0]]), [1]).forward().item()
    2.0
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = functions._ignore_index(type(self).__name__, ignore_index)

    def forward(self, input: Var, target: Any) -> Var:
        """``nll_loss`` of log-probabilities ``(N, C, *d)`` and class indices ``(N, *d)``."""
        weight = self._buffer("weight", input)
        return functions.nll_loss(input, target, self.reduction, weight=weight, ignore_index=self.ignore_index)

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, reduction={self.reduction!r}"


class CrossEntropyLoss(NLLLoss):
    """``cross_entropy_loss`` of logits (fused log-softmax + NLL) with class-index or
    probability targets, optional class ``weight`` (a buffer), ``ignore_index`` and
    ``label_smoothing``.

    >>> round(nk.nn.CrossEntropyLoss(ignore_index=0)(nk.zeros((2, 3)), [1, 0]).forward().item(), 4)
    1.0986
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input: Var, target: Any) -> Var:
        """``cross_entropy_loss`` of logits ``(N, C, *d)`` and class indices or probabilities."""
        weight = self._buffer("weight", input)
        return functions.cross_entropy_loss(input, target, weight, self.ignore_index, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", label_smoothing={self.label_smoothing}"
