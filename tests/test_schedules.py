"""CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR and ReduceLROnPlateau against
torch.optim.lr_scheduler, per parameter group (issue 14 §4), and schedulers whose step fails
changing nothing (issue 12 item 16)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuronika as nk
from neuronika import optim
from neuronika.optim import lr_scheduler

EPOCHS = 30
LRS = (0.5, 0.1)  # two parameter groups


def our_optimizer(device, kind="sgd"):
    params = [nk.ones(2, dtype="float64", device=device).requires_grad() for _ in LRS]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, LRS)]
    return optim.Adam(groups, lr=1.0) if kind == "adam" else optim.SGD(groups, lr=1.0)


def torch_optimizer(torch, kind="sgd"):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
    return torch.optim.Adam(groups, lr=1.0) if kind == "adam" else torch.optim.SGD(groups, lr=1.0)


# id -> (ours from optimizer, torch from (torch, optimizer), optimizer kind)
SCHEDULES = {
    "cosine": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
        lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
        "sgd",
    ),
    "linear-warmup": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
        lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
        "sgd",
    ),
    "linear-decay": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=9),
        lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=9),
        "sgd",
    ),
    "onecycle-sgd": (
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=EPOCHS),
        lambda t, o: t.optim.lr_scheduler.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=EPOCHS),
        "sgd",
    ),
    "onecycle-adam-linear-3phase": (
        lambda o: lr_scheduler.OneCycleLR(o, 0.2, epochs=5, steps_per_epoch=6, anneal_strategy="linear", three_phase=True),
        lambda t, o: t.optim.lr_scheduler.OneCycleLR(o, 0.2, epochs=5, steps_per_epoch=6, anneal_strategy="linear", three_phase=True),
        "adam",
    ),
    "warmup-then-cosine": (
        lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, 0.25, total_iters=4), lr_scheduler.CosineAnnealingLR(o, T_max=10)], milestones=[4]
        ),
        lambda t, o: t.optim.lr_scheduler.SequentialLR(
            o, [t.optim.lr_scheduler.LinearLR(o, 0.25, total_iters=4), t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)],
            milestones=[4],
        ),
        "sgd",
    ),
    "sequential-three": (
        lambda o: lr_scheduler.SequentialLR(
            o,
            [lr_scheduler.ExponentialLR(o, 0.9), lr_scheduler.StepLR(o, 3, 0.5), lr_scheduler.LinearLR(o, 0.5, total_iters=3)],
            milestones=[5, 12],
        ),
        lambda t, o: t.optim.lr_scheduler.SequentialLR(
            o,
            [t.optim.lr_scheduler.ExponentialLR(o, 0.9), t.optim.lr_scheduler.StepLR(o, 3, 0.5),
             t.optim.lr_scheduler.LinearLR(o, 0.5, total_iters=3)],
            milestones=[5, 12],
        ),
        "sgd",
    ),
}


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch_in_every_group(device, name):
    torch = pytest.importorskip("torch")
    make, make_torch, kind = SCHEDULES[name]
    ours, theirs = our_optimizer(device, kind), torch_optimizer(torch, kind)
    scheduler, torch_scheduler = make(ours), make_torch(torch, theirs)
    steps = EPOCHS - 1 if name.startswith("onecycle") else EPOCHS
    for epoch in range(steps):
        expected = [g["lr"] for g in theirs.param_groups]
        got = [g["lr"] for g in ours.param_groups]
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0, err_msg=f"epoch {epoch}")
        assert scheduler.get_current_lr() == pytest.approx(torch_scheduler.get_last_lr(), rel=1e-13)
        if name.startswith("onecycle"):
            np.testing.assert_allclose([_momentum(g) for g in ours.param_groups], [_momentum(g) for g in theirs.param_groups], rtol=1e-13)
        theirs.step()
        ours.step()
        torch_scheduler.step()
        scheduler.step()


def test_cosine_annealing_alone_follows_its_closed_form(device):
    optimizer = our_optimizer(device)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5, eta_min=0.05)
    for epoch in range(1, 16):
        scheduler.step()
        expected = [0.05 + (lr - 0.05) * (1 + math.cos(math.pi * epoch / 5)) / 2 for lr in LRS]
        np.testing.assert_allclose(scheduler.get_current_lr(), expected, rtol=1e-12)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.9, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=2),
        dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2),
        dict(patience=0, factor=0.3, min_lr=[0.01, 0.02], cooldown=1),
    ],
)
def test_reduce_on_plateau_matches_torch(device, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = our_optimizer(device), torch_optimizer(torch)
    scheduler = lr_scheduler.ReduceLROnPlateau(ours, **kwargs)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    for metric in METRICS:
        scheduler.step(nk.full((), metric, dtype="float64", device=device) if metric == 0.5 else metric)
        torch_scheduler.step(metric)
        assert [g["lr"] for g in ours.param_groups] == pytest.approx([g["lr"] for g in theirs.param_groups], rel=1e-15)
        assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs
    assert [g["lr"] for g in ours.param_groups] != list(LRS), "the rates should have been reduced"


def test_group_aware_counters_keep_the_crate_meaning_for_one_group(device):
    optimizer = our_optimizer(device)
    scheduler = lr_scheduler.StepLR(optimizer, 1, 0.5)
    assert scheduler.initial_lr == list(LRS) and scheduler.base_lrs == list(LRS)
    scheduler.step()
    assert scheduler.get_last_lr() == list(LRS)
    assert scheduler.get_current_lr() == [lr * 0.5 for lr in LRS]
    single = optim.SGD([nk.ones(1, device=device).requires_grad()], lr=0.2)
    one = lr_scheduler.LambdaLR(single, [lambda epoch: 0.5])
    assert one.get_current_lr() == 0.1 and one.get_last_lr() == 0.2  # floats with one group
    with pytest.raises(ValueError, match="expected 2 lr_lambda functions"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0])


# --- a step that fails changes nothing ------------------------------------------------------------
def _snapshot(scheduler):
    return scheduler.get_current_epoch(), scheduler.get_current_lr(), scheduler.get_last_lr(), [g["lr"] for g in scheduler.optimizer.param_groups]


def test_a_lambda_step_that_fails_validation_changes_nothing(device):
    optimizer = our_optimizer(device)
    scheduler = lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0, lambda e: 1.0 if e < 2 else -1.0])
    scheduler.step()
    before = _snapshot(scheduler)
    with pytest.raises(ValueError, match="LambdaLR: the learning rate of parameter group 1 for epoch 2 must be a finite number >= 0, got -0.1"):
        scheduler.step()
    assert _snapshot(scheduler) == before  # neither group 0's rate nor the epoch moved


def test_onecycle_past_its_last_step_and_bad_metrics_change_nothing(device):
    optimizer = our_optimizer(device)
    scheduler = lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=3)
    for _ in range(3):
        scheduler.step()
    before = _snapshot(scheduler), [g["momentum"] for g in optimizer.param_groups]
    with pytest.raises(ValueError, match="step 4 is past total_steps=3"):
        scheduler.step()
    assert (_snapshot(scheduler), [g["momentum"] for g in optimizer.param_groups]) == before

    plateau = lr_scheduler.ReduceLROnPlateau(our_optimizer(device), patience=0)
    plateau.step(1.0)
    state = plateau.state_dict()
    with pytest.raises(TypeError, match="the metric must be a real number, got str"):
        plateau.step("0.5")
    assert plateau.state_dict() == state


def test_new_schedulers_round_trip_their_state(device, tmp_path):
    def make(optimizer):
        return lr_scheduler.SequentialLR(
            optimizer, [lr_scheduler.LinearLR(optimizer, 0.5, total_iters=3), lr_scheduler.CosineAnnealingLR(optimizer, 6)], [3]
        )

    optimizer = our_optimizer(device)
    scheduler = make(optimizer)
    for _ in range(4):
        scheduler.step()
    nk.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "ckpt.npz")
    fresh_optimizer = our_optimizer(device)
    fresh = make(fresh_optimizer)
    checkpoint = nk.load(tmp_path / "ckpt.npz")
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    for _ in range(6):
        scheduler.step(), fresh.step()
        assert [g["lr"] for g in fresh_optimizer.param_groups] == [g["lr"] for g in optimizer.param_groups]


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda o: lr_scheduler.CosineAnnealingLR(o, 0), ValueError, "T_max must be an integer >= 1"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError, "start_factor must be > 0"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1), ValueError, "give total_steps, or epochs and steps_per_epoch"),
        (lambda o: lr_scheduler.OneCycleLR(o, [0.1], total_steps=5), ValueError, "expected 2 values of max_lr"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 5, anneal_strategy="exp"), ValueError, "anneal_strategy"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode must be 'min' or 'max'"),
        (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []), TypeError, "cannot be sequenced"),
        (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 2, [3, 4]), ValueError, "need 1 milestones"),
    ],
)
def test_bad_scheduler_arguments_raise(device, build, error, message):
    with pytest.raises(error, match=message):
        build(our_optimizer(device))


def test_schedulers_take_on_added_groups_or_refuse_them_clearly(device):
    optimizer = our_optimizer(device)
    shared = lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5**epoch)
    per_group = lr_scheduler.MultiplicativeLR(optimizer, [lambda e: 1.0, lambda e: 1.0])
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, min_lr=0.001)
    optimizer.add_param_group({"params": [nk.ones(1, dtype="float64", device=device).requires_grad()], "lr": 0.8})
    shared.step()
    assert shared.base_lrs == [*LRS, 0.8] and optimizer.param_groups[2]["lr"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="gained 1 parameter group"):
        per_group.step()
    plateau.step(1.0), plateau.step(2.0)
    assert plateau.min_lrs == [0.001] * 3 and optimizer.param_groups[2]["lr"] == pytest.approx(0.04)
