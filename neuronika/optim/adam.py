"""Adam, its AMSGrad variant and AdamW (decoupled weight decay)."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Param
from .optimizer import Optimizer, check_flag, check_real, hyperparameter
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

    _names: tuple[str, ...] = ("betas", "eps")
    _buffers: tuple[str, ...] = ("exp_avg", "exp_avg_sq")

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

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        beta1, beta2 = hyper["betas"]
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
        state["exp_avg"], state["exp_avg_sq"] = exp_avg, exp_avg_sq  # immutable arrays: new ones
        denominator = xp.sqrt(self._second_moment(xp, state, exp_avg_sq, hyper))
        denominator /= math.sqrt(1.0 - beta2**step)
        denominator += hyper["eps"]
        update = exp_avg / denominator
        del denominator
        update *= hyper["lr"] / (1.0 - beta1**step)
        param.data -= update

    def _second_moment(self, xp: Any, state: dict[str, Any], exp_avg_sq: Any, hyper: dict[str, Any]) -> Any:
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

    def _second_moment(self, xp: Any, state: dict[str, Any], exp_avg_sq: Any, hyper: dict[str, Any]) -> Any:
        return running_maximum(xp, state, exp_avg_sq)


def running_maximum(xp: Any, state: dict[str, Any], exp_avg_sq: Any) -> Any:
    """``v̂_t = max(v̂_{t−1}, v_t)``, kept in ``state["max_exp_avg_sq"]`` (AMSGrad's estimate)."""
    previous = state.get("max_exp_avg_sq")
    maximum = exp_avg_sq if previous is None else xp.maximum(previous, exp_avg_sq)
    state["max_exp_avg_sq"] = xp.asarray(maximum, copy=True) if previous is None else maximum
    return maximum


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's
    ``torch.optim.AdamW`` rule: before the Adam step the weights shrink by ``lr·λ``, and the
    decay never enters the moments::

        w  ← w · (1 − lr·λ)
        m_t, v_t (and v̂_t with amsgrad) as Adam / AMSGrad
        w  ← w − (lr / (1 − β₁ᵗ)) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)      (v̂_t = v_t without amsgrad)

    Args:
        params: the parameters to optimize, or a list of parameter-group dicts.
        lr: learning rate, >= 0.
        betas: ``(β₁, β₂)``, each in [0, 1).
        eps: ε >= 0, added to the denominator.
        weight_decay: the decoupled decay λ >= 0 (PyTorch's default 1e-2).
        amsgrad: divide by the running maximum of ``v`` (AMSGrad).
        penalty: a crate penalty (``L1``, ``L2``, ``ElasticNet``) added to the gradient, or None.

    State per parameter: ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.

    >>> w = nk.ones(2, dtype="float64").requires_grad()
    >>> AdamW([w], lr=0.1, weight_decay=0.5).step()     # no gradient yet: only the decay acts
    >>> w.numpy().tolist()
    [0.95, 0.95]
    """

    _names: tuple[str, ...] = ("betas", "eps", "weight_decay", "amsgrad")
    _buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        penalty: Penalty | None = None,
    ) -> None:
        Optimizer.__init__(self, params, lr, penalty, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    weight_decay = hyperparameter("weight_decay", "The decoupled weight decay λ.")
    amsgrad = hyperparameter("amsgrad", "Whether the step divides by the running maximum of v.")

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        values = super()._validated(values)
        values["weight_decay"] = check_real("AdamW", "weight_decay", values["weight_decay"])
        values["amsgrad"] = check_flag("AdamW", "amsgrad", values["amsgrad"])
        return values

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        decay = hyper["lr"] * hyper["weight_decay"]
        if decay != 0.0:
            param.data *= 1.0 - decay
        super()._update(param, xp, grad, state, hyper, step)

    def _second_moment(self, xp: Any, state: dict[str, Any], exp_avg_sq: Any, hyper: dict[str, Any]) -> Any:
        return running_maximum(xp, state, exp_avg_sq) if hyper["amsgrad"] else exp_avg_sq
