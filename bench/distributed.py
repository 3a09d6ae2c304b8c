"""Data-parallel scaling of W1 (the MLP training step of bench/run.py) on 1, 2, ... MPI ranks.

    python bench/distributed.py [--ranks 1,2] [--batch 128] [--steps 30] [--warmup 5]
                                [--threads 1] [--json PATH] [--quick]

For each rank count P the script launches ``mpiexec -n P`` on itself (``--worker``). Every rank
trains W1 (784-512-256-10, ReLU, log_softmax + NLL, SGD; the graph built once and replayed) at
the same *per-rank* batch, its optimizer wrapped by ``neuronika.distributed.GradientAllReduce``
(one 25 MiB bucket: W1's 2.1 MB of gradients). Reported, the median over 5 rounds of steps and
the best round:

* step time and throughput (samples per second over all ranks = P · batch / step time);
* all-reduce time per step (packing, the MPI collective and unpacking, as the reducer measures
  it; it includes waiting for the slower rank);
* scaling efficiency = throughput(P) / (P · throughput(1));
* the all-reduce bandwidth of 1, 4 and 25 MiB float32 buffers (bucket size / best time of 10),
  and from it the expected efficiency on N machines (ring all-reduce: each rank moves
  2(N−1)/N of the gradients), also for assumed 10 and 100 Gbit/s networks.

Each rank runs with ``--threads`` BLAS threads (default 1: one core per rank), set with
threadpoolctl when it is installed, and is not bound to a core (``--bind-to none``; ``--bind``
keeps Open MPI's binding). A step time is the time of a round of steps between two barriers
divided by its steps (so the slowest rank sets it), the median over 5 rounds. On a machine with fewer free cores than ranks the ranks
share cores and the efficiency says so; the script prints the core count next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
SIZES_MIB = (1, 4, 25)
NETWORKS = {"10 Gbit/s Ethernet (assumed)": 1.25e9, "100 Gbit/s InfiniBand (assumed)": 12.5e9}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="W1 data-parallel scaling over MPI ranks")
    parser.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    parser.add_argument("--batch", type=int, default=128, help="per-rank batch (default 128, W1's)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 30, quick 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5, quick 1)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per rank (default 1)")
    parser.add_argument("--json", default=str(HERE / "distributed.json"))
    parser.add_argument("--bind", action="store_true",
                        help="keep Open MPI's binding of each rank to one core (default: --bind-to none, "
                             "so that a rank is not stuck behind another job on its core)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 30)
    args.warmup = args.warmup or (1 if args.quick else 5)
    args.ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    if not args.ranks or min(args.ranks) < 1:
        parser.error("--ranks: positive rank counts, e.g. 1,2")
    return args


# --- one rank ---------------------------------------------------------------------------------

def worker(args: argparse.Namespace) -> None:
    from process import keep_freed_memory, unset_openblas_overrides

    unset_openblas_overrides(False)
    keep_freed_memory(False)
    sys.path.insert(0, str(HERE.parent))
    import numpy as np  # loads OpenBLAS, so that the thread limit below reaches it

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        threadpool_limits(args.threads, user_api="blas")

    import common
    import workloads
    from neuronika import distributed as dist

    group = dist.init()
    settings = common.Settings.quick() if args.quick else common.Settings()
    data = common.mlp_data(settings, batch=args.batch)
    impl = workloads.mlp(settings, data, "cpu")
    reducer = dist.GradientAllReduce(impl.step.optimizer)
    for _ in range(args.warmup):
        impl.step()
    # rounds of steps between two barriers: a round lasts as long as its slowest rank
    rounds = max(1, min(5, args.steps))
    per_round = max(1, args.steps // rounds)
    times, reduce_times = [], []
    for _ in range(rounds):
        dist.barrier()
        before = reducer.allreduce_seconds
        start = time.perf_counter()
        for _ in range(per_round):
            impl.step()
        dist.barrier()
        times.append((time.perf_counter() - start) / per_round)
        reduce_times.append((reducer.allreduce_seconds - before) / per_round)
    bandwidth = {}
    if group.size > 1:
        for mib in SIZES_MIB:
            buffer = np.ones(mib * 2**20 // 4, dtype=np.float32)
            samples = []
            for _ in range(3 if args.quick else 10):
                dist.barrier()
                start = time.perf_counter()
                dist.all_reduce(buffer, "sum")
                samples.append(time.perf_counter() - start)
            bandwidth[mib] = (statistics.median(samples), min(samples))
    slowest = dist.world().all_objects((statistics.median(times), min(times)))
    if group.rank == 0:
        report = {
            "ranks": group.size, "batch_per_rank": args.batch, "step_s": max(t[0] for t in slowest),
            "best_step_s": max(t[1] for t in slowest),
            "allreduce_s": statistics.median(reduce_times),
            "gradient_bytes": sum(b.nbytes for b in reducer.buckets), "buckets": len(reducer.buckets),
            "allreduce_bench_s": {str(k): v for k, v in bandwidth.items()},
        }
        pathlib.Path(args.json).write_text(json.dumps(report))


# --- the driver -------------------------------------------------------------------------------

def launch(args: argparse.Namespace, ranks: int, out: str) -> dict:
    launcher = pathlib.Path(sys.executable).parent / "mpiexec"
    launcher = str(launcher) if launcher.exists() else shutil.which("mpiexec")
    if launcher is None:
        sys.exit('bench: mpiexec not found; pip install "neuronika[distributed]"')
    env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    binding = [] if args.bind else ["--bind-to", "none"]
    command = [launcher, "-n", str(ranks), *binding, sys.executable, str(HERE / "distributed.py"), "--worker",
               "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--threads", str(args.threads), "--json", out] + (["--quick"] if args.quick else [])
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0:
        sys.exit(f"bench: mpiexec -n {ranks} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(pathlib.Path(out).read_text())


def expected_efficiency(compute_s: float, gradient_bytes: int, bus_bandwidth: float, machines: int) -> float:
    """Ring all-reduce model: each step adds 2(N−1)/N · S / B to the compute time."""
    transfer = 2 * (machines - 1) / machines * gradient_bytes / bus_bandwidth
    return compute_s / (compute_s + transfer)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        worker(args)
        return 0
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for ranks in args.ranks:
            runs.append(launch(args, ranks, os.path.join(folder, f"{ranks}.json")))
            print(f"bench: {ranks} rank(s) done", flush=True)
    base = next((r for r in runs if r["ranks"] == 1), None)
    print(f"\nmachine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
          f"{args.threads} BLAS thread(s) per rank; W1 at batch {args.batch} per rank; median of {args.steps} steps"
          + (" (--quick: a smoke run)" if args.quick else ""))
    print("(best: the least disturbed round, a bound on what the ranks reach without other jobs)")
    print(f"{'ranks':>5} {'step ms':>9} {'samples/s':>10} {'all-reduce ms':>14} {'efficiency':>11} "
          f"{'best step ms':>13} {'best efficiency':>16}")
    for run in runs:
        run["samples_per_s"] = run["ranks"] * run["batch_per_rank"] / run["step_s"]
        run["best_samples_per_s"] = run["ranks"] * run["batch_per_rank"] / run["best_step_s"]
        if base is None:
            run["efficiency"] = run["best_efficiency"] = None
        else:
            run["efficiency"] = run["samples_per_s"] / (run["ranks"] * base["samples_per_s"])
            run["best_efficiency"] = run["best_samples_per_s"] / (run["ranks"] * base["best_samples_per_s"])
        eff = "-" if run["efficiency"] is None else f"{run['efficiency']:.2f}"
        best = "-" if run["best_efficiency"] is None else f"{run['best_efficiency']:.2f}"
        print(f"{run['ranks']:>5} {run['step_s'] * 1e3:>9.2f} {run['samples_per_s']:>10.0f} "
              f"{run['allreduce_s'] * 1e3:>14.3f} {eff:>11} {run['best_step_s'] * 1e3:>13.2f} {best:>16}")
    model = {}
    multi = [r for r in runs if r["allreduce_bench_s"]]
    if multi and base is not None:
        run = multi[0]
        p = run["ranks"]
        print(f"\nall-reduce of float32 buffers on {p} ranks (this machine, shared memory):")
        for mib, (median, best) in run["allreduce_bench_s"].items():
            algbw = int(mib) * 2**20 / best
            print(f"  {mib:>3} MiB: median {median * 1e3:8.2f} ms, best {best * 1e3:8.2f} ms;  "
                  f"bucket/best time {algbw / 1e9:6.2f} GB/s, bus {algbw * 2 * (p - 1) / p / 1e9:6.2f} GB/s")
        largest = run["allreduce_bench_s"][str(max(SIZES_MIB))][1]
        bus = max(SIZES_MIB) * 2**20 / largest * 2 * (p - 1) / p
        links = {"measured here": bus, **NETWORKS}
        compute = base["best_step_s"]
        print(f"\nexpected efficiency on N machines (compute {compute * 1e3:.2f} ms/step, 1 rank's best round here, "
              f"{run['gradient_bytes'] / 1e6:.2f} MB of gradients per step):")
        for name, bandwidth in links.items():
            model[name] = {n: expected_efficiency(compute, run["gradient_bytes"], bandwidth, n) for n in (2, 4, 8, 16)}
            print(f"  {name:<32} ({bandwidth / 1e9:6.2f} GB/s): "
                  + "  ".join(f"N={n}: {e:.2f}" for n, e in model[name].items()))
    report = {"environment": {"cpu_count": os.cpu_count(), "threads_per_rank": args.threads, "quick": args.quick,
                              "python": platform.python_version()}, "runs": runs, "expected_efficiency": model}
    pathlib.Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"\nbench: wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
