"""Learning-rate schedulers: the learning rate as a function of the epoch.

Call ``scheduler.step()`` once per epoch, after that epoch's optimizer steps::

    scheduler = lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        for batch in batches:
            ...; optimizer.step(); optimizer.zero_grad()
        scheduler.step()

The epoch counter starts at 0 and ``step()`` advances it to ``t`` and sets the ``lr`` of every
parameter group for epoch ``t``; the schedules are PyTorch's, epoch by epoch. Like PyTorch's,
every scheduler but :class:`LambdaLR` and :class:`OneCycleLR` updates the optimizer's *current*
rates, so schedulers chain. A step computes and checks every new rate before writing any: a
step that fails changes nothing.

The methods are the Rust crate's: :meth:`~LRScheduler.get_current_lr` is the rate in force now
(what PyTorch's ``get_last_lr()`` returns); :meth:`~LRScheduler.get_last_lr` is the rate
before the latest ``step()`` (the crate's meaning); both are floats for an optimizer with one
parameter group and lists with one rate per group otherwise.

:class:`CosineAnnealingLR`, :class:`LinearLR`, :class:`OneCycleLR`, :class:`SequentialLR` and
:class:`ReduceLROnPlateau` live in :mod:`neuronika.optim.schedules` and are imported here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable

from .._args import is_integer
from .optimizer import Optimizer, check_real

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ExponentialLR",
    "CosineAnnealingLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR",
]


def _check_epoch(owner: str, name: str, value: Any, low: int = 0) -> int:
    if not is_integer(value) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_callable(owner: str, function: Any) -> Callable[[int], float]:
    if not callable(function):
        raise TypeError(f"{owner}: lr_lambda must be a function of the epoch (an int), got {type(function).__name__}")
    return function  # type: ignore[no-any-return]


class LRScheduler:
    """Base class: holds the optimizer and the epoch counter; subclasses give ``_next_lr``.

    Every rate is per parameter group; ``base_lrs`` holds each group's rate when the first
    scheduler was attached to the optimizer (PyTorch's ``initial_lr``). A ``step()`` computes
    and checks the new rate of every group before writing any, so a step that fails (a lambda
    returning a negative rate, OneCycleLR past its last step) changes nothing: neither the
    optimizer's rates nor the epoch counter.

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); isinstance(nk.optim.lr_scheduler.StepLR(opt, step_size=1), nk.optim.lr_scheduler.LRScheduler)
    True
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an optimizer (optim.SGD, optim.Adam, ...), got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lrs: list[float] = []
        self._sync_groups()
        self._epoch = 0
        self._last_lrs = self._current_lrs = self._rates()

    def _sync_groups(self) -> None:
        """Take on parameter groups added to the optimizer (``add_param_group``) since the last
        step: their rate now is their base rate, as PyTorch's ``initial_lr``."""
        groups = self.optimizer.param_groups
        if len(groups) == len(self.base_lrs):
            return
        if self.base_lrs:  # groups added after the scheduler was made
            self._grow(len(groups) - len(self.base_lrs))
        for group in groups[len(self.base_lrs):]:
            if group.initial_lr is None:
                group.initial_lr = group["lr"]
            self.base_lrs.append(group.initial_lr)

    def _grow(self, count: int) -> None:
        """Extend per-group settings to ``count`` new groups, or raise if they cannot be."""

    def _rates(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        """The rate of parameter group ``group`` for ``epoch`` given its current rate ``lr``."""
        return lr

    def _closed_form(self, epoch: int, group: int) -> float | None:
        """The rate of ``group`` at ``epoch`` from ``base_lrs`` alone, where the schedule has
        one (used when :class:`SequentialLR` hands over to this scheduler); None otherwise."""
        return None

    def _apply(self, lrs: list[float], epoch: int, changes: "list[dict[str, Any]] | None" = None) -> None:
        """Check every group's new rate (and other ``changes``, e.g. a cycled momentum), then
        write them all and move to ``epoch``; on a bad value nothing is written."""
        optimizer = self.optimizer
        owner = type(self).__name__
        checked = []
        for index, (group, lr) in enumerate(zip(optimizer.param_groups, lrs)):
            label = "the learning rate" if len(lrs) == 1 else f"the learning rate of parameter group {index}"
            rate = check_real(owner, f"{label} for epoch {epoch}", lr)
            extra = changes[index] if changes else {}
            checked.append(optimizer._validated({**group.hyper, **extra, "lr": rate}))
        self._last_lrs = self._rates()
        for group, values in zip(optimizer.param_groups, checked):
            group.hyper = values
        self._current_lrs = self._rates()
        self._epoch = epoch

    def _at_start(self, lr: float, group: int) -> float:
        """The rate of ``group`` at epoch 0 given its rate ``lr`` before (schedules that act at
        once, such as LinearLR's warm-up factor, override it)."""
        return lr

    def _start(self) -> None:
        """Apply the rates of epoch 0 (what making the scheduler does in PyTorch)."""
        self._apply([self._at_start(lr, index) for index, lr in enumerate(self._rates())], 0)

    def step(self) -> None:
        """Advance to the next epoch and set the optimizer's learning rates for it."""
        self._sync_groups()
        epoch = self._epoch + 1
        self._apply([self._next_lr(lr, epoch, index) for index, lr in enumerate(self._rates())], epoch)

    def _restart(self) -> None:
        """Go to epoch 0 with the rates of epoch 0 (when :class:`SequentialLR` hands over)."""
        self._sync_groups()
        lrs = [self._closed_form(0, index) for index in range(len(self.base_lrs))]
        self._apply([lr if lr is not None else current for lr, current in zip(lrs, self._rates())], 0)

    @staticmethod
    def _one_or_all(rates: list[float]) -> "float | list[float]":
        return rates[0] if len(rates) == 1 else list(rates)

    @property
    def initial_lr(self) -> "float | list[float]":
        """The optimizer's rate when the first scheduler was attached (a list with several groups)."""
        return self._one_or_all(self.base_lrs)

    def get_last_lr(self) -> "float | list[float]":
        """The learning rate before the latest :meth:`step` (at first, the optimizer's rate when
        the scheduler was made); a list with one rate per group when there are several."""
        return self._one_or_all(self._last_lrs)

    def get_current_lr(self) -> "float | list[float]":
        """The learning rate this scheduler set last (at first, the optimizer's rate); a list
        with one rate per group when there are several (PyTorch's ``get_last_lr()``)."""
        return self._one_or_all(self._current_lrs)

    def get_current_epoch(self) -> int:
        """The epoch counter (0 before the first :meth:`step`)."""
        return self._epoch

    def set_current_epoch(self, epoch: int) -> None:
        """Set the epoch counter (e.g. when resuming); the next :meth:`step` goes to
        ``epoch + 1``. The optimizer's learning rate is left as it is."""
        self._epoch = _check_epoch(type(self).__name__, "epoch", epoch)

    def print_lr(self) -> None:
        """Print the epoch and the learning rate (call it after :meth:`step`)."""
        print(f"epoch {self._epoch}: learning rate adjusted to {self._current_lrs}")

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's counters as plain data (functions are not saved)."""
        return {
            "scheduler": type(self).__name__,
            "epoch": self._epoch,
            "base_lrs": list(self.base_lrs),
            "last_lr": list(self._last_lrs),
            "current_lr": list(self._current_lrs),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counters saved by :meth:`state_dict` (the optimizer's own ``lr`` is
        restored by the optimizer's ``load_state_dict``). Nothing changes if the state does not fit."""
        owner = f"{type(self).__name__}.load_state_dict"
        if state.get("scheduler") != type(self).__name__:
            raise ValueError(f"{owner}: the state was saved by {state.get('scheduler')}")
        groups = len(self.optimizer.param_groups)

        def rates(key: str) -> list[float]:
            value = state[key]
            values = [float(value)] * groups if isinstance(value, (int, float)) else [float(v) for v in value]
            if len(values) != groups:
                raise ValueError(f"{owner}: {key} has {len(values)} rates, the optimizer {groups} parameter groups")
            return values

        epoch = _check_epoch(owner, "epoch", state["epoch"])
        base = rates("base_lrs" if "base_lrs" in state else "initial_lr")
        last, current = rates("last_lr"), rates("current_lr")
        self._load_extra(state)
        self._epoch, self.base_lrs, self._last_lrs, self._current_lrs = epoch, base, last, current

    def _load_extra(self, state: dict[str, Any]) -> None:
        """Subclasses restore their own counters here (checked before anything is written)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self._epoch}, lr={self.get_current_lr()})"


class _PerGroupLambdas(LRScheduler):
    """LambdaLR and MultiplicativeLR: one function for every group, or one per group."""

    lr_lambdas: list[Callable[[int], float]]

    def __init__(self, optimizer: Optimizer, lr_lambda: Any) -> None:
        owner = type(self).__name__
        self._shared = not isinstance(lr_lambda, (list, tuple))
        self.lr_lambdas = _per_group(owner, optimizer, lr_lambda)
        super().__init__(optimizer)

    @property
    def lr_lambda(self) -> Callable[[int], float]:
        """The function of the first group."""
        return self.lr_lambdas[0]

    def _grow(self, count: int) -> None:
        if not self._shared:
            raise ValueError(
                f"{type(self).__name__}: the optimizer gained {count} parameter group(s) but the "
                f"scheduler has one lr_lambda per group; make a new scheduler"
            )
        self.lr_lambdas += [self.lr_lambdas[0]] * count


def _per_group(owner: str, optimizer: Any, function: Any) -> list[Callable[[int], float]]:
    groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
    functions = list(function) if isinstance(function, (list, tuple)) else [function] * groups
    if len(functions) != groups:
        raise ValueError(f"{owner}: expected {groups} lr_lambda functions (one per parameter group), got {len(functions)}")
    return [_check_callable(owner, f) for f in functions]


class LambdaLR(_PerGroupLambdas):
    """``lr_t = lr₀ · lr_lambda(t)``, where ``lr₀`` is the group's rate when the first scheduler
    was made (``lr_lambda`` may be a list with one function per group). As in PyTorch, making
    the scheduler already sets ``lr₀ · lr_lambda(0)``.

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch); s.step(); opt.lr
    0.5
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: "Callable[[int], float] | list[Callable[[int], float]]") -> None:
        super().__init__(optimizer, lr_lambda)
        self._start()

    def _at_start(self, lr: float, group: int) -> float:
        return self._next_lr(lr, 0, group)

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        return self.base_lrs[group] * self.lr_lambdas[group](epoch)

    def _closed_form(self, epoch: int, group: int) -> float | None:
        return self._next_lr(0.0, epoch, group)


class MultiplicativeLR(_PerGroupLambdas):
    """``lr_t = lr_{t−1} · lr_lambda(t)`` for ``t >= 1`` (one function, or one per group).

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5); s.step(); s.step(); opt.lr
    0.25
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: "Callable[[int], float] | list[Callable[[int], float]]") -> None:
        super().__init__(optimizer, lr_lambda)

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        return lr * self.lr_lambdas[group](epoch)


class StepLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ`` when ``t`` is a multiple of ``step_size``, else ``lr_{t−1}``
    (so ``lr_t = lr₀ · γ^⌊t / step_size⌋`` when used alone).

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5); s.step(); s.step(); opt.lr
    0.5
    """

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

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        return lr * self._gamma if epoch % self._step_size == 0 else lr

    def _closed_form(self, epoch: int, group: int) -> float | None:
        return self.base_lrs[group] * self._gamma ** (epoch // self._step_size)


class MultiStepLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ^k`` when ``t`` appears ``k`` times among ``milestones``, else
    ``lr_{t−1}`` (so ``lr_t = lr₀ · γ^(number of milestones <= t)`` when used alone).

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5); s.step(); opt.lr
    0.5
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.milestones = milestones
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

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        count = self._milestones.get(epoch, 0)
        return lr * self._gamma**count if count else lr

    def _closed_form(self, epoch: int, group: int) -> float | None:
        return self.base_lrs[group] * self._gamma ** sum(m <= epoch for m in self._milestones.elements())


class ExponentialLR(LRScheduler):
    """``lr_t = lr_{t−1} · γ`` (so ``lr_t = lr₀ · γᵗ`` when used alone).

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5); s.step(); s.step(); opt.lr
    0.25
    """

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

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        return lr * self._gamma

    def _closed_form(self, epoch: int, group: int) -> float | None:
        return self.base_lrs[group] * self._gamma**epoch


from .schedules import CosineAnnealingLR, LinearLR, OneCycleLR, ReduceLROnPlateau, SequentialLR  # noqa: E402
