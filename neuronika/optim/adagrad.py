"""Adagrad."""

from __future__ import annotations

from typing import Any

from ..autograd import Param
from .optimizer import Optimizer, check_real, hyperparameter
from .penalty import Penalty


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's ``torch.optim.Adagrad`` update rule.

    For every parameter ``w`` with gradient ``g`` (penalty included) at step ``t = 1, 2, …``,
    with ``s₀ = 0``::

        clr = lr / (1 + (t − 1)·lr_decay)
        s_t = s_{t−1} + g²
        w  ← w − clr · g / (√s_t + ε)

    Args:
        params: the parameters to optimize.
        lr: learning rate, >= 0.
        lr_decay: learning-rate decay >= 0.
        penalty: ``L1``, ``L2``, ``ElasticNet`` or None.
        eps: ε >= 0, added to the denominator for numerical stability.

    State per parameter: ``sum`` (s), of the parameter's shape.

    >>> w = nk.ones(2, dtype="float64").requires_grad(); (w * w).sum().backward(); nk.optim.Adagrad([w], lr=0.1).step(); w.numpy().round(4).tolist()
    [0.9, 0.9]
    """

    _names = ("lr_decay", "eps")
    _buffers = ("sum",)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        penalty: Penalty | None = None,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr, penalty, lr_decay=lr_decay, eps=eps)

    lr_decay = hyperparameter("lr_decay", "The learning-rate decay.")
    eps = hyperparameter("eps", "The ε added to the denominator.")

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        values = super()._validated(values)
        values["lr_decay"] = check_real("Adagrad", "lr_decay", values["lr_decay"])
        values["eps"] = check_real("Adagrad", "eps", values["eps"])
        return values

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        squares = state.get("sum")
        if squares is None:
            squares = state["sum"] = xp.zeros_like(param._node.value)
        squares += grad * grad
        state["sum"] = squares  # immutable arrays: ``+=`` made a new one
        denominator = xp.sqrt(squares)
        denominator += hyper["eps"]
        update = grad / denominator
        del denominator
        update *= hyper["lr"] / (1.0 + (step - 1) * hyper["lr_decay"])
        param.data -= update
