"""Learning-rate schedulers: the learning rate as a function of the epoch.

Call ``scheduler.step()`` once per epoch, after that epoch's optimizer steps::

    scheduler = lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        for batch in batches:
            ...; optimizer.step(); optimizer.zero_grad()
        scheduler.step()

The epoch counter starts at 0 and ``step()`` advances it to ``t`` and sets the optimizer's
``lr`` for epoch ``t``; the schedules are PyTorch's, epoch by epoch. Like PyTorch's, every
scheduler but :class:`LambdaLR` updates the optimizer's *current* rate, so schedulers chain.

The methods are the Rust crate's: :meth:`~LRScheduler.get_current_lr` is the rate in force now
(what PyTorch's ``get_last_lr()[0]`` returns); :meth:`~LRScheduler.get_last_lr` is the rate
before the latest ``step()`` (the crate's meaning).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable

from .._args import is_integer
from .optimizer import Optimizer, check_real

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ExponentialLR"]


def _check_epoch(owner: str, name: str, value: Any, low: int = 0) -> int:
    if not is_integer(value) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_callable(owner: str, function: Any) -> Callable[[int], float]:
    if not callable(function):
        raise TypeError(f"{owner}: lr_lambda must be a function of the epoch (an int), got {type(function).__name__}")
    return function  # type: ignore[no-any-return]


class LRScheduler:
    """Base class: holds the optimizer and the epoch counter; subclasses give ``_next_lr``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an optimizer (optim.SGD, optim.Adam, ...), got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.initial_lr = optimizer.lr
        self._epoch = 0
        self._last_lr = self._current_lr = optimizer.lr

    def _next_lr(self, lr: float, epoch: int) -> float:
        """The rate for ``epoch`` given the optimizer's current rate ``lr``."""
        return lr

    def _apply(self, lr: float) -> None:
        self._last_lr = self.optimizer.lr
        self.optimizer.lr = lr
        self._current_lr = self.optimizer.lr

    def step(self) -> None:
        """Advance to the next epoch and set the optimizer's learning rate for it."""
        self._epoch += 1
        self._apply(self._next_lr(self.optimizer.lr, self._epoch))

    def get_last_lr(self) -> float:
        """The learning rate before the latest :meth:`step` (at first, the optimizer's rate when
        the scheduler was made)."""
        return self._last_lr

    def get_current_lr(self) -> float:
        """The learning rate this scheduler set last (at first, the optimizer's rate)."""
        return self._current_lr

    def get_current_epoch(self) -> int:
        """The epoch counter (0 before the first :meth:`step`)."""
        return self._epoch

    def set_current_epoch(self, epoch: int) -> None:
        """Set the epoch counter (e.g. when resuming); the next :meth:`step` goes to
        ``epoch + 1``. The optimizer's learning rate is left as it is."""
        self._epoch = _check_epoch(type(self).__name__, "epoch", epoch)

    def print_lr(self) -> None:
        """Print the epoch and the learning rate (call it after :meth:`step`)."""
        print(f"epoch {self._epoch}: learning rate adjusted to [{self._current_lr}]")

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's counters as plain data (functions are not saved)."""
        return {
            "scheduler": type(self).__name__,
            "epoch": self._epoch,
            "initial_lr": self.initial_lr,
            "last_lr": self._last_lr,
            "current_lr": self._current_lr,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters saved by :meth:`state_dict` (the optimizer's own ``lr`` is
        restored by the optimizer's ``load_state_dict``)."""
        if state.get("scheduler") != type(self).__name__:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state was saved by {state.get('scheduler')}")
        self._epoch = _check_epoch(type(self).__name__, "epoch", state["epoch"])
        self.initial_lr = float(state["initial_lr"])
        self._last_lr, self._current_lr = float(state["last_lr"]), float(state["current_lr"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self._epoch}, lr={self._current_lr})"


class LambdaLR(LRScheduler):
    """``lr_t = lr₀ · lr_lambda(t)``, where ``lr₀`` is the optimizer's rate when the scheduler
    is made. As in PyTorch, making the scheduler already sets ``lr₀ · lr_lambda(0)``."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        super().__init__(optimizer)
        self.lr_lambda = _check_callable("LambdaLR", lr_lambda)
        self._apply(self._next_lr(optimizer.lr, 0))
        self._last_lr = self.initial_lr

    def _next_lr(self, lr: float, epoch: int) -> float:
        return self.initial_lr * self.lr_lambda(epoch)


class MultiplicativeLR(LRScheduler):
    """``lr_t = lr_{t−1} · lr_lambda(t)`` for ``t >= 1``."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        super().__init__(optimizer)
        self.lr_lambda = _check_callable("MultiplicativeLR", lr_lambda)

    def _next_lr(self, lr: float, epoch: int) -> float:
        return lr * self.lr_lambda(epoch)


class StepLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ`` when ``t`` is a multiple of ``step_size``, else ``lr_{t−1}``
    (so ``lr_t = lr₀ · γ^⌊t / step_size⌋`` when used alone)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma

    @property
    def step_size(self) -> int:
        """The period of the decay, in epochs (>= 1)."""
        return self._step_size

    @step_size.setter
    def step_size(self, value: int) -> None:
        self._step_size = _check_epoch("StepLR", "step_size", value, 1)

    @property
    def gamma(self) -> float:
        """The multiplicative decay factor (>= 0)."""
        return self._gamma

    @gamma.setter
    def gamma(self, value: float) -> None:
        self._gamma = check_real("StepLR", "gamma", value)

    def _next_lr(self, lr: float, epoch: int) -> float:
        return lr * self._gamma if epoch % self._step_size == 0 else lr


class MultiStepLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ^k`` when ``t`` appears ``k`` times among ``milestones``, else
    ``lr_{t−1}`` (so ``lr_t = lr₀ · γ^(number of milestones <= t)`` when used alone)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.milestones = milestones  # type: ignore[assignment]
        self.gamma = gamma

    @property
    def milestones(self) -> list[int]:
        """The epochs at which the rate decays, sorted (repeats decay more than once)."""
        return sorted(self._milestones.elements())

    @milestones.setter
    def milestones(self, value: Iterable[int]) -> None:
        try:
            epochs = [_check_epoch("MultiStepLR", "every milestone", epoch, 1) for epoch in value]
        except TypeError:
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got {type(value).__name__}") from None
        self._milestones = Counter(epochs)

    @property
    def gamma(self) -> float:
        """The multiplicative decay factor (>= 0)."""
        return self._gamma

    @gamma.setter
    def gamma(self, value: float) -> None:
        self._gamma = check_real("MultiStepLR", "gamma", value)

    def _next_lr(self, lr: float, epoch: int) -> float:
        count = self._milestones.get(epoch, 0)
        return lr * self._gamma**count if count else lr


class ExponentialLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ`` (so ``lr_t = lr₀ · γᵗ`` when used alone)."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = gamma

    @property
    def gamma(self) -> float:
        """The multiplicative decay factor per epoch (>= 0)."""
        return self._gamma

    @gamma.setter
    def gamma(self, value: float) -> None:
        self._gamma = check_real("ExponentialLR", "gamma", value)

    def _next_lr(self, lr: float, epoch: int) -> float:
        return lr * self._gamma

