"""Adam and its AMSGrad variant."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Param
from .optimizer import Optimizer, check_real, hyperparameter
from .penalty import Penalty


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's ``torch.optim.Adam`` update rule.

    For every parameter ``w`` with gradient ``g`` (penalty included) at step ``t = 1, 2, …``,
    with ``m₀ = v₀ = 0``::

        m_t = β₁·m_{t−1} + (1 − β₁)·g
        v_t = β₂·v_{t−1} + (1 − β₂)·g²
        w  ← w − (lr / (1 − β₁ᵗ)) · m_t / (√v_t / √(1 − β₂ᵗ) + ε)

    Args:
        params: the parameters to optimize.
        lr: learning rate, >= 0.
        betas: ``(β₁, β₂)``, the decay rates of the first and second moments, each in [0, 1).
        penalty: ``L1``, ``L2``, ``ElasticNet`` or None.
        eps: ε >= 0, added to the denominator for numerical stability.

    State per parameter: ``exp_avg`` (m) and ``exp_avg_sq`` (v), of the parameter's shape.

    >>> w = nk.ones(2, dtype="float64").requires_grad(); (w * w).sum().backward(); nk.optim.Adam([w], lr=0.1).step(); w.numpy().round(4).tolist()
    [0.9, 0.9]
    """

    _names = ("betas", "eps")
    _buffers: tuple[str, ...] = ("exp_avg", "exp_avg_sq")

    _betas: tuple[float, float]
    _eps: float

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        penalty: Penalty | None = None,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr, penalty, betas=betas, eps=eps)

    betas = hyperparameter("betas", "The moment decay rates ``(β₁, β₂)``.")
    eps = hyperparameter("eps", "The ε added to the denominator.")

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        values = super()._validated(values)
        owner = type(self).__name__
        try:
            beta1, beta2 = values["betas"]
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {values['betas']!r}") from None
        values["betas"] = (
            check_real(owner, "betas[0]", beta1, 0.0, 1.0, high_open=True),
            check_real(owner, "betas[1]", beta2, 0.0, 1.0, high_open=True),
        )
        values["eps"] = check_real(owner, "eps", values["eps"])
        return values

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any]) -> None:
        beta1, beta2 = self._betas
        if not state:
            value = param._node.value
            state["exp_avg"], state["exp_avg_sq"] = xp.zeros_like(value), xp.zeros_like(value)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * grad
        square = grad * grad
        square *= 1.0 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += square
        del square
        step = self._steps
        denominator = xp.sqrt(self._second_moment(xp, state, exp_avg_sq))
        denominator /= math.sqrt(1.0 - beta2**step)
        denominator += self._eps
        update = exp_avg / denominator
        del denominator
        update *= self._lr / (1.0 - beta1**step)
        param.data -= update

    def _second_moment(self, xp: Any, state: dict[str, Any], exp_avg_sq: Any) -> Any:
        """The second-moment estimate the step divides by (Adam: ``v_t`` itself)."""
        return exp_avg_sq


class AMSGrad(Adam):
    r"""AMSGrad (Reddi et al., 2018): Adam dividing by the running maximum of ``v``
    (PyTorch's ``torch.optim.Adam(amsgrad=True)``)::

        m_t, v_t as Adam
        v̂_t = max(v̂_{t−1}, v_t)                    (v̂₀ = 0)
        w  ← w − (lr / (1 − β₁ᵗ)) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    Same arguments as :class:`Adam`. State per parameter: ``exp_avg``, ``exp_avg_sq`` and
    ``max_exp_avg_sq``.

    >>> w = nk.ones(2, dtype="float64").requires_grad(); (w * w).sum().backward(); nk.optim.AMSGrad([w], lr=0.1).step(); w.numpy().round(4).tolist()
    [0.9, 0.9]
    """

    _buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def _second_moment(self, xp: Any, state: dict[str, Any], exp_avg_sq: Any) -> Any:
        previous = state.get("max_exp_avg_sq")
        maximum = exp_avg_sq if previous is None else xp.maximum(previous, exp_avg_sq)
        state["max_exp_avg_sq"] = xp.asarray(maximum, copy=True) if previous is None else maximum
        return maximum
