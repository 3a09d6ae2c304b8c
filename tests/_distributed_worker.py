"""The program that tests/test_distributed.py runs under ``mpiexec -n 2``.

    mpiexec -n 2 python tests/_distributed_worker.py check OUT_DIR DEVICE [DEVICE ...]
    mpiexec -n 2 python tests/_distributed_worker.py fault

``check`` runs every multi-process check on each device and writes, per rank, a JSON file
``OUT_DIR/rank<R>.json`` mapping check names to ``[passed, detail]`` (a failing check is recorded,
not raised, so one launch reports them all). ``fault`` makes rank 1 raise while rank 0 waits in
an all-reduce: the launch must end (MPI.Abort), not hang.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback

import numpy as np

import neuronika as nk
from neuronika import distributed as dist
from neuronika import nn, optim

STEPS, B = 20, 8
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


class MLP(nn.Module):
    def __init__(self, device: str, dtype: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(5, 16, device=device, dtype=dtype)
        self.fc2 = nn.Linear(16, 3, device=device, dtype=dtype)

    def forward(self, x: nk.Var) -> nk.Var:
        return self.fc2(self.fc1(x).tanh()).log_softmax(axis=1)


def _make_optimizer(kind: str, params: list) -> optim.Optimizer:
    return optim.SGD(params, lr=0.1, momentum=0.9) if kind == "SGD" else optim.Adam(params, lr=1e-2)


def _train(model: MLP, optimizer: optim.Optimizer, xs: list, ys: list, device: str, dtype: str) -> None:
    """The replayed loop: the graph is built once, every step assigns the next batch."""
    inputs = nk.zeros(xs[0].shape, device=device, dtype=dtype)
    targets = nk.zeros(ys[0].shape, device=device, dtype=dtype)
    loss = nn.loss.nll_loss(model(inputs), targets)
    for x, y in zip(xs, ys):
        inputs.assign(x)
        targets.assign(y)
        loss.forward()
        loss.backward(1.0)
        optimizer.step()
        optimizer.zero_grad()


def check_equivalence(device: str, dtype: str, kind: str, cap_mb: float) -> tuple[bool, str]:
    """2 ranks x batch B == 1 process x batch 2B, 20 steps, from different initial weights that
    the broadcast makes equal."""
    rank = dist.rank()
    nk.manual_seed(100 + rank)  # different initial weights per rank: the broadcast must fix them
    model = MLP(device, dtype)
    optimizer = _make_optimizer(kind, model.parameters())
    reducer = dist.GradientAllReduce(optimizer, module=model, bucket_cap_mb=cap_mb)
    start = {name: nk.backends.to_host(p.data).copy() for name, p in model.named_parameters()}
    reference = MLP(device, dtype)
    for name, p in reference.named_parameters():
        p.data = nk.backends.get(device).asarray(start[name].copy(), nk.backends.to_dtype(dtype))
    data = np.random.default_rng(7)
    xs_all = [data.standard_normal((2 * B, 5)).astype(dtype) for _ in range(STEPS)]
    ys_all = [data.integers(0, 3, 2 * B).astype(dtype) for _ in range(STEPS)]
    mine = slice(rank * B, (rank + 1) * B)
    _train(model, optimizer, [x[mine] for x in xs_all], [y[mine] for y in ys_all], device, dtype)
    _train(reference, _make_optimizer(kind, reference.parameters()), xs_all, ys_all, device, dtype)
    worst = 0.0
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        a, b = nk.backends.to_host(p.data), nk.backends.to_host(q.data)
        worst = max(worst, float(np.max(np.abs(a - b))))
        gathered = nk.backends.to_host(dist.all_gather(p.data))
        if not np.array_equal(gathered[0], gathered[1]):
            return False, f"{name} differs between the ranks"
    moved = max(float(np.max(np.abs(nk.backends.to_host(p.data) - start[n]))) for n, p in model.named_parameters())
    detail = f"max |distributed - single| = {worst:.3g}; buckets {len(reducer.buckets)}; moved {moved:.3g}"
    return worst <= TOLERANCE[dtype] and moved > 1e-3, detail


def check_collectives(device: str) -> tuple[bool, str]:
    rank, size = dist.rank(), dist.world_size()
    backend = nk.backends.get(device)
    value = lambda: backend.asarray(np.array([1.0, 2.0, 3.0]) * (rank + 1), nk.float64)  # noqa: E731
    summed = nk.backends.to_host(dist.all_reduce(value(), "sum"))
    mean = nk.backends.to_host(dist.all_reduce(value(), "mean"))
    largest = nk.backends.to_host(dist.all_reduce(value(), "max"))
    shared = nk.backends.to_host(dist.broadcast(value(), root=1))
    gathered = nk.backends.to_host(dist.all_gather(value()))
    base = np.array([1.0, 2.0, 3.0])
    ok = (np.array_equal(summed, base * 3) and np.array_equal(mean, base * 1.5)
          and np.array_equal(largest, base * 2) and np.array_equal(shared, base * 2)
          and np.array_equal(gathered, np.stack([base, base * 2])) and size == 2)
    communicator = dist.world().communicator(backend).name
    ok = ok and communicator == ("nccl" if backend.name == "cupy" else "mpi")
    return ok, f"{communicator}: sum {summed}, mean {mean}, max {largest}, broadcast {shared}, gather {gathered.tolist()}"


def check_sampler(device: str) -> tuple[bool, str]:
    n = 41
    ids = np.arange(n, dtype=np.float64).reshape(n, 1)
    dataset = nk.data.LabeledDataset(ids, ids, device=device, dtype="float64")
    sampler = dist.DistributedSampler(dataset, batch_size=4, seed=3)
    seen = []
    for epoch in (0, 1):
        mine = [nk.backends.to_host(records)[:, 0] for records, _ in sampler.epoch(epoch)]
        count = len(mine)
        flat = np.concatenate(mine)
        everyone = dist.world().all_objects((count, flat.tolist()))
        counts = {c for c, _ in everyone}
        union = [set(ids_) for _, ids_ in everyone]
        if len(counts) != 1 or union[0] & union[1] or count != len(sampler):
            return False, f"epoch {epoch}: counts {counts}, overlap {sorted(union[0] & union[1])}"
        seen.append(flat.tolist())
    return seen[0] != seen[1], f"{len(sampler)} batches per rank; epoch 0 starts {seen[0][:4]}, epoch 1 {seen[1][:4]}"


def check_checkpoint(device: str, folder: str) -> tuple[bool, str]:
    rank = dist.rank()
    nk.manual_seed(5 + rank)
    model = MLP(device, "float32")
    dist.broadcast_parameters(model.parameters())
    path = os.path.join(folder, f"ckpt-{device}.npz")
    dist.save({"model": model.state_dict(), "rank": rank}, path)
    loaded = nk.load(path, device=device)  # every rank, right after save returned
    same = all(np.array_equal(nk.backends.to_host(loaded["model"][k]), nk.backends.to_host(v))
               for k, v in model.state_dict().items())
    try:
        dist.save({"x": 1}, os.path.join(folder, "missing-dir", "ckpt.npz"))
    except Exception as error:  # every rank must raise, none may hang
        failed = f"{type(error).__name__}: {error}"
    else:
        return False, "saving into a missing folder did not raise"
    return same and loaded["rank"] == 0, f"loaded rank 0's checkpoint; a failed save raised on rank {rank}: {failed[:80]}"


def check_rng_states(device: str, folder: str) -> tuple[bool, str]:
    """Each rank's generator state goes into rank 0's checkpoint and comes back to its rank."""
    rank = dist.rank()
    nk.manual_seed(10 + rank)
    nk.rand(4, device=device)  # advance the generator a little
    path = os.path.join(folder, f"rng-{device}.npz")
    dist.save({"rng": dist.get_rng_states()}, path)
    expected = nk.backends.to_host(nk.rand(3, device=device).data)
    nk.manual_seed(99)
    dist.set_rng_states(nk.load(path)["rng"])
    again = nk.backends.to_host(nk.rand(3, device=device).data)
    everyone = dist.world().all_objects(expected.tolist())
    return (np.array_equal(expected, again) and everyone[0] != everyone[1],
            f"rank {rank}: after restore {again.tolist()}, expected {expected.tolist()}")


def check_mismatch(device: str) -> tuple[bool, str]:
    width = 4 if dist.rank() == 0 else 5
    layer = nn.Linear(3, width, device=device)
    try:
        dist.GradientAllReduce(optim.SGD(layer.parameters(), lr=0.1))
    except ValueError as error:
        return "rank 1" in str(error) and "(4, 3)" in str(error), str(error)
    return False, "different models on the ranks did not raise"


class WithBuffer(nn.Module):
    """A module with a buffer that differs per rank (as BatchNorm's running statistics would)."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2, device=device)
        self.register_buffer("running", nk.full((3,), float(dist.rank() + 1), device=device))


def check_buffers(device: str) -> tuple[bool, str]:
    module = WithBuffer(device)
    count = dist.sync_buffers(module)
    value = nk.backends.to_host(module.running.data)
    return count == 1 and np.array_equal(value, np.ones(3)), f"{count} buffer(s), value {value}"


def run_checks(folder: str, devices: list[str]) -> dict:
    results: dict = {}
    for device in devices:
        checks = {
            "collectives": lambda: check_collectives(device),
            "sampler": lambda: check_sampler(device),
            "checkpoint": lambda: check_checkpoint(device, folder),
            "mismatch": lambda: check_mismatch(device),
            "rng": lambda: check_rng_states(device, folder),
            "buffers": lambda: check_buffers(device),
        }
        for kind in ("SGD", "Adam"):
            for dtype in ("float32", "float64"):
                cap = 25.0 if dtype == "float32" else 0.0005  # float64: several small buckets
                checks[f"equivalence-{kind}-{dtype}"] = (lambda k=kind, d=dtype, c=cap: check_equivalence(device, d, k, c))
        for name, check in checks.items():
            try:
                results[f"{device}/{name}"] = list(check())
            except Exception:
                results[f"{device}/{name}"] = [False, traceback.format_exc()]
    return results


def main() -> None:
    mode = sys.argv[1]
    dist.init()
    if mode == "fault":
        if dist.rank() == 1:
            raise RuntimeError("injected failure on rank 1")
        dist.all_reduce(np.ones(3), "sum")  # rank 0 waits here until the abort ends it
        print("rank 0 returned from an all-reduce that rank 1 never joined", flush=True)
        return
    folder, devices = sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        scratch = dist.world().share(scratch, 0)
        results = run_checks(scratch, devices)
        dist.barrier()  # nobody removes the scratch folder while another rank reads it
    with open(os.path.join(folder, f"rank{dist.rank()}.json"), "w") as stream:
        json.dump(results, stream)


if __name__ == "__main__":
    main()
