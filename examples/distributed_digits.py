"""Data-parallel training of an MLP on scikit-learn's handwritten digits, on as many processes
as ``mpiexec`` starts (one process when run with plain ``python``)::

    mpiexec -n 2 python examples/distributed_digits.py [--device cpu|cuda] [--epochs 20]

``--batch-size`` is the global batch: each of the P ranks takes ``batch_size / P`` samples per
step from its own shard (``DistributedSampler``), and ``GradientAllReduce`` averages the
gradients before every ``optimizer.step()``. Rank r's shard is positions r, r+P, … of the
epoch's shared permutation, so the P per-rank batches of step k are exactly the batch of step k
of one process: 1 and P ranks follow the same trajectory (up to float rounding) and reach the
same accuracy. Rank 0 prints and writes the checkpoint; every rank loads it back. With
``--device cuda`` each rank takes the GPU of its local rank, and the gradients go through NCCL.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import neuronika as nk
from neuronika import distributed as dist
from neuronika import nn, optim

from _common import load_digits


class MLP(nn.Module):
    """64 → 128 → 64 → 10 with ReLU; outputs log-probabilities (N, 10)."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 128, device=device)
        self.fc2 = nn.Linear(128, 64, device=device)
        self.fc3 = nn.Linear(64, 10, device=device)

    def forward(self, x: nk.Var) -> nk.Var:
        return self.fc3(self.fc2(self.fc1(x).relu()).relu()).log_softmax(axis=1)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="data-parallel MLP on scikit-learn digits (run under mpiexec)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (each rank takes cuda:<local rank>)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split evenly over the ranks")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"))
    return parser.parse_args()


def main() -> None:
    args = arguments()
    group = dist.init()
    device = f"cuda:{dist.local_rank()}" if args.device.startswith("cuda") else args.device
    if args.batch_size % group.size:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the {group.size} ranks")
    per_rank = args.batch_size // group.size

    train_x, train_y, test_x, test_y = load_digits(args.seed, None, (64,))
    train = nk.data.LabeledDataset(train_x, train_y, device=device)
    sampler = dist.DistributedSampler(train, per_rank, seed=args.seed)

    nk.manual_seed(args.seed)
    model = MLP(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    reducer = dist.GradientAllReduce(optimizer, module=model)  # rank 0's weights everywhere

    inputs = nk.zeros((per_rank, 64), device=device)
    targets = nk.zeros(per_rank, device=device)
    loss = nn.loss.nll_loss(model(inputs), targets)  # built once, replayed every step
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for records, labels in sampler.epoch(epoch):
            inputs.assign(records)
            targets.assign(labels)
            loss.forward()
            loss.backward(1.0)
            optimizer.step()  # the gradients are averaged across ranks first
            optimizer.zero_grad()
            total += loss.item()
        mean_loss = dist.all_reduce(nk.backends.get(device).asarray([total / len(sampler)]), "mean")
        if group.rank == 0:
            print(f"epoch {epoch + 1}: mean loss {float(nk.backends.to_host(mean_loss)[0]):.4f}", flush=True)
    seconds = time.perf_counter() - start

    model.eval()
    scores = model(nk.from_ndarray(test_x, device=device)).forward().numpy()
    accuracy = float((scores.argmax(axis=1) == test_y).mean())
    path = os.path.join(args.output, "distributed_digits.npz")
    if group.rank == 0:
        os.makedirs(args.output, exist_ok=True)
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs,
                  "rng": dist.get_rng_states()}  # every rank's generators, restored with set_rng_states
    dist.save(checkpoint, path)
    restored = MLP(device)
    restored.load_state_dict(nk.load(path, device=device)["model"])  # on every rank
    same = all(np.array_equal(nk.backends.to_host(a), nk.backends.to_host(b))
               for a, b in zip(restored.state_dict().values(), model.state_dict().values()))
    agree = dist.all_reduce(nk.backends.get(device).asarray([1.0 if same else 0.0]), "min")
    if group.rank == 0:
        print(f"ranks {group.size}, batch {per_rank} per rank, device {device}: {args.epochs} epochs in "
              f"{seconds:.1f} s ({reducer.allreduce_seconds:.2f} s in all-reduce), "
              f"checkpoint reloaded on every rank: {bool(nk.backends.to_host(agree)[0])}, "
              f"final test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
