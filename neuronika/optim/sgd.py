"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from ..autograd import Param
from .optimizer import Optimizer, check_flag, check_real, hyperparameter
from .penalty import Penalty


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD`` rule).

    For every parameter ``w`` with gradient ``g`` (penalty included) at step ``t``::

        without momentum:   w ← w − lr·g
        with momentum μ:    b₁ = g                      (first step: no dampening)
                            b_t = μ·b_{t−1} + (1 − dampening)·g
                            d = g + μ·b_t   if nesterov   else   d = b_t
                            w ← w − lr·d

    Args:
        params: the parameters (``model.parameters()``, ``loss.parameters()`` or
            differentiable leaves).
        lr: learning rate, >= 0.
        penalty: ``L1``, ``L2``, ``ElasticNet`` or None.
        momentum: momentum factor μ >= 0 (0 disables momentum).
        dampening: dampening of the gradient in the momentum buffer, in [0, 1].
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).

    The crate's builder form ``SGD(params, lr).with_momentum(momentum, dampening, nesterov)``
    gives the same optimizer.

    >>> w = nk.ones(2, dtype="float64").requires_grad(); (w * w).sum().backward(); nk.optim.SGD([w], lr=0.25).step(); w.numpy().tolist()
    [0.5, 0.5]
    """

    _names = ("momentum", "dampening", "nesterov")
    _buffers = ("momentum_buffer",)

    def __init__(
        self,
        params: Any,
        lr: float,
        penalty: Penalty | None = None,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr, penalty, momentum=momentum, dampening=dampening, nesterov=nesterov)

    momentum = hyperparameter("momentum", "The momentum factor μ (0: plain SGD).")
    dampening = hyperparameter("dampening", "The dampening of the gradient in the momentum buffer.")
    nesterov = hyperparameter("nesterov", "Whether the momentum is Nesterov's.")

    def with_momentum(self, momentum: float, dampening: float = 0.0, nesterov: bool = False) -> "SGD":
        """Switch on momentum (the crate's builder); returns this optimizer."""
        self._set(momentum=momentum, dampening=dampening, nesterov=nesterov)
        return self

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        values = super()._validated(values)
        values["momentum"] = check_real("SGD", "momentum", values["momentum"])
        values["dampening"] = check_real("SGD", "dampening", values["dampening"], 0.0, 1.0)
        values["nesterov"] = check_flag("SGD", "nesterov", values["nesterov"])
        if values["nesterov"] and (values["momentum"] == 0.0 or values["dampening"] != 0.0):
            raise ValueError(
                f"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={values['momentum']} and dampening={values['dampening']}"
            )
        return values

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        momentum = hyper["momentum"]
        if momentum == 0.0:
            param.data -= hyper["lr"] * grad
            return
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = xp.asarray(grad, copy=True)
        else:
            buffer *= momentum
            buffer += (1.0 - hyper["dampening"]) * grad
            state["momentum_buffer"] = buffer  # immutable arrays: ``+=`` made a new one
        if hyper["nesterov"]:
            direction = momentum * buffer
            direction += grad
            direction *= hyper["lr"]
        else:
            direction = hyper["lr"] * buffer
        param.data -= direction
