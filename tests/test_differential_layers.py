"""Differential tests against PyTorch (CPU, float64 unless the dtype is the point): layers (PyTorch's state dict copied in, training and
evaluation, a batch of 1, edge parameters of pooling and convolution, stacked bidirectional
recurrences, attention masks) and optimizers with every option and scheduler against
``torch.optim``.
Values and the gradients of every input (with a random cotangent) are compared by
``torch_compare.against_torch`` and ``module_against_torch``."""

from __future__ import annotations

import numpy as np
import pytest

import neuronika as nk
from neuronika import nn, optim

from torch_compare import host, module_against_torch

torch = pytest.importorskip("torch")
F = torch.nn.functional
T = torch.nn


T = torch.nn


@pytest.mark.parametrize("train", (True, False))
@pytest.mark.parametrize("momentum", (0.1, None, 1.0))
def test_batch_norm_running_statistics_with_a_batch_of_one(device, train, momentum):
    rng = np.random.default_rng(10)
    module_against_torch(nn.BatchNorm2d(3, momentum=momentum, dtype="float64"), T.BatchNorm2d(3, momentum=momentum),
                         [rng.standard_normal((1, 3, 2, 2))], device, train, steps=3)
    module_against_torch(nn.BatchNorm1d(2, momentum=momentum, dtype="float64"), T.BatchNorm1d(2, momentum=momentum),
                         [np.ones((4, 2))], device, train, steps=2)  # a constant batch: variance 0


def test_normalization_layers_without_affine_or_tracking(device):
    rng = np.random.default_rng(11)
    for train in (True, False):
        module_against_torch(nn.BatchNorm3d(2, affine=False, dtype="float64"), T.BatchNorm3d(2, affine=False),
                             [rng.standard_normal((2, 2, 2, 1, 2))], device, train, steps=2)
        module_against_torch(nn.BatchNorm1d(3, track_running_stats=False, dtype="float64"), T.BatchNorm1d(3, track_running_stats=False),
                             [rng.standard_normal((4, 3, 5))], device, train, steps=2)
    module_against_torch(nn.LayerNorm((3, 4), dtype="float64"), T.LayerNorm((3, 4)), [rng.standard_normal((2, 3, 4))], device)
    module_against_torch(nn.LayerNorm(4, elementwise_affine=False, dtype="float64"), T.LayerNorm(4, elementwise_affine=False), [np.ones((2, 4))], device)
    module_against_torch(nn.GroupNorm(2, 4, dtype="float64"), T.GroupNorm(2, 4), [rng.standard_normal((2, 4, 3))], device)
    module_against_torch(nn.GroupNorm(4, 4, dtype="float64"), T.GroupNorm(4, 4), [rng.standard_normal((2, 4))], device)


def test_embedding_padding_index_gets_no_gradient(device):
    tokens = np.array([[0, 2, 2], [1, 0, 3]])
    for padding in (None, 2, -1):
        module_against_torch(nn.Embedding(4, 3, padding_idx=padding, dtype="float64"), T.Embedding(4, 3, padding_idx=padding), [tokens], device)


POOLS = [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 3, 0, 1, False), (3, 1, 1, 2, False), (4, 3, 2, 1, True)]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil", POOLS)
def test_pooling_stride_above_kernel_dilation_and_ceil_mode(device, kernel, stride, padding, dilation, ceil):
    x = np.random.default_rng(12).standard_normal((2, 2, 7, 6))
    module_against_torch(nn.MaxPool2d(kernel, stride, padding, dilation, ceil), T.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil), [x], device)
    if dilation == 1:
        for include in (True, False):
            module_against_torch(nn.AvgPool2d(kernel, stride, padding, ceil, include), T.AvgPool2d(kernel, stride, padding, ceil, include), [x], device)


def test_max_pooling_ties_and_adaptive_pooling(device):
    rng = np.random.default_rng(13)
    module_against_torch(nn.MaxPool2d(2), T.MaxPool2d(2), [np.ones((1, 1, 4, 4))], device)
    module_against_torch(nn.MaxPool2d(3, 1), T.MaxPool2d(3, 1), [np.round(rng.random((1, 1, 5, 5)))], device)
    module_against_torch(nn.MaxPool1d(3, 2, 1, ceil_mode=True), T.MaxPool1d(3, 2, 1, ceil_mode=True), [rng.standard_normal((2, 3, 8))], device)
    x = rng.standard_normal((1, 2, 7, 6))
    for size in (1, (2, 4), (5, 3), (None, 2)):
        module_against_torch(nn.AdaptiveAvgPool2d(size), T.AdaptiveAvgPool2d(size), [x], device)
        module_against_torch(nn.AdaptiveMaxPool2d(size), T.AdaptiveMaxPool2d(size), [x], device)
    module_against_torch(nn.AdaptiveAvgPool1d(9), T.AdaptiveAvgPool1d(9), [rng.standard_normal((2, 3, 7))], device)


@pytest.mark.parametrize("kernel, stride, padding, dilation, groups, mode", [
    (2, 3, 0, 1, 1, "zeros"), (3, 2, 1, 2, 1, "zeros"), (3, 1, 2, 1, 2, "zeros"), (3, 1, 1, 1, 1, "reflect"), (3, 2, 2, 1, 1, "replicate"),
])
def test_convolution_edge_parameters(device, kernel, stride, padding, dilation, groups, mode):
    ours_mode = {"zeros": "zero", "reflect": "reflective", "replicate": "replicative"}[mode]
    x = np.random.default_rng(14).standard_normal((2, 4, 7, 6))
    module_against_torch(nn.Conv2d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=ours_mode, dtype="float64"),
                         T.Conv2d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode), [x], device)
    module_against_torch(nn.Conv1d(4, 2, kernel, stride=stride, padding=padding, dilation=dilation, padding_mode=ours_mode, dtype="float64"),
                         T.Conv1d(4, 2, kernel, stride=stride, padding=padding, dilation=dilation, padding_mode=mode), [x[:, :, 0]], device)


def _output(module, *inputs):
    out = module(*inputs)
    return out[0] if isinstance(out, tuple) else out


def _last_state(module, *inputs):
    state = module(*inputs)[1]
    return state[0] if isinstance(state, tuple) else state


@pytest.mark.parametrize("kind", ("RNN", "LSTM", "GRU"))
@pytest.mark.parametrize("options", ({"num_layers": 2, "bidirectional": True, "batch_first": True}, {"bias": False, "bidirectional": True}))
def test_recurrent_layers_stacked_and_bidirectional(device, kind, options):
    x = np.random.default_rng(15).standard_normal((2, 4, 3))
    for call in (_output, _last_state):
        module_against_torch(getattr(nn, kind)(3, 5, dtype="float64", **options), getattr(T, kind)(3, 5, **options), [x], device, call=call)


def test_recurrent_cells_and_initial_states(device):
    rng = np.random.default_rng(16)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    # neuronika's (crate's) order: cell((c, h), x) → (c', h'); PyTorch's: cell(x, (h, c)) → (h', c')
    module_against_torch(nn.LSTMCell(3, 4, dtype="float64"), T.LSTMCell(3, 4), [x, h, c], device,
                         call=lambda m, x, h, c: m((c, h), x)[1] if isinstance(m, nn.Module) else m(x, (h, c))[0])
    module_against_torch(nn.GRUCell(3, 4, dtype="float64"), T.GRUCell(3, 4), [x, h], device,
                         call=lambda m, x, h: m(h, x) if isinstance(m, nn.Module) else m(x, h))
    sequence, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 2, 5))
    module_against_torch(nn.GRU(3, 5, num_layers=2, dtype="float64"), T.GRU(3, 5, num_layers=2), [sequence, h0], device, call=_output)


def test_attention_with_masks_and_weights(device):
    rng = np.random.default_rng(17)
    q = rng.standard_normal((2, 3, 8))
    padding, causal = np.array([[False, False, True], [False, False, False]]), np.triu(np.ones((3, 3), bool), 1)
    for ours_call, theirs_call in [
        (lambda m, a: m(a, a, a, key_padding_mask=padding)[0], lambda m, a: m(a, a, a, key_padding_mask=torch.tensor(padding))[0]),
        (lambda m, a: m(a, a, a, attn_mask=causal)[0], lambda m, a: m(a, a, a, attn_mask=torch.tensor(causal))[0]),
        (lambda m, a: m(a, a, a, average_attn_weights=False)[1], lambda m, a: m(a, a, a, average_attn_weights=False)[1]),
    ]:
        module_against_torch(nn.MultiheadAttention(8, 2, batch_first=True, dtype="float64"), T.MultiheadAttention(8, 2, batch_first=True), [q], device,
                             call=lambda m, a: (ours_call if isinstance(m, nn.Module) else theirs_call)(m, a))
    module_against_torch(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True, dtype="float64"),
                         T.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True), [q], device)


# --- optimizers and schedulers: several steps against torch.optim ----------------------------------------
L2 = optim.L2
OPTIMIZERS = {
    "sgd_nesterov_decay": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, penalty=L2(0.005)),
                           lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3)),
    "adam_decay": (lambda p: optim.Adam(p, lr=0.01, betas=(0.5, 0.6), eps=1e-3, penalty=L2(0.05)),
                   lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.5, 0.6), eps=1e-3, weight_decay=0.1)),
    "amsgrad_decay": (lambda p: optim.AMSGrad(p, lr=0.01, penalty=L2(0.05)), lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
    "adamw_amsgrad": (lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=True), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=True)),
    "adagrad_decay": (lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.5, eps=1e-3, penalty=L2(0.05)),
                      lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.5, eps=1e-3, weight_decay=0.1)),
    "rmsprop_all": (lambda p: optim.RMSProp(p, lr=0.01, alpha=0.5, momentum=0.9, centered=True, eps=1e-2, penalty=L2(0.1)),
                    lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.5, momentum=0.9, centered=True, eps=1e-2, weight_decay=0.2)),
}
SCHEDULERS = {
    "none": (None, None),
    "onecycle": (lambda o: optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=12, three_phase=True, anneal_strategy="linear"),
                 lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=12, three_phase=True, anneal_strategy="linear")),
    "sequential": (lambda o: optim.lr_scheduler.SequentialLR(o, [optim.lr_scheduler.LinearLR(o, 0.1, total_iters=3), optim.lr_scheduler.CosineAnnealingLR(o, 4, 0.01)], [3]),
                   lambda o: torch.optim.lr_scheduler.SequentialLR(o, [torch.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=3), torch.optim.lr_scheduler.CosineAnnealingLR(o, 4, 0.01)], [3])),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("schedule", sorted(SCHEDULERS))
def test_optimizer_steps_with_every_option_match_torch_optim(device, name, schedule):
    if schedule == "onecycle" and name.startswith("adagrad"):
        pytest.skip("OneCycleLR cycles a momentum Adagrad lacks")
    ours_factory, theirs_factory = OPTIMIZERS[name]
    ours_schedule, theirs_schedule = SCHEDULERS[schedule]
    rng = np.random.default_rng(18)
    start = rng.standard_normal((3, 2))
    # gradients over six orders of magnitude, and one step with a zero gradient
    grads = [rng.standard_normal((3, 2)) * 10.0 ** rng.integers(-3, 3) for _ in range(8)]
    grads[2] = np.zeros((3, 2))
    param = nk.from_ndarray(start, device=device).requires_grad()
    tensor = torch.tensor(start, requires_grad=True)
    ours, theirs = ours_factory([param]), theirs_factory([tensor])
    ours_lr = ours_schedule(ours) if ours_schedule else None
    theirs_lr = theirs_schedule(theirs) if theirs_schedule else None
    for grad in grads:
        (param * nk.from_ndarray(grad, device=device)).sum().backward()
        tensor.grad = torch.tensor(grad)
        ours.step()
        theirs.step()
        ours.zero_grad()
        if ours_lr:
            ours_lr.step()
            theirs_lr.step()
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12)
        np.testing.assert_allclose(host(param.data), tensor.detach().numpy(), rtol=1e-10, atol=1e-12)
