"""Learning-rate schedulers: 20 epochs against closed-form schedules and torch.optim.lr_scheduler,
and the crate's counters (last / current rate, epoch)."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import optim
from neuronika.optim import lr_scheduler

EPOCHS = 20
LR0 = 0.5


def lam(epoch: int) -> float:
    return 1.0 / (1.0 + epoch)


def mul(epoch: int) -> float:
    return 0.9 if epoch % 3 else 0.5


# id -> (neuronika scheduler from optimizer, lr for epoch t used alone, torch scheduler factory)
SCHEDULES = {
    "LambdaLR": (
        lambda opt: lr_scheduler.LambdaLR(opt, lam),
        lambda t: LR0 * lam(t),
        lambda torch, opt: torch.optim.lr_scheduler.LambdaLR(opt, lam),
    ),
    "MultiplicativeLR": (
        lambda opt: lr_scheduler.MultiplicativeLR(opt, mul),
        lambda t: LR0 * float(np.prod([mul(k) for k in range(1, t + 1)])),
        lambda torch, opt: torch.optim.lr_scheduler.MultiplicativeLR(opt, mul),
    ),
    "StepLR": (
        lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
        lambda t: LR0 * 0.5 ** (t // 3),
        lambda torch, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    ),
    "MultiStepLR": (
        lambda opt: lr_scheduler.MultiStepLR(opt, [12, 4, 7, 12], gamma=0.3),
        lambda t: LR0 * 0.3 ** sum(m <= t for m in [4, 7, 12, 12]),
        lambda torch, opt: torch.optim.lr_scheduler.MultiStepLR(opt, [12, 4, 7, 12], gamma=0.3),
    ),
    "ExponentialLR": (
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.8),
        lambda t: LR0 * 0.8**t,
        lambda torch, opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
    ),
}


def make_optimizer(device: str) -> optim.SGD:
    return optim.SGD([nk.ones(2, dtype="float64", device=device).requires_grad()], lr=LR0)


def schedule(device: str, name: str) -> list[float]:
    """The optimizer's lr at epochs 0..EPOCHS-1 (scheduler.step() after each epoch)."""
    optimizer = make_optimizer(device)
    scheduler = SCHEDULES[name][0](optimizer)
    rates = []
    for _ in range(EPOCHS):
        rates.append(optimizer.lr)
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_its_formula(device, name):
    expected = [SCHEDULES[name][1](t) for t in range(EPOCHS)]
    np.testing.assert_allclose(schedule(device, name), expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(device, name):
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=LR0)
    scheduler = SCHEDULES[name][2](torch, optimizer)
    expected = []
    for _ in range(EPOCHS):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(schedule(device, name), expected, rtol=1e-15, atol=0)


def test_counters_follow_the_crate(device, capsys):
    optimizer = make_optimizer(device)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    assert scheduler.get_current_epoch() == 0
    assert scheduler.get_current_lr() == scheduler.get_last_lr() == LR0
    scheduler.step()
    assert (scheduler.get_current_epoch(), scheduler.get_last_lr(), scheduler.get_current_lr()) == (1, LR0, LR0)
    scheduler.step()
    assert scheduler.get_current_epoch() == 2
    assert scheduler.get_last_lr() == LR0
    assert scheduler.get_current_lr() == optimizer.lr == pytest.approx(LR0 * 0.1)
    scheduler.print_lr()
    assert capsys.readouterr().out == f"epoch 2: learning rate adjusted to [{optimizer.lr}]\n"

    scheduler.set_current_epoch(5)  # resuming: the next step is epoch 6, a decay epoch
    assert scheduler.get_current_epoch() == 5 and optimizer.lr == pytest.approx(LR0 * 0.1)
    scheduler.step()
    assert scheduler.get_current_epoch() == 6 and optimizer.lr == pytest.approx(LR0 * 0.01)


def test_lambda_lr_applies_the_factor_of_epoch_zero_at_once(device):
    optimizer = make_optimizer(device)
    scheduler = lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.1 * (epoch + 1))
    assert optimizer.lr == scheduler.get_current_lr() == pytest.approx(0.1 * LR0)
    assert scheduler.get_last_lr() == LR0 and scheduler.initial_lr == LR0
    scheduler.step()
    assert optimizer.lr == pytest.approx(0.2 * LR0)


def test_schedulers_chain_like_torch(device):
    torch = pytest.importorskip("torch")
    ours = make_optimizer(device)
    first, second = lr_scheduler.ExponentialLR(ours, 0.9), lr_scheduler.StepLR(ours, 4, 0.5)
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=LR0)
    chain = [torch.optim.lr_scheduler.ExponentialLR(theirs, 0.9), torch.optim.lr_scheduler.StepLR(theirs, 4, 0.5)]
    for _ in range(EPOCHS):
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-15)
        ours.step(), theirs.step()
        first.step(), second.step()
        for scheduler in chain:
            scheduler.step()


def test_the_scheduled_rate_drives_the_optimizer(device):
    w = nk.ones(1, dtype="float64", device=device).requires_grad()
    loss = w.sum()  # gradient 1: each step moves w by exactly the learning rate
    optimizer = optim.SGD([w], lr=1.0)
    scheduler = lr_scheduler.ExponentialLR(optimizer, 0.5)
    for _ in range(3):
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    np.testing.assert_allclose(w.numpy(), [1.0 - (1.0 + 0.5 + 0.25)])


def test_scheduler_state_round_trips(device):
    optimizer = make_optimizer(device)
    scheduler = lr_scheduler.MultiStepLR(optimizer, [2, 5], 0.5)
    for _ in range(3):
        scheduler.step()
    saved, saved_optimizer = scheduler.state_dict(), optimizer.state_dict()
    fresh_optimizer = make_optimizer(device)
    fresh = lr_scheduler.MultiStepLR(fresh_optimizer, [2, 5], 0.5)
    fresh.load_state_dict(saved)
    fresh_optimizer.load_state_dict(saved_optimizer)
    for _ in range(4):
        scheduler.step(), fresh.step()
        assert fresh_optimizer.lr == optimizer.lr and fresh.get_current_epoch() == scheduler.get_current_epoch()
    with pytest.raises(ValueError, match="saved by MultiStepLR"):
        lr_scheduler.StepLR(optimizer, 2).load_state_dict(saved)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda opt: lr_scheduler.StepLR(opt, 0), ValueError, "step_size must be an integer >= 1"),
        (lambda opt: lr_scheduler.StepLR(opt, 2, gamma=-0.5), ValueError, "gamma"),
        (lambda opt: lr_scheduler.MultiStepLR(opt, [3, -1]), ValueError, "every milestone must be an integer >= 1"),
        (lambda opt: lr_scheduler.MultiStepLR(opt, 3), TypeError, "milestones must be a list"),
        (lambda opt: lr_scheduler.ExponentialLR(opt, float("nan")), ValueError, "gamma"),
        (lambda opt: lr_scheduler.LambdaLR(opt, 0.5), TypeError, "lr_lambda must be a function"),
        (lambda opt: lr_scheduler.MultiplicativeLR(opt, None), TypeError, "lr_lambda"),
        (lambda opt: lr_scheduler.ExponentialLR("sgd", 0.5), TypeError, "expected an optimizer"),
        (lambda opt: lr_scheduler.ExponentialLR(opt, 0.5).set_current_epoch(-1), ValueError, "epoch"),
    ],
)
def test_bad_scheduler_arguments_raise(device, build, error, message):
    with pytest.raises(error, match=message):
        build(make_optimizer(device))
