"""Shared pieces of the benchmark: workload settings, synthetic data and initial weights, and the
timer.

Every implementation of a workload (the hand-written floor in ``floors.py``, PyTorch in
``peers.py``, neuronika in ``workloads.py``) starts from the same host arrays made here with a
fixed seed, so the first step's loss must agree between them (``run.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from typing import Any, Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of the workloads (the issues', or tiny ones for ``--quick``)."""

    mlp_batch: int = 128
    mlp_sizes: tuple[int, ...] = (784, 512, 256, 10)
    cnn_batch: int = 64
    cnn_image: int = 28
    cnn_channels: tuple[int, int] = (16, 32)
    cnn_kernel: int = 5
    classes: int = 10
    chain_links: int = 400
    chain_width: int = 16
    lstm_steps: int = 32
    lstm_batch: int = 32
    lstm_input: int = 64
    lstm_hidden: int = 128
    large_batch: int = 128
    large_image: int = 32
    large_channels: tuple[int, int, int] = (32, 64, 128)
    lr: float = 0.01
    batches: int = 4  # distinct synthetic batches cycled through by W1 and W2

    @classmethod
    def quick(cls) -> "Settings":
        return cls(
            mlp_batch=8, mlp_sizes=(32, 16, 8, 4), cnn_batch=2, cnn_image=12, cnn_channels=(2, 3),
            classes=4, chain_links=20, lstm_steps=3, lstm_batch=2, lstm_input=5, lstm_hidden=6, batches=2,
            large_batch=2, large_image=8, large_channels=(2, 3, 4),
        )

    @property
    def cnn_flat(self) -> int:
        side = self.cnn_image - 2 * (self.cnn_kernel - 1)
        return self.cnn_channels[1] * side * side


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def mlp_data(s: Settings, batch: int | None = None) -> dict[str, Any]:
    """W1: weights ``w1..w3`` (out, in) and biases, ``batches`` pairs of images and labels."""
    rng = np.random.default_rng(1)
    batch = batch or s.mlp_batch
    data: dict[str, Any] = {}
    for index, (fan_in, fan_out) in enumerate(zip(s.mlp_sizes, s.mlp_sizes[1:]), 1):
        data[f"w{index}"] = _uniform(rng, (fan_out, fan_in), fan_in)
        data[f"b{index}"] = _uniform(rng, (fan_out,), fan_in)
    data["x"] = [rng.random((batch, s.mlp_sizes[0]), dtype=np.float32) for _ in range(s.batches)]
    data["y"] = [rng.integers(0, s.mlp_sizes[-1], batch) for _ in range(s.batches)]
    return data


def cnn_data(s: Settings, batch: int | None = None) -> dict[str, Any]:
    """W2: conv kernels ``k1 (16, 1, 5, 5)``, ``k2 (32, 16, 5, 5)`` with biases, the linear layer
    ``w (10, 12800)`` (flattened in PyTorch's (C, H, W) order), images and labels."""
    rng = np.random.default_rng(2)
    batch = batch or s.cnn_batch
    c1, c2 = s.cnn_channels
    k = s.cnn_kernel
    data: dict[str, Any] = {
        "k1": _uniform(rng, (c1, 1, k, k), k * k),
        "c1": _uniform(rng, (c1,), k * k),
        "k2": _uniform(rng, (c2, c1, k, k), c1 * k * k),
        "c2": _uniform(rng, (c2,), c1 * k * k),
        "w": _uniform(rng, (s.classes, s.cnn_flat), s.cnn_flat),
        "b": _uniform(rng, (s.classes,), s.cnn_flat),
    }
    data["x"] = [rng.random((batch, 1, s.cnn_image, s.cnn_image), dtype=np.float32) for _ in range(s.batches)]
    data["y"] = [rng.integers(0, s.classes, batch) for _ in range(s.batches)]
    return data


def cnn_large_data(s: Settings, batch: int | None = None) -> dict[str, Any]:
    """W2L: three 3x3 convolutions ``k1..k3`` (3 → c1 → c2 → c3, padding 1, each followed by ReLU
    and 2x2 max pooling) with biases ``c1..c3``, the linear layer ``w (classes, c3·(image/8)²)``,
    (N, 3, image, image) images and labels."""
    rng = np.random.default_rng(5)
    batch = batch or s.large_batch
    data: dict[str, Any] = {}
    channels = (3,) + s.large_channels
    for index, (cin, cout) in enumerate(zip(channels, channels[1:]), 1):
        data[f"k{index}"] = _uniform(rng, (cout, cin, 3, 3), cin * 9)
        data[f"c{index}"] = _uniform(rng, (cout,), cin * 9)
    flat = s.large_channels[-1] * (s.large_image // 8) ** 2
    data["w"] = _uniform(rng, (s.classes, flat), flat)
    data["b"] = _uniform(rng, (s.classes,), flat)
    data["x"] = [rng.random((batch, 3, s.large_image, s.large_image), dtype=np.float32) for _ in range(s.batches)]
    data["y"] = [rng.integers(0, s.classes, batch) for _ in range(s.batches)]
    return data


def chain_data(s: Settings) -> dict[str, Any]:
    """W3: the input ``x (16,)`` and per link a weight ``w[i]`` and a bias ``b[i]`` (16,)."""
    rng = np.random.default_rng(3)
    n, links = s.chain_width, s.chain_links
    return {
        "x": rng.standard_normal(n).astype(np.float32),
        "w": [rng.uniform(0.5, 1.5, n).astype(np.float32) for _ in range(links)],
        "b": [rng.uniform(-0.1, 0.1, n).astype(np.float32) for _ in range(links)],
    }


def lstm_data(s: Settings) -> dict[str, Any]:
    """W4: PyTorch-layout LSTM weights (gates i, f, g, o), the input sequence ``x (T, N, I)``
    and a regression target for the last hidden state."""
    rng = np.random.default_rng(4)
    hidden, inputs = s.lstm_hidden, s.lstm_input
    return {
        "w_ih": _uniform(rng, (4 * hidden, inputs), hidden),
        "w_hh": _uniform(rng, (4 * hidden, hidden), hidden),
        "b_ih": _uniform(rng, (4 * hidden,), hidden),
        "b_hh": _uniform(rng, (4 * hidden,), hidden),
        "x": rng.standard_normal((s.lstm_steps, s.lstm_batch, inputs)).astype(np.float32),
        "target": rng.uniform(-0.5, 0.5, (s.lstm_batch, hidden)).astype(np.float32),
    }


@dataclasses.dataclass
class Impl:
    """One implementation of a workload: ``step()`` runs one training step (or one W3 pass) and
    returns its loss as something ``float()`` accepts; ``sync()`` waits for the device."""

    step: Callable[[], Any]
    sync: Callable[[], None] = lambda: None
    note: str = ""


def time_interleaved(impls: dict[str, Impl], warmup: int, steps: int, rounds: int = 3, pause: float = 0.3) -> dict[str, dict[str, Any]]:
    """Per-step times of every implementation: ``warmup`` untimed steps each, then ``rounds``
    rounds in which each implementation runs its share of ``steps`` timed steps in turn (so slow
    drifts of the machine hit all of them alike), the order rotating from round to round. Returns ``{name: {"median_ms", "min_ms",
    "steps", "first_loss"}}``.

    Before each timed block the process sleeps ``pause`` seconds and runs two untimed steps: the
    thread pools of NumPy's OpenBLAS and of PyTorch's OpenMP keep spinning for a while after their
    last call, and on a 2-core machine a spinning pool of one library costs the other a 4 ms
    scheduler tick on every other step (measured: PyTorch's W1 step alternated 2.2 / 6.2 ms right
    after NumPy ran, and stayed at 2.2 ms after a 0.3 s pause)."""
    first_loss: dict[str, float] = {}
    for name, impl in impls.items():
        first_loss[name] = float(impl.step())
        impl.sync()
        for _ in range(warmup - 1):
            impl.step()
        impl.sync()
    samples: dict[str, list[float]] = {name: [] for name in impls}
    per_round = [steps // rounds + (1 if r < steps % rounds else 0) for r in range(rounds)]
    clock = time.perf_counter
    names = list(impls)
    for index, count in enumerate(per_round):
        # each round starts one implementation later, so every implementation follows every
        # other one equally often (what ran before can matter: see above)
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            impl = impls[name]
            step, sync, times = impl.step, impl.sync, samples[name]
            if pause:
                time.sleep(pause)
                for _ in range(2):
                    step()
                sync()
            for _ in range(count):
                start = clock()
                step()
                sync()
                times.append(clock() - start)
    return {
        name: {
            "median_ms": statistics.median(times) * 1e3,
            "min_ms": min(times) * 1e3,
            "steps": len(times),
            "first_loss": first_loss[name],
        }
        for name, times in samples.items()
    }
