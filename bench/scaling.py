"""How the cost grows with the work: time per sample and peak memory, each point in a fresh process.

    python bench/scaling.py [--quick] [--series W1-batch,W4-T] [--impls neuronika,pytorch]
                            [--steps 5] [--json bench/scaling.json] [--plot docs/scaling.png]

Series (the other sizes as in ``bench/run.py``):

* ``W1-batch``  the MLP step, batch 32 → 4096;
* ``W1-width``  the MLP step at batch 128, hidden widths 256 → 4096 (784-w-w/2-10);
* ``W2-batch``  the CNN step, batch 16 → 256;
* ``W4-T``      the LSTM step, sequence length 8 → 256.

Implementations: ``neuronika`` (the graph built once and replayed), ``rebuilt`` (neuronika
writing the graph anew every step, as an eager framework does; W1 and W4 only, as in run.py) and
``pytorch`` (eager; skipped when not installed). Every point runs in its own process (so peak
memory is that point's alone): the process builds the step, runs ``--warmup`` untimed steps, then
``--steps`` timed ones, and reports the median time and the peak resident set size of the steps
minus the resident size before them (what the step itself adds on top of the imports, the data
and the model): the kernel's peak counter (``VmHWM``) is reset through ``/proc/self/clear_refs``
just before the first step, so an earlier peak (an import) does not count. The script leaves glibc's malloc as each library leaves it (``run.py`` tunes it for timing): a
neuronika point runs with the thresholds its host backend sets (``neuronika/backends/_malloc.py``),
a PyTorch point with glibc's defaults, as a user of either gets them.

``--threads N`` fixes the BLAS and PyTorch thread counts (on a loaded 2-core machine one thread
keeps small GEMMs from waiting on a preempted partner thread: a (32, 64)·(64, 512) product took
17 ms instead of 30 µs with two threads and a load of 7).

Time per sample is the step time divided by the batch (W1, W2) or by batch × sequence length
(W4). The JSON keeps every point; ``--plot`` draws time per sample and peak memory against the
size, one panel pair per series.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SERIES = {
    "W1-batch": ("W1", "mlp_batch", (32, 128, 512, 2048, 4096)),
    "W1-width": ("W1", "mlp_sizes", (256, 512, 1024, 2048, 4096)),
    "W2-batch": ("W2", "cnn_batch", (16, 64, 256)),
    "W4-T": ("W4", "lstm_steps", (8, 32, 128, 256)),
}
QUICK = {"W1-batch": (8, 16), "W1-width": (16, 32), "W2-batch": (2, 4), "W4-T": (2, 4)}
IMPLS = ("neuronika", "rebuilt", "pytorch")
COLORS = {"neuronika": "C0", "rebuilt": "C1", "pytorch": "C2"}


def _settings(series: str, size: int, quick: bool):
    import common

    base = common.Settings.quick() if quick else common.Settings()
    _, field, _ = SERIES[series]
    if field == "mlp_sizes":
        inputs = base.mlp_sizes[0]
        return dataclasses.replace(base, mlp_sizes=(inputs, size, max(1, size // 2), base.mlp_sizes[-1]))
    return dataclasses.replace(base, **{field: size})


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(series: str, size: int, impl: str, steps: int, warmup: int, quick: bool, threads: int) -> dict:
    """One point, in this (fresh) process."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent))
    import numpy as np  # noqa: F401 - loaded before the builders, as in run.py

    if threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads, user_api="blas")

    import common
    import workloads

    workload = SERIES[series][0]
    s = _settings(series, size, quick)
    data = {"W1": common.mlp_data, "W2": common.cnn_data, "W4": common.lstm_data}[workload](s)
    if impl == "pytorch":
        import torch

        import peers

        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
        step = peers.PEERS[workload](torch, s, data, "cpu").step
    else:
        replayed, rebuilt = workloads.NEURONIKA[workload]
        builder = replayed if impl == "neuronika" else rebuilt
        if builder is None:
            return {"skipped": f"{workload} has no rebuilt form"}
        step = builder(s, data, "cpu").step
    base = _rss_mb()
    _reset_peak()
    for _ in range(warmup):
        float(step())
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        float(step())
        times.append(time.perf_counter() - start)
    peak = _peak_mb()
    samples = {"W1": s.mlp_batch, "W2": s.cnn_batch, "W4": s.lstm_batch * s.lstm_steps}[workload]
    ms = statistics.median(times) * 1e3
    return {"ms": ms, "us_per_sample": ms * 1e3 / samples, "peak_mb": peak, "base_mb": base, "step_mb": max(0.0, peak - base)}


def run(args: argparse.Namespace) -> dict:
    results: dict = {}
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
    for series in args.series:
        sizes = QUICK[series] if args.quick else SERIES[series][2]
        results[series] = {}
        for impl in args.impls:
            if impl == "pytorch" and not has_torch:
                print(f"scaling: PyTorch is not installed: its points are skipped")
                continue
            points = {}
            for size in sizes:
                command = [sys.executable, __file__, "--child", series, str(size), impl, "--steps", str(args.steps),
                           "--warmup", str(args.warmup), "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
                done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
                if done.returncode != 0:
                    raise SystemExit(f"scaling: {series} {impl} at {size} failed:\n{done.stderr}")
                point = json.loads(done.stdout.strip().splitlines()[-1])
                if "skipped" in point:
                    break
                points[size] = point
                print(f"scaling: {series} {impl:9s} {size:5d}: {point['us_per_sample']:9.2f} µs/sample, "
                      f"step peak {point['step_mb']:8.1f} MB (process {point['peak_mb']:.0f} MB)", flush=True)
            if points:
                results[series][impl] = points
    return results


def table(results: dict) -> str:
    """One markdown table per series: µs per sample and step peak MB per implementation, and
    neuronika's ratios to PyTorch."""
    out = []
    for series, by_impl in results.items():
        impls = list(by_impl)
        sizes = sorted({int(size) for points in by_impl.values() for size in points})
        head = ["size"] + [f"{i} µs/sample" for i in impls] + [f"{i} MB" for i in impls]
        if "pytorch" in by_impl and "neuronika" in by_impl:
            head += ["time / PyTorch", "memory / PyTorch"]
        rows = [f"| {series} " + "| " + " | ".join(head) + " |", "|" + "---|" * (len(head) + 1)]
        for size in sizes:
            cells = [str(size)]
            get = lambda impl, key: by_impl[impl].get(size, by_impl[impl].get(str(size), {})).get(key)  # noqa: E731
            cells += [f"{get(i, 'us_per_sample'):.2f}" if get(i, "us_per_sample") is not None else "-" for i in impls]
            cells += [f"{get(i, 'step_mb'):.1f}" if get(i, "step_mb") is not None else "-" for i in impls]
            if "pytorch" in by_impl and "neuronika" in by_impl:
                ours, theirs = get("neuronika", "us_per_sample"), get("pytorch", "us_per_sample")
                mine, peer = get("neuronika", "step_mb"), get("pytorch", "step_mb")
                cells.append(f"{ours / theirs:.2f}x" if ours and theirs else "-")
                cells.append(f"{mine / peer:.2f}x" if mine is not None and peer else "-")
            rows.append("| | " + " | ".join(cells) + " |")
        out.append("\n".join(rows))
    return "\n\n".join(out)


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(results), figsize=(4 * len(results), 6.5), squeeze=False)
    for column, (series, by_impl) in enumerate(results.items()):
        for impl, points in by_impl.items():
            sizes = sorted(int(size) for size in points)
            values = [points.get(size, points.get(str(size))) for size in sizes]
            axes[0][column].plot(sizes, [v["us_per_sample"] for v in values], marker="o", label=impl, color=COLORS[impl])
            axes[1][column].plot(sizes, [v["step_mb"] for v in values], marker="o", label=impl, color=COLORS[impl])
        for row, label in enumerate(("µs per sample", "step peak MB")):
            axis = axes[row][column]
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xlabel(SERIES[series][1].replace("mlp_sizes", "hidden width"))
            axis.set_ylabel(label)
            axis.set_title(series if row == 0 else "")
            axis.grid(True, which="both", alpha=0.3)
        axes[0][column].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="neuronika cost scaling: time per sample and peak memory per size")
    parser.add_argument("--child", nargs=3, metavar=("SERIES", "SIZE", "IMPL"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--series", default=",".join(SERIES), help=f"comma-separated subset of {','.join(SERIES)}")
    parser.add_argument("--impls", default=",".join(IMPLS), help=f"comma-separated subset of {','.join(IMPLS)}")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per point (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="BLAS and PyTorch threads (default: the libraries' own)")
    parser.add_argument("--json", default=str(HERE / "scaling.json"), help="where to write the points")
    parser.add_argument("--plot", default=None, help="PNG path for the plot (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.child:
        series, size, impl = args.child
        print(json.dumps(child(series, int(size), impl, args.steps, args.warmup, args.quick, args.threads)))
        return 0
    args.series = [s.strip() for s in args.series.split(",") if s.strip()]
    args.impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = sorted(set(args.series) - set(SERIES)) + sorted(set(args.impls) - set(IMPLS))
    if unknown or not args.series or not args.impls:
        parser.error(f"unknown or empty --series / --impls: {unknown}; choose from {list(SERIES)} and {list(IMPLS)}")
    results = run(args)
    print()
    print(table(results))
    path = pathlib.Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"\nscaling: wrote {path}")
    if args.plot:
        plot(results, args.plot)
        print(f"scaling: wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
