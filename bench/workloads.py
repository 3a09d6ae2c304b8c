"""The neuronika versions of the workloads and the table of workloads.

Each workload comes twice:

* **replayed** (the timed neuronika number): the graph is built once; a step assigns the next
  batch to the input leaves, then ``forward`` → ``backward`` → ``optimizer.step()`` →
  ``zero_grad()`` (the training loop of the design, section 3);
* **rebuilt**: the graph is written anew every step, as an eager framework does (and as the
  crate's quickstart does), so the cost of building nodes shows.

They start from the same weights and data as the floor and the PyTorch peer (``common.py``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import neuronika as nk
from neuronika import nn, optim

from common import Impl, Settings

Builder = Callable[[Settings, dict[str, Any], str], Impl]


def _leaf(backend: Any, array: Any) -> nk.Var:
    return nk.from_ndarray(backend.asarray(array, nk.float32), device=str(backend.device))


def _load(module: nn.Module, arrays: dict[str, Any]) -> nn.Module:
    for name, array in arrays.items():
        getattr(module, name).assign(np.array(array))  # a copy: parameters are updated in place
    return module


def _sync(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import cupy

        return cupy.cuda.get_current_stream().synchronize  # type: ignore[no-any-return]
    return lambda: None


def _batches(backend: Any, data: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Images and labels as float32 arrays on the device (labels hold class indices)."""
    xs = [backend.asarray(x, nk.float32) for x in data["x"]]
    ys = [backend.asarray(np.asarray(y, dtype=np.float32), nk.float32) for y in data["y"]]
    return xs, ys


class _Training:
    """A replayed training step: assign the next batch, forward, backward, SGD step, zero_grad."""

    def __init__(self, loss: nk.VarDiff, inputs: nk.Var, labels: nk.Var, xs: list[Any], ys: list[Any], lr: float,
                 params: list[nk.Param]) -> None:
        self.loss, self.inputs, self.labels, self.xs, self.ys = loss, inputs, labels, xs, ys
        self.optimizer = optim.SGD(params, lr=lr)
        self.batch = 0

    def __call__(self) -> Any:
        k = self.batch
        self.batch = (k + 1) % len(self.xs)
        self.inputs.assign(self.xs[k])
        self.labels.assign(self.ys[k])
        loss = self.loss
        loss.forward()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.data


def _mlp_model(s: Settings, data: dict[str, Any], device: str) -> tuple[list[nn.Linear], Callable[[nk.Var], nk.Var]]:
    sizes = s.mlp_sizes
    layers = [nn.Linear(a, b, device=device) for a, b in zip(sizes, sizes[1:])]
    for index, layer in enumerate(layers, 1):
        _load(layer, {"weight": data[f"w{index}"], "bias": data[f"b{index}"]})
    fc1, fc2, fc3 = layers

    def logits(x: nk.Var) -> nk.Var:
        return fc3(fc2(fc1(x).relu()).relu())

    return layers, logits


def _replayed_classifier(
    model: tuple[list[nn.Module], Callable[[nk.Var], nk.Var]], data: dict[str, Any], device: str, lr: float
) -> Impl:
    """A classifier's training step on a graph built once (log_softmax + NLL, SGD), replayed per batch."""
    layers, logits = model
    backend = nk.backends.get(device)
    xs, ys = _batches(backend, data)
    x, y = _leaf(backend, xs[0]), _leaf(backend, ys[0])
    loss = nn.loss.nll_loss(logits(x).log_softmax(1), y)
    params = [p for layer in layers for p in layer.parameters()]
    return Impl(_Training(loss, x, y, xs, ys, lr, params), _sync(device))


def mlp(s: Settings, data: dict[str, Any], device: str) -> Impl:
    return _replayed_classifier(_mlp_model(s, data, device), data, device, s.lr)


def mlp_rebuilt(s: Settings, data: dict[str, Any], device: str) -> Impl:
    backend = nk.backends.get(device)
    layers, logits = _mlp_model(s, data, device)
    xs, ys = _batches(backend, data)
    optimizer = optim.SGD([p for layer in layers for p in layer.parameters()], lr=s.lr)
    state = {"batch": 0}

    def step() -> Any:
        k = state["batch"]
        state["batch"] = (k + 1) % len(xs)
        loss = nn.loss.nll_loss(logits(_leaf(backend, xs[k])).log_softmax(1), _leaf(backend, ys[k]))
        loss.forward()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.data

    return Impl(step, _sync(device))


def _cnn_model(s: Settings, data: dict[str, Any], device: str) -> tuple[list[nn.Module], Callable[[nk.Var], nk.Var]]:
    c1, c2 = s.cnn_channels
    conv1 = _load(nn.Conv2d(1, c1, s.cnn_kernel, device=device), {"weight": data["k1"], "bias": data["c1"]})
    conv2 = _load(nn.Conv2d(c1, c2, s.cnn_kernel, device=device), {"weight": data["k2"], "bias": data["c2"]})
    fc = _load(nn.Linear(s.cnn_flat, s.classes, device=device), {"weight": data["w"], "bias": data["b"]})

    def logits(x: nk.Var) -> nk.Var:
        return fc(conv2(conv1(x).relu()).relu().flatten(1))

    return [conv1, conv2, fc], logits


def cnn(s: Settings, data: dict[str, Any], device: str) -> Impl:
    return _replayed_classifier(_cnn_model(s, data, device), data, device, s.lr)


def _cnn_large_model(s: Settings, data: dict[str, Any], device: str) -> tuple[list[nn.Module], Callable[[nk.Var], nk.Var]]:
    channels = (3,) + s.large_channels
    convs = [
        _load(nn.Conv2d(cin, cout, 3, padding=1, device=device), {"weight": data[f"k{i}"], "bias": data[f"c{i}"]})
        for i, (cin, cout) in enumerate(zip(channels, channels[1:]), 1)
    ]
    fc = _load(nn.Linear(data["w"].shape[1], s.classes, device=device), {"weight": data["w"], "bias": data["b"]})
    pool = nn.MaxPool2d(2)

    def logits(x: nk.Var) -> nk.Var:
        for conv in convs:
            x = pool(conv(x).relu())
        return fc(x.flatten(1))

    return [*convs, fc], logits


def cnn_large(s: Settings, data: dict[str, Any], device: str) -> Impl:
    """W2L replayed: three conv 3x3 → ReLU → max pool stages, flatten, linear (see common.cnn_large_data)."""
    return _replayed_classifier(_cnn_large_model(s, data, device), data, device, s.lr)


def _chain_graph(backend: Any, x: nk.Var, ws: list[nk.VarDiff], bs: list[nk.VarDiff]) -> nk.VarDiff:
    y = x
    for w, b in zip(ws, bs):
        y = (y * w + b).tanh()
    return y.sum()  # type: ignore[return-value]


def _chain_leaves(s: Settings, data: dict[str, Any], device: str) -> tuple[Any, nk.Var, list[nk.VarDiff], list[nk.VarDiff]]:
    backend = nk.backends.get(device)
    x = _leaf(backend, data["x"])
    ws = [_leaf(backend, w).requires_grad() for w in data["w"]]
    bs = [_leaf(backend, b).requires_grad() for b in data["b"]]
    return backend, x, ws, bs


def chain(s: Settings, data: dict[str, Any], device: str) -> Impl:
    """W3 replayed: the chain is built once; a pass is ``forward`` + ``backward`` (the leaf
    gradients accumulate, as PyTorch's do without ``zero_grad``)."""
    backend, x, ws, bs = _chain_leaves(s, data, device)
    loss = _chain_graph(backend, x, ws, bs)

    def step() -> Any:
        loss.forward()
        loss.backward()
        return loss.data

    return Impl(step, _sync(device))


def chain_rebuilt(s: Settings, data: dict[str, Any], device: str) -> Impl:
    """W3 rebuilt: the chain's nodes are created anew on every pass."""
    backend, x, ws, bs = _chain_leaves(s, data, device)

    def step() -> Any:
        loss = _chain_graph(backend, x, ws, bs)
        loss.forward()
        loss.backward()
        return loss.data

    return Impl(step, _sync(device))


def _lstm_parts(s: Settings, data: dict[str, Any], device: str) -> tuple[Any, nn.LSTMCell, list[nk.Var], nk.Var, nk.Var]:
    backend = nk.backends.get(device)
    cell = _load(
        nn.LSTMCell(s.lstm_input, s.lstm_hidden, device=device),
        {"weight_ih": data["w_ih"], "weight_hh": data["w_hh"], "bias_ih": data["b_ih"], "bias_hh": data["b_hh"]},
    )
    xs = [_leaf(backend, x) for x in data["x"]]
    target = _leaf(backend, data["target"])
    zeros = nk.zeros((s.lstm_batch, s.lstm_hidden), device=device)
    return backend, cell, xs, target, zeros  # type: ignore[return-value]


def _unroll(cell: nn.LSTMCell, xs: list[nk.Var], target: nk.Var, zeros: nk.Var) -> nk.VarDiff:
    state = (zeros, zeros)
    for x in xs:
        state = cell.forward(state, x)
    return nn.loss.mse_loss(state[1], target)  # type: ignore[return-value]


def lstm(s: Settings, data: dict[str, Any], device: str) -> Impl:
    _, cell, xs, target, zeros = _lstm_parts(s, data, device)
    loss = _unroll(cell, xs, target, zeros)
    optimizer = optim.SGD(cell.parameters(), lr=s.lr)

    def step() -> Any:
        loss.forward()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.data

    return Impl(step, _sync(device))


def lstm_rebuilt(s: Settings, data: dict[str, Any], device: str) -> Impl:
    _, cell, xs, target, zeros = _lstm_parts(s, data, device)
    optimizer = optim.SGD(cell.parameters(), lr=s.lr)

    def step() -> Any:
        loss = _unroll(cell, xs, target, zeros)
        loss.forward()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.data

    return Impl(step, _sync(device))


#: name -> (title, replayed builder, rebuilt builder or None)
NEURONIKA: dict[str, tuple[Builder, Builder | None]] = {
    "W1": (mlp, mlp_rebuilt),
    "W2": (cnn, None),
    "W2L": (cnn_large, None),
    "W3": (chain, chain_rebuilt),
    "W4": (lstm, lstm_rebuilt),
}
