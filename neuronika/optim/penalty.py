"""Weight penalties, added to a parameter's gradient before every optimizer update.

A penalty ``P`` contributes the gradient of its regularisation term, evaluated at the current
weights ``w`` (element-wise, same shape as ``w``):

- ``L2(λ)``: ``2·λ·w`` (the gradient of ``λ·Σ w²``),
- ``L1(λ)``: ``λ·sign(w)`` (a sub-gradient of ``λ·Σ |w|``; ``sign(0) = 0``),
- ``ElasticNet(λ₁, λ₂)``: ``λ₁·sign(w) + 2·λ₂·w``.

These are the Rust crate's penalties. Note that ``L2(λ)`` equals PyTorch's ``weight_decay=2λ``.
A custom penalty subclasses :class:`Penalty` and implements ``__call__(xp, weight)`` with Array
API operations only, returning a new array (never writing ``weight``).
"""

from __future__ import annotations

import abc
import math
from typing import Any, Mapping

from .._args import real


def _check_strength(penalty: str, name: str, value: float) -> float:
    value = real(penalty, name, value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{penalty}: {name} must be a finite number >= 0, got {value}")
    return value


class Penalty(abc.ABC):
    """A regularisation term: ``penalty(xp, w)`` is the array added to the gradient of ``w``.

    >>> isinstance(nk.optim.L2(0.1), nk.optim.Penalty)
    True
    """

    @abc.abstractmethod
    def __call__(self, xp: Any, weight: Any) -> Any:
        """The penalty's gradient at ``weight`` (a new array of ``weight``'s shape and dtype)."""

    def state(self) -> dict[str, Any]:
        """A plain dict describing this penalty (its kind and strengths), for ``state_dict``.

        Custom penalties with parameters override it so that saved states tell them apart."""
        return {"kind": type(self).__name__}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.state() == self.state()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.state().items())))


class L2(Penalty):
    """L2 penalty ``λ·Σ w²``: adds ``2·λ·w`` to the gradient.

    >>> xp, w = nk.backends.get().xp, nk.ones(2).data; nk.optim.L2(0.5)(xp, w).tolist()
    [1.0, 1.0]
    """

    __slots__ = ("lambda_", "_twice")

    def __init__(self, lambda_: float) -> None:
        self.lambda_ = _check_strength("L2", "lambda", lambda_)
        self._twice = 2.0 * self.lambda_

    def __call__(self, xp: Any, weight: Any) -> Any:
        return self._twice * weight

    def state(self) -> dict[str, Any]:
        return {"kind": "L2", "lambda": self.lambda_}

    def __repr__(self) -> str:
        return f"L2({self.lambda_})"


class L1(Penalty):
    """L1 penalty ``λ·Σ |w|``: adds ``λ·sign(w)`` to the gradient.

    >>> xp, w = nk.backends.get().xp, nk.ones(2).data; nk.optim.L1(0.5)(xp, w).tolist()
    [0.5, 0.5]
    """

    __slots__ = ("lambda_",)

    def __init__(self, lambda_: float) -> None:
        self.lambda_ = _check_strength("L1", "lambda", lambda_)

    def __call__(self, xp: Any, weight: Any) -> Any:
        return self.lambda_ * xp.sign(weight)

    def state(self) -> dict[str, Any]:
        return {"kind": "L1", "lambda": self.lambda_}

    def __repr__(self) -> str:
        return f"L1({self.lambda_})"


class ElasticNet(Penalty):
    """Elastic-net penalty ``λ₁·Σ |w| + λ₂·Σ w²``: adds ``λ₁·sign(w) + 2·λ₂·w`` to the gradient.

    >>> xp, w = nk.backends.get().xp, nk.ones(2).data; nk.optim.ElasticNet(0.5, 0.5)(xp, w).tolist()
    [1.5, 1.5]
    """

    __slots__ = ("lambda_l1", "lambda_l2", "_twice_l2")

    def __init__(self, lambda_l1: float, lambda_l2: float) -> None:
        self.lambda_l1 = _check_strength("ElasticNet", "lambda_l1", lambda_l1)
        self.lambda_l2 = _check_strength("ElasticNet", "lambda_l2", lambda_l2)
        self._twice_l2 = 2.0 * self.lambda_l2

    def __call__(self, xp: Any, weight: Any) -> Any:
        return self.lambda_l1 * xp.sign(weight) + self._twice_l2 * weight

    def state(self) -> dict[str, Any]:
        return {"kind": "ElasticNet", "lambda_l1": self.lambda_l1, "lambda_l2": self.lambda_l2}

    def __repr__(self) -> str:
        return f"ElasticNet({self.lambda_l1}, {self.lambda_l2})"


def penalty_from_state(state: "Mapping[str, Any] | None") -> Penalty | None:
    """The penalty that :meth:`Penalty.state` described (``None`` stays ``None``)."""
    if state is None:
        return None
    kind = state.get("kind")
    try:
        if kind == "L2":
            return L2(state["lambda"])
        if kind == "L1":
            return L1(state["lambda"])
        if kind == "ElasticNet":
            return ElasticNet(state["lambda_l1"], state["lambda_l2"])
    except KeyError as missing:
        raise ValueError(f"load_state_dict: the {kind} penalty in the state lacks {missing}") from None
    raise ValueError(
        f"load_state_dict: unknown penalty {kind!r} in the state; the built-in penalties are "
        f"L1, L2 and ElasticNet (a custom penalty is restored by setting optimizer.penalty)"
    )
