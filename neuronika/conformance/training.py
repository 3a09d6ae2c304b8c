"""Conformance areas ``training``, ``state`` and ``checkpoints``: models that learn on the
backend, state that moves to and from the CPU, checkpoints that resume exactly."""

from __future__ import annotations

import importlib
import os
import tempfile
from typing import Any, Callable

from .. import backends, nn, optim
from ..autograd import from_ndarray
from ..io import load, save
from ..nn.loss import nll_loss
from ._common import assert_close, host_of, host_rng
from ._report import Check, passed

_DATA: dict[str, Any] = {}


def dataset() -> tuple[Any, Any, str]:
    """``(images, labels, source)``: scikit-learn's 8x8 digits scaled to [0, 1] (1797 images), or
    where scikit-learn is missing a synthetic 10-class set of the same shape (Gaussian blobs)."""
    if not _DATA:
        try:
            load_digits = importlib.import_module("sklearn.datasets").load_digits
        except ImportError:
            rng = host_rng(5)
            centres = rng.uniform(0.0, 1.0, size=(10, 64))
            labels = rng.integers(0, 10, size=1797)
            images = centres[labels] + rng.normal(0.0, 0.25, size=(1797, 64))
            _DATA.update(images=images, labels=labels, source="synthetic blobs (scikit-learn is not installed)")
        else:
            images, labels = load_digits(return_X_y=True)
            order = host_rng(6).permutation(len(labels))  # the file's last writers are the hardest
            _DATA.update(images=images[order] / 16.0, labels=labels[order], source="scikit-learn digits")
    return _DATA["images"], _DATA["labels"], _DATA["source"]


def _mlp(device: str) -> nn.Module:
    return nn.Sequential(nn.Linear(64, 32, device=device), nn.ReLU(), nn.Linear(32, 10, device=device))


def _cnn(device: str) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, device=device), nn.BatchNorm2d(4, device=device), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 10, device=device),
    )


def _epoch(model: nn.Module, optimizer: optim.Optimizer, images: Any, labels: Any, device: str, batch: int) -> float:
    """One pass over the data in mini-batches; the mean loss."""
    total = 0.0
    count = 0
    for start in range(0, len(labels), batch):
        x = from_ndarray(images[start:start + batch], dtype="float32", device=device)
        loss = nll_loss(model(x).log_softmax(1), labels[start:start + batch].tolist())
        loss.forward()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += 1
    return total / count


def _accuracy(model: nn.Module, images: Any, labels: Any, device: str) -> float:
    model.eval()
    scores = model(from_ndarray(images, dtype="float32", device=device)).forward().numpy()
    model.train()
    return float((scores.argmax(1) == labels).mean())


def _mlp_trains(check: Check) -> tuple[str, str]:
    images, labels, source = dataset()
    backends.manual_seed(0)
    model = _mlp(check.device)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    train, test = slice(0, 1400), slice(1400, None)
    batch, epochs = (100, 3) if check.quick else (50, 5)
    losses = [_epoch(model, optimizer, images[train], labels[train], check.device, batch) for _ in range(epochs)]
    accuracy = _accuracy(model, images[test], labels[test], check.device)
    if not losses[-1] < 0.5 * losses[0]:
        raise AssertionError(f"loss did not fall by half: epoch losses {[round(v, 3) for v in losses]}")
    if accuracy < 0.9:
        raise AssertionError(f"test accuracy {accuracy:.3f} < 0.9 on {source}")
    return passed(f"MLP on {source}: loss {losses[0]:.2f} -> {losses[-1]:.2f}, test accuracy {accuracy:.3f}")


def _cnn_trains(check: Check) -> tuple[str, str]:
    images, labels, source = dataset()
    backends.manual_seed(0)
    model = _cnn(check.device)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    count = 320 if check.quick else 960
    shaped = images[:count].reshape(-1, 1, 8, 8)
    first = _epoch(model, optimizer, shaped[:32], labels[:32], check.device, 32)
    last = [_epoch(model, optimizer, shaped, labels[:count], check.device, 32) for _ in range(2)][-1]
    if not last < 0.7 * first:
        raise AssertionError(f"loss did not fall: first batch {first:.3f}, last epoch {last:.3f}")
    return passed(f"conv + batch norm + pooling + dropout: loss {first:.2f} -> {last:.2f}")


_OPTIMIZERS: dict[str, Callable[[list[Any]], optim.Optimizer]] = {
    "SGD (Nesterov)": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.1),
    "AdamW (amsgrad)": lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.1, amsgrad=True),
    "RMSProp (centered, momentum)": lambda p: optim.RMSProp(p, lr=0.01, centered=True, momentum=0.5),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
}


def _optimizer_steps(device: str, make: Callable[[list[Any]], optim.Optimizer], dtype: str) -> Any:
    """Four steps on ``Σ (w - t)² · s`` from fixed values; the final weights (host)."""
    rng = host_rng(9)
    start, target, scale = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (3, 4))
    model = nn.Linear(4, 3, device=device, dtype=dtype)
    model.load_state_dict({"weight": start, "bias": start[:, 0]})
    optimizer = make(list(model.parameters()))
    t, s = from_ndarray(target, dtype=dtype, device=device), from_ndarray(scale, dtype=dtype, device=device)
    bias = model.bias
    assert bias is not None
    for _ in range(4):
        loss = ((model.weight - t).pow(2.0) * s).sum() + bias.pow(2.0).sum()
        loss.forward()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.weight.numpy()


def _optimizer_check(name: str) -> Callable[[Check], tuple[str, str]]:
    def check(ctx: Check) -> tuple[str, str]:
        dtype = "float64" if ctx.backend.has_dtype("float64") else "float32"
        expected = _optimizer_steps(ctx.reference, _OPTIMIZERS[name], dtype)
        actual = _optimizer_steps(ctx.device, _OPTIMIZERS[name], dtype)
        assert_close(actual, expected, f"{name}: weights after 4 steps", 1e-6, 1e-8)
        return passed("state updated " + ("in place" if ctx.backend.mutable_arrays else "functionally"))

    return check


def _accumulation(check: Check) -> tuple[str, str]:
    """Two backward passes add their gradients; zero_grad clears them."""
    w = from_ndarray([[1.0, 2.0], [3.0, 4.0]], device=check.device).requires_grad()
    x = from_ndarray([[0.5, -1.0], [2.0, 1.0]], device=check.device)
    loss = (w * x).sum()
    loss.forward()
    loss.backward()
    loss.backward()
    assert_close(backends.to_host(w.grad), x.numpy() * 2, "gradient after two backward passes")
    w.zero_grad()
    assert_close(backends.to_host(w.grad), x.numpy() * 0, "gradient after zero_grad")
    return passed()


def _module_round_trip(check: Check) -> tuple[str, str]:
    """A CPU model moved to the device and back: same parameters, same outputs, gradients
    flow back to CPU leaves through ``Var.to``."""
    backends.manual_seed(3)
    model = _mlp("cpu")
    before = {name: value.copy() for name, value in _host_state(model).items()}
    x = host_rng(4).standard_normal((5, 64))
    expected = model(from_ndarray(x, dtype="float32")).forward().numpy()
    model.to(check.device)
    for param in model.parameters():
        if not check.backend.owns(param.data):
            raise AssertionError("a parameter is not on the device after Module.to")
    assert_close(model(from_ndarray(x, dtype="float32", device=check.device)).forward().numpy(), expected, "outputs on the device", 1e-5, 1e-6)
    model.to("cpu")
    for name, value in _host_state(model).items():
        assert_close(value, before[name], f"{name} after the round trip", 0, 0)
    leaf = from_ndarray(x[:2, :3]).requires_grad()
    moved = (leaf.to(check.device) * 3.0).sum()
    moved.forward()
    moved.backward()
    assert_close(backends.to_host(leaf.grad), x[:2, :3] * 0 + 3.0, "gradient through Var.to")
    return passed()


def _host_state(model: nn.Module) -> dict[str, Any]:
    return {name: host_of(value) for name, value in model.state_dict().items()}


def _optimizer_follows(check: Check) -> tuple[str, str]:
    """Optimizer state made on the device follows its parameters to the CPU and back."""
    backends.manual_seed(3)
    images, labels, _ = dataset()
    model = _mlp(check.device)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    _epoch(model, optimizer, images[:64], labels[:64], check.device, 64)
    model.to("cpu")
    _epoch(model, optimizer, images[:64], labels[:64], "cpu", 64)
    model.to(check.device)
    _epoch(model, optimizer, images[:64], labels[:64], check.device, 64)
    for state in optimizer.state_dict()["state"].values() if isinstance(optimizer.state_dict().get("state"), dict) else []:
        for array in state.values():
            if hasattr(array, "shape") and not check.backend.owns(array):
                raise AssertionError("optimizer state did not follow its parameter back to the device")
    return passed()


def _resume(check: Check) -> tuple[str, str]:
    """Save model, optimizer and RNG state mid-run; load onto the device; the resumed run
    repeats the uninterrupted one (dropout draws included)."""
    images, labels, _ = dataset()
    shaped = images[:96].reshape(-1, 1, 8, 8)
    backends.manual_seed(1)
    model = _cnn(check.device)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    _epoch(model, optimizer, shaped[:32], labels[:32], check.device, 32)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.npz")
        save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": backends.get_rng_state()}, path)
        straight = _epoch(model, optimizer, shaped[32:], labels[32:96], check.device, 32)
        checkpoint = load(path, device=check.device)
    backends.manual_seed(99)
    resumed = _cnn(check.device)
    resumed.load_state_dict(checkpoint["model"])
    optimizer = optim.Adam(resumed.parameters(), lr=0.01)
    optimizer.load_state_dict(checkpoint["optimizer"])
    backends.set_rng_state(checkpoint["rng"])
    again = _epoch(resumed, optimizer, shaped[32:], labels[32:96], check.device, 32)
    assert_close(from_ndarray([again]).numpy(), from_ndarray([straight]).numpy(), "loss after resuming", 1e-6, 1e-7)
    for name, value in _host_state(resumed).items():
        assert_close(value, _host_state(model)[name], f"{name} after resuming", 1e-6, 1e-7)
    return passed()


CHECKS = {
    "training": [("MLP learns digits", _mlp_trains), ("CNN loss falls", _cnn_trains), ("gradient accumulation", _accumulation)]
    + [(f"optimizer {name}", _optimizer_check(name)) for name in _OPTIMIZERS],
    "state": [("module to the device and back", _module_round_trip), ("optimizer state follows", _optimizer_follows)],
    "checkpoints": [("save, load on the device, resume", _resume)],
}
