"""RMSProp, plain or centered, with optional momentum."""

from __future__ import annotations

from typing import Any

from ..autograd import Param
from .optimizer import Optimizer, check_flag, check_real, hyperparameter
from .penalty import Penalty


class RMSProp(Optimizer):
    r"""RMSProp (Hinton's lecture 6e; centered form from Graves, 2013), with PyTorch's
    ``torch.optim.RMSprop`` update rule.

    For every parameter ``w`` with gradient ``g`` (penalty included), with all buffers starting
    at 0::

        v_t = α·v_{t−1} + (1 − α)·g²
        centered:      ḡ_t = α·ḡ_{t−1} + (1 − α)·g ;   a = √(v_t − ḡ_t²) + ε
        not centered:  a = √v_t + ε
        momentum μ>0:  b_t = μ·b_{t−1} + g / a ;       w ← w − lr·b_t
        otherwise:     w ← w − lr · g / a

    Args:
        params: the parameters to optimize.
        lr: learning rate, >= 0.
        alpha: smoothing constant α in [0, 1].
        penalty: ``L1``, ``L2``, ``ElasticNet`` or None.
        eps: ε >= 0, added to the denominator (after the square root) for numerical stability.
        centered: normalise by an estimate of the gradient's variance instead of its second
            moment.
        momentum: momentum factor μ >= 0 (0 disables momentum).

    The crate's builder forms ``RMSProp(params).centered()``, ``.with_momentum(μ)`` and
    ``.centered_with_momentum(μ)`` give the same optimizers. State per parameter:
    ``square_avg`` (v), ``grad_avg`` (ḡ, centered) and ``momentum_buffer`` (b, momentum).

    >>> w = nk.ones(2, dtype="float64").requires_grad(); (w * w).sum().backward(); nk.optim.RMSProp([w], lr=0.01).step(); w.numpy().round(4).tolist()
    [0.9, 0.9]
    """

    _names = ("alpha", "eps", "centered", "momentum")
    _buffers = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        penalty: Penalty | None = None,
        eps: float = 1e-8,
        centered: bool = False,
        momentum: float = 0.0,
    ) -> None:
        super().__init__(params, lr, penalty, alpha=alpha, eps=eps, centered=centered, momentum=momentum)

    alpha = hyperparameter("alpha", "The smoothing constant α.")
    eps = hyperparameter("eps", "The ε added to the denominator.")
    momentum = hyperparameter("momentum", "The momentum factor μ (0: no momentum).")

    @property
    def is_centered(self) -> bool:
        """Whether this is the centered variant (settable; see also :meth:`centered`)."""
        return self._common("centered")  # type: ignore[no-any-return]

    @is_centered.setter
    def is_centered(self, value: bool) -> None:
        self._set(centered=value)

    def centered(self, enabled: bool = True) -> "RMSProp":
        """Switch to the centered variant (the crate's builder); returns this optimizer."""
        self._set(centered=enabled)
        return self

    def with_momentum(self, momentum: float) -> "RMSProp":
        """Switch on momentum (the crate's builder); returns this optimizer."""
        self._set(momentum=momentum)
        return self

    def centered_with_momentum(self, momentum: float) -> "RMSProp":
        """The centered variant with momentum (the crate's builder); returns this optimizer."""
        self._set(centered=True, momentum=momentum)
        return self

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        values = super()._validated(values)
        values["alpha"] = check_real("RMSProp", "alpha", values["alpha"], 0.0, 1.0)
        values["eps"] = check_real("RMSProp", "eps", values["eps"])
        values["centered"] = check_flag("RMSProp", "centered", values["centered"])
        values["momentum"] = check_real("RMSProp", "momentum", values["momentum"])
        return values

    def _update(self, param: Param, xp: Any, grad: Any, state: dict[str, Any], hyper: dict[str, Any], step: int) -> None:
        alpha = hyper["alpha"]
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = xp.zeros_like(param._node.value)
        square = grad * grad
        square *= 1.0 - alpha
        square_avg *= alpha
        square_avg += square
        del square
        state["square_avg"] = square_avg  # immutable arrays (Backend.mutable_arrays): new ones
        if hyper["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = xp.zeros_like(square_avg)
            grad_avg *= alpha
            grad_avg += (1.0 - alpha) * grad
            state["grad_avg"] = grad_avg
            denominator = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = xp.sqrt(square_avg)
        denominator += hyper["eps"]
        momentum = hyper["momentum"]
        if momentum > 0.0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = xp.zeros_like(square_avg)
            buffer *= momentum
            buffer += grad / denominator
            state["momentum_buffer"] = buffer
            param.data -= hyper["lr"] * buffer
        else:
            update = grad / denominator
            del denominator
            update *= hyper["lr"]
            param.data -= update
