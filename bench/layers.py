"""Benchmark: the layers of issue 14 against PyTorch CPU, forward + backward, float32, replayed
graphs (built once, each step assigns a new batch), interleaved with ``common.time_interleaved``.

Cases:

* ``lstm``: ``nn.LSTM(64, 128, num_layers=2)`` over T=32, N=32 (the issue's target: <= 1.5x
  PyTorch's ``nn.LSTM``);
* ``pool_bn``: ``Conv``-free block ``BatchNorm2d(32) -> ReLU -> MaxPool2d(2)`` on (64, 32, 24, 24).

Prints the median step time of each and the ratio to PyTorch. For its own process only, and
saying so: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset unless ``--keep-openblas-env``.

    python bench/layers.py [--steps 30] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from process import unset_openblas_overrides  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--steps", type=int, default=30)
parser.add_argument("--quick", action="store_true", help="tiny shapes and few steps (smoke test)")
parser.add_argument("--keep-openblas-env", action="store_true")
args = parser.parse_args()
unset = unset_openblas_overrides(args.keep_openblas_env)

import numpy as np  # noqa: E402

import neuronika as nk  # noqa: E402
from neuronika import nn  # noqa: E402
from common import Impl, time_interleaved  # noqa: E402


def lstm_case(torch, quick):
    T, N, C, H = (4, 2, 8, 16) if quick else (32, 32, 64, 128)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((T, N, C)).astype(np.float32) for _ in range(4)]
    ours = nn.LSTM(C, H, num_layers=2)
    x = nk.zeros((T, N, C))
    output, (h, c) = ours(x)
    loss = output.mean()
    params = ours.parameters()
    state = {"i": 0}

    def ours_step():
        x.assign(batches[state["i"] % 4])
        state["i"] += 1
        loss.forward()
        loss.backward()
        for p in params:
            p.grad = None
        return loss.item()

    impls = {"neuronika": Impl(ours_step)}
    if torch is not None:
        theirs = torch.nn.LSTM(C, H, num_layers=2)
        tb = [torch.from_numpy(b) for b in batches]

        def torch_step():
            theirs.zero_grad()
            out = theirs(tb[state["i"] % 4])[0].mean()
            out.backward()
            return out.item()

        impls["pytorch"] = Impl(torch_step)
    return impls


def pool_bn_case(torch, quick):
    shape = (4, 4, 8, 8) if quick else (64, 32, 24, 24)
    rng = np.random.default_rng(0)
    batch = rng.standard_normal(shape).astype(np.float32)
    norm, pool = nn.BatchNorm2d(shape[1]), nn.MaxPool2d(2)
    x = nk.from_ndarray(batch).requires_grad()
    loss = pool(norm(x).relu()).mean()

    def ours_step():
        loss.forward()
        loss.backward()
        x.zero_grad()
        return loss.item()

    impls = {"neuronika": Impl(ours_step)}
    if torch is not None:
        tnorm, tpool = torch.nn.BatchNorm2d(shape[1]), torch.nn.MaxPool2d(2)
        tx = torch.from_numpy(batch).requires_grad_()

        def torch_step():
            tx.grad = None
            out = tpool(torch.relu(tnorm(tx))).mean()
            out.backward()
            return out.item()

        impls["pytorch"] = Impl(torch_step)
    return impls


def main() -> None:
    try:
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    except ImportError:
        torch = None
    if unset:
        print(f"(unset for this process: {', '.join(unset)})")
    steps = 4 if args.quick else args.steps
    for name, case in (("lstm", lstm_case), ("pool_bn", pool_bn_case)):
        timings = time_interleaved(case(torch, args.quick), warmup=2, steps=steps, rounds=1 if args.quick else 3, pause=0 if args.quick else 0.3)
        ours = timings["neuronika"]["median_ms"]
        line = f"{name:8s} neuronika {ours:8.2f} ms"
        if "pytorch" in timings:
            theirs = timings["pytorch"]["median_ms"]
            line += f"   pytorch {theirs:8.2f} ms   ratio {ours / theirs:5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
