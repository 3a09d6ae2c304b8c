"""Schedules for modern training recipes: warm-up (:class:`LinearLR`), cosine decay
(:class:`CosineAnnealingLR`), the one-cycle policy (:class:`OneCycleLR`), a schedule per phase
(:class:`SequentialLR`) and decay on a plateau of a metric (:class:`ReduceLROnPlateau`).

Each follows ``torch.optim.lr_scheduler`` epoch by epoch, with the same formulas in the same
order (so the rates agree to the last bit or nearly), per parameter group. They are imported into
:mod:`neuronika.optim.lr_scheduler`; use them from there.
"""

from __future__ import annotations

import bisect
import math
import numbers
from typing import Any, Sequence

from ..autograd import Var
from .lr_scheduler import LRScheduler, _check_epoch
from .optimizer import Optimizer, check_flag, check_real

__all__ = ["CosineAnnealingLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR"]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from each group's base rate ``η_max`` down to ``eta_min`` over ``T_max``
    epochs (then back up, periodically), PyTorch's recursive form::

        η_t = η_min + (η_{t−1} − η_min) · (1 + cos(πt/T_max)) / (1 + cos(π(t−1)/T_max))

    which, used alone, is ``η_t = η_min + (η_max − η_min)·(1 + cos(πt/T_max))/2``.

    >>> sgd = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0)
    >>> cosine = CosineAnnealingLR(sgd, T_max=4)
    >>> tuple(round(sgd.lr, 4) for _ in range(5) if cosine.step() or True)
    (0.8536, 0.5, 0.1464, 0.0, 0.1464)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _check_epoch("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = check_real("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer)

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        period, eta_min = self.T_max, self.eta_min
        if (epoch - 1 - period) % (2 * period) == 0:
            return lr + (self.base_lrs[group] - eta_min) * (1 - math.cos(math.pi / period)) / 2
        return (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period)) * (
            lr - eta_min
        ) + eta_min

    def _closed_form(self, epoch: int, group: int) -> float | None:
        eta_min = self.eta_min
        return eta_min + (self.base_lrs[group] - eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): the rate is multiplied by a factor going linearly from
    ``start_factor`` at epoch 0 to ``end_factor`` at epoch ``total_iters``, then stays. Making
    the scheduler already applies ``start_factor``. Used alone:
    ``lr_t = lr₀ · (start + (end − start) · min(t, total_iters) / total_iters)``.

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2); first = opt.lr; s.step(); first, opt.lr
    (0.5, 0.75)
    """

    def __init__(
        self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
    ) -> None:
        self.start_factor = check_real("LinearLR", "start_factor", start_factor, 0.0, 1.0)
        if self.start_factor == 0.0:
            raise ValueError("LinearLR: start_factor must be > 0 (the rate is multiplied by it), got 0.0")
        self.end_factor = check_real("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _check_epoch("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer)
        self._start()

    def _at_start(self, lr: float, group: int) -> float:
        return lr * self.start_factor

    def _next_lr(self, lr: float, epoch: int, group: int) -> float:
        if epoch > self.total_iters:
            return lr
        start, end = self.start_factor, self.end_factor
        return lr * (1.0 + (end - start) / (self.total_iters * start + (epoch - 1) * (end - start)))

    def _closed_form(self, epoch: int, group: int) -> float | None:
        start, end = self.start_factor, self.end_factor
        return self.base_lrs[group] * (start + (end - start) * min(self.total_iters, epoch) / self.total_iters)


def _per_group_values(owner: str, name: str, value: Any, groups: int) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * groups
    if len(values) != groups:
        raise ValueError(f"{owner}: expected {groups} values of {name} (one per parameter group), got {len(values)}")
    return [check_real(owner, name, v) for v in values]


class OneCycleLR(LRScheduler):
    """The one-cycle policy (Smith & Topin, 2018), PyTorch's ``OneCycleLR``: step it after
    every *batch*. The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` and anneals to ``max_lr / (div_factor · final_div_factor)``
    by the last step (``three_phase``: up, down to the start, then to the minimum), by cosine or
    linear interpolation. With ``cycle_momentum`` the momentum (SGD/RMSProp) or β₁ (Adam family)
    moves the opposite way between ``max_momentum`` and ``base_momentum``.

    Give ``total_steps``, or ``epochs`` and ``steps_per_epoch``; a step past ``total_steps``
    raises and changes nothing. ``max_lr``, ``base_momentum`` and ``max_momentum`` may be lists
    with one value per parameter group.

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10); round(opt.lr, 4)
    0.04
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: "float | Sequence[float]",
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: "float | Sequence[float]" = 0.85,
        max_momentum: "float | Sequence[float]" = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        owner = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner}: expected an optimizer (optim.SGD, optim.Adam, ...), got {type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = _check_epoch(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _check_epoch(owner, "epochs", epochs, 1) * _check_epoch(owner, "steps_per_epoch", steps_per_epoch, 1)
        else:
            raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch")
        pct_start = check_real(owner, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{owner}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = check_flag(owner, "cycle_momentum", cycle_momentum)
        div_factor = check_real(owner, "div_factor", div_factor)
        final_div_factor = check_real(owner, "final_div_factor", final_div_factor)
        if div_factor == 0.0 or final_div_factor == 0.0:
            raise ValueError(f"{owner}: div_factor and final_div_factor must be > 0")
        groups = len(optimizer.param_groups)
        max_lrs = _per_group_values(owner, "max_lr", max_lr, groups)
        up, total = float(pct_start * self.total_steps) - 1, self.total_steps - 1
        if three_phase:
            self._phases = [(up, "initial", "max", "max_m", "base_m"), (float(2 * pct_start * self.total_steps) - 2,
                            "max", "initial", "base_m", "max_m"), (total, "initial", "min", "max_m", "max_m")]
        else:
            self._phases = [(up, "initial", "max", "max_m", "base_m"), (total, "max", "min", "base_m", "max_m")]
        self._points: list[dict[str, float]] = []
        for lr in max_lrs:
            initial = lr / div_factor
            self._points.append({"initial": initial, "max": lr, "min": initial / final_div_factor})
        changes: list[dict[str, Any]] = [{} for _ in range(groups)]
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{owner}: cycle_momentum needs an optimizer with momentum or betas; pass cycle_momentum=False")
            self._use_beta1 = "betas" in optimizer.defaults
            highs = _per_group_values(owner, "max_momentum", max_momentum, groups)
            lows = _per_group_values(owner, "base_momentum", base_momentum, groups)
            for point, change, group, high, low in zip(self._points, changes, optimizer.param_groups, highs, lows):
                point["max_m"], point["base_m"] = high, low
                change.update(self._momentum_change(group, high))
        checked = [optimizer._validated({**group.hyper, **change}) for group, change in zip(optimizer.param_groups, changes)]
        for group, values, point in zip(optimizer.param_groups, checked, self._points):
            group.hyper = values
            group.initial_lr = point["initial"]
        super().__init__(optimizer)
        self._start()

    def _momentum_change(self, group: Any, momentum: float) -> dict[str, Any]:
        if self._use_beta1:
            return {"betas": (momentum, *group["betas"][1:])}
        return {"momentum": momentum}

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, step: int, group: int) -> tuple[float, float | None]:
        point, start_step = self._points[group], 0.0
        for index, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(self._phases):
            if step <= end_step or index == len(self._phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                momentum = self._anneal(point[start_m], point[end_m], pct) if self.cycle_momentum else None
                return self._anneal(point[start_lr], point[end_lr], pct), momentum
            start_step = end_step
        raise AssertionError("unreachable: the last phase always matches")

    def _schedule(self, epoch: int) -> None:
        if epoch > self.total_steps:
            raise ValueError(
                f"OneCycleLR: step {epoch} is past total_steps={self.total_steps}; make the "
                f"scheduler with the number of batches of the whole run"
            )
        rates, changes = [], []
        for index, group in enumerate(self.optimizer.param_groups):
            lr, momentum = self._at(epoch, index)
            rates.append(lr)
            changes.append({} if momentum is None else self._momentum_change(group, momentum))
        self._apply(rates, epoch, changes)

    def _grow(self, count: int) -> None:
        raise ValueError(f"OneCycleLR: the optimizer gained {count} parameter group(s) after the cycle was planned; make a new scheduler")

    def _start(self) -> None:
        self._schedule(0)

    def step(self) -> None:
        """Advance one batch and set the rates (and momenta) for it."""
        self._sync_groups()
        self._schedule(self._epoch + 1)

    def _restart(self) -> None:
        self._schedule(0)


class SequentialLR(LRScheduler):
    """Schedulers one after the other: ``schedulers[i]`` drives the rate from epoch
    ``milestones[i − 1]`` (restarted at its own epoch 0 there) to ``milestones[i]``, as
    PyTorch's ``SequentialLR``. Making it resets the rates to their initial values and
    re-applies the first scheduler's start (e.g. LinearLR's warm-up factor)::

        warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=95)
        scheduler = lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[5])

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); warm = nk.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=1); decay = nk.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> s = nk.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[1]); rates = [opt.lr]
    >>> for _ in range(3): s.step(); rates.append(opt.lr)
    >>> rates
    [0.5, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int]) -> None:
        owner = "SequentialLR"
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{owner}: expected at least one scheduler")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau) or not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{owner}: schedulers[{index}] is a {type(scheduler).__name__}; expected an "
                                f"epoch-driven scheduler (ReduceLROnPlateau needs a metric and cannot be sequenced)")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{owner}: schedulers[{index}] drives another optimizer")
        milestones = [_check_epoch(owner, "every milestone", m, 1) for m in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{owner}: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, got {len(milestones)}")
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"{owner}: milestones must increase, got {milestones}")
        super().__init__(optimizer)
        self.schedulers, self.milestones = schedulers, milestones
        self._apply(list(self.base_lrs), 0)
        schedulers[0]._start()
        self._current_lrs = self._rates()

    def step(self) -> None:
        """Advance one epoch with the scheduler of the current phase."""
        epoch = self._epoch + 1
        index = bisect.bisect_right(self.milestones, epoch)
        scheduler = self.schedulers[index]
        before = self._rates()
        if index > 0 and self.milestones[index - 1] == epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._epoch, self._last_lrs, self._current_lrs = epoch, before, self._rates()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["schedulers"] = [scheduler.state_dict() for scheduler in self.schedulers]
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        saved = list(state["schedulers"])
        if len(saved) != len(self.schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: the state holds {len(saved)} schedulers, this one {len(self.schedulers)}")
        for scheduler, child in zip(self.schedulers, saved):
            scheduler.load_state_dict(child)


class ReduceLROnPlateau(LRScheduler):
    """Divide the rates when a metric stops improving (PyTorch's ``ReduceLROnPlateau``):
    ``step(metric)`` once per epoch. The metric improves when it beats the best so far by
    ``threshold`` (``threshold_mode="rel"``: ``best·(1 ∓ threshold)``; ``"abs"``:
    ``best ∓ threshold``; ``mode="min"`` or ``"max"``). After more than ``patience`` epochs
    without improvement each group's rate becomes ``max(lr·factor, min_lr)`` (unless that changes
    it by at most ``eps``), then ``cooldown`` epochs pass before bad epochs count again.
    A metric that is not a real number raises and changes nothing.

    >>> opt = nk.optim.SGD([nk.ones(1).requires_grad()], lr=1.0); s = nk.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0); s.step(1.0); s.step(2.0); round(opt.lr, 4)
    0.1
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: "float | Sequence[float]" = 0.0,
        eps: float = 1e-8,
    ) -> None:
        owner = "ReduceLROnPlateau"
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', got {mode!r}, {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_real(owner, "factor", factor, 0.0, 1.0, high_open=True)
        self.patience = _check_epoch(owner, "patience", patience)
        self.threshold = check_real(owner, "threshold", threshold)
        self.cooldown = _check_epoch(owner, "cooldown", cooldown)
        self.eps = check_real(owner, "eps", eps)
        self._default_min_lr = None if isinstance(min_lr, (list, tuple)) else check_real(owner, "min_lr", min_lr)
        self.min_lrs = _per_group_values(owner, "min_lr", min_lr, len(optimizer.param_groups))
        super().__init__(optimizer)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0

    def _grow(self, count: int) -> None:
        if self._default_min_lr is None:
            raise ValueError(f"ReduceLROnPlateau: the optimizer gained {count} parameter group(s); give min_lrs one value for each")
        self.min_lrs += [self._default_min_lr] * count

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold)
        return value > (best * (threshold + 1.0) if self.threshold_mode == "rel" else best + threshold)

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or a one-element variable) and reduce the rates
        if it has not improved for more than ``patience`` epochs."""
        value = metrics.item() if isinstance(metrics, Var) else metrics
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"ReduceLROnPlateau.step: the metric must be a real number, got {type(metrics).__name__}")
        current = float(value)
        self._sync_groups()
        best, bad, cooldown = self.best, self.num_bad_epochs, self.cooldown_counter
        if self._is_better(current):
            best, bad = current, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown, bad = cooldown - 1, 0
        rates = self._rates()
        if bad > self.patience:
            for index, old in enumerate(rates):
                new = max(old * self.factor, self.min_lrs[index])
                if old - new > self.eps:
                    rates[index] = new
            cooldown, bad = self.cooldown, 0
        self._apply(rates, self._epoch + 1)
        self.best, self.num_bad_epochs, self.cooldown_counter = best, bad, cooldown

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(best=self.best, num_bad_epochs=self.num_bad_epochs, cooldown_counter=self.cooldown_counter)
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        best = float(state["best"])
        bad = _check_epoch("ReduceLROnPlateau.load_state_dict", "num_bad_epochs", state["num_bad_epochs"])
        cooldown = _check_epoch("ReduceLROnPlateau.load_state_dict", "cooldown_counter", state["cooldown_counter"])
        self.best, self.num_bad_epochs, self.cooldown_counter = best, bad, cooldown
