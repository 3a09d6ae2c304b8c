"""PyTorch eager versions of the workloads (the peer), from the same initial weights and data.

Idiomatic PyTorch: ``nn`` modules, ``F.cross_entropy`` / ``F.nll_loss``, ``torch.optim.SGD``
with ``zero_grad()`` (gradients set to None). W3 builds its chain from tensor operations (an
eager framework always rebuilds) and lets leaf gradients accumulate, as neuronika's does.
"""

from __future__ import annotations

from typing import Any

from common import Impl, Settings


def _sync(torch: Any, device: str) -> Any:
    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def _tensor(torch: Any, array: Any, device: str, **kw: Any) -> Any:
    return torch.as_tensor(array, device=device).clone().requires_grad_(kw.get("grad", False))


def _load(torch: Any, module: Any, arrays: dict[str, Any], device: str) -> Any:
    with torch.no_grad():
        for name, array in arrays.items():
            getattr(module, name).copy_(torch.as_tensor(array))
    return module.to(device)


def mlp(torch: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    nn, F = torch.nn, torch.nn.functional
    sizes = s.mlp_sizes
    layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    for index, layer in enumerate(layers, 1):
        _load(torch, layer, {"weight": data[f"w{index}"], "bias": data[f"b{index}"]}, device)
    fc1, fc2, fc3 = layers

    def loss_of(x: Any, y: Any) -> Any:
        return F.nll_loss(F.log_softmax(fc3(F.relu(fc2(F.relu(fc1(x))))), dim=1), y)

    return _classifier(torch, layers, loss_of, s, data, device)


def cnn(torch: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    nn, F = torch.nn, torch.nn.functional
    c1, c2 = s.cnn_channels
    conv1 = _load(torch, nn.Conv2d(1, c1, s.cnn_kernel), {"weight": data["k1"], "bias": data["c1"]}, device)
    conv2 = _load(torch, nn.Conv2d(c1, c2, s.cnn_kernel), {"weight": data["k2"], "bias": data["c2"]}, device)
    fc = _load(torch, nn.Linear(s.cnn_flat, s.classes), {"weight": data["w"], "bias": data["b"]}, device)

    def loss_of(x: Any, y: Any) -> Any:
        return F.cross_entropy(fc(torch.flatten(F.relu(conv2(F.relu(conv1(x)))), 1)), y)

    return _classifier(torch, [conv1, conv2, fc], loss_of, s, data, device)


def _classifier(torch: Any, layers: list[Any], loss_of: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    """A training step over the cycled batches: ``loss_of(x, y)``, zero_grad, backward, SGD."""
    optimizer = torch.optim.SGD([p for layer in layers for p in layer.parameters()], lr=s.lr)
    xs = [torch.as_tensor(x, device=device) for x in data["x"]]
    ys = [torch.as_tensor(y, device=device) for y in data["y"]]
    state = {"batch": 0}

    def step() -> Any:
        k = state["batch"]
        state["batch"] = (k + 1) % len(xs)
        loss = loss_of(xs[k], ys[k])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    return Impl(step, _sync(torch, device))


def cnn_large(torch: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    """W2L: three (conv 3x3 padding 1 → ReLU → max pool 2) stages, flatten, linear, cross-entropy."""
    nn, F = torch.nn, torch.nn.functional
    channels = (3,) + s.large_channels
    convs = [
        _load(torch, nn.Conv2d(cin, cout, 3, padding=1), {"weight": data[f"k{i}"], "bias": data[f"c{i}"]}, device)
        for i, (cin, cout) in enumerate(zip(channels, channels[1:]), 1)
    ]
    fc = _load(torch, nn.Linear(data["w"].shape[1], s.classes), {"weight": data["w"], "bias": data["b"]}, device)

    def loss_of(x: Any, y: Any) -> Any:
        for conv in convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return F.cross_entropy(fc(torch.flatten(x, 1)), y)

    return _classifier(torch, [*convs, fc], loss_of, s, data, device)


def chain(torch: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    x = torch.as_tensor(data["x"], device=device)
    ws = [_tensor(torch, w, device, grad=True) for w in data["w"]]
    bs = [_tensor(torch, b, device, grad=True) for b in data["b"]]

    def step() -> Any:
        y = x
        for w, b in zip(ws, bs):
            y = torch.tanh(y * w + b)
        loss = y.sum()
        loss.backward()
        return loss.detach()

    return Impl(step, _sync(torch, device))


def lstm(torch: Any, s: Settings, data: dict[str, Any], device: str) -> Impl:
    nn, F = torch.nn, torch.nn.functional
    cell = _load(
        torch, nn.LSTMCell(s.lstm_input, s.lstm_hidden),
        {"weight_ih": data["w_ih"], "weight_hh": data["w_hh"], "bias_ih": data["b_ih"], "bias_hh": data["b_hh"]},
        device,
    )
    optimizer = torch.optim.SGD(cell.parameters(), lr=s.lr)
    xs = list(torch.as_tensor(data["x"], device=device))
    target = torch.as_tensor(data["target"], device=device)
    zeros = torch.zeros(s.lstm_batch, s.lstm_hidden, device=device)

    def step() -> Any:
        h, c = zeros, zeros
        for x in xs:
            h, c = cell(x, (h, c))
        loss = F.mse_loss(h, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.detach()

    return Impl(step, _sync(torch, device))


PEERS = {"W1": mlp, "W2": cnn, "W2L": cnn_large, "W3": chain, "W4": lstm}
