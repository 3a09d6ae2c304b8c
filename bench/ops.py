"""Benchmark of the indexing ops against PyTorch CPU (issue 13 §6): an embedding-sized case,
a (50 000, 256) float32 table and 4096 indices with repeats.

    python bench/ops.py [--quick] [--json PATH] [--steps 30] [--warmup 3] [--threads N]
                        [--scatter] [--keep-openblas-env] [--keep-malloc]

Cases (neuronika replays a graph built once; the index leaf is re-assigned before every forward,
as a new batch would be; PyTorch runs the same eager op; both implementations interleaved in one
process as in ``bench/run.py``, the same thread count for PyTorch as NumPy's BLAS pool):

* ``index``        ``table[idx]`` forward, ``idx (4096,)``;
* ``gather``       ``table.gather(0, idx2)`` forward, ``idx2 (4096, 256)`` (each row's index
                   repeated along the columns: an embedding written as a gather);
* ``index+grad``   ``table[idx]`` forward and backward of a fixed upstream gradient: the
                   scatter-add into a fresh (50 000, 256) gradient, repeated indices summed;
* ``gather+grad``  the same for the gather.

For the two ``index`` cases PyTorch runs both ``table[idx]`` and ``table.index_select(0, idx)``
(with two threads on a loaded machine its advanced indexing took 20 ms where ``index_select``
took 0.07 ms); the ratio is taken against the faster. The ``+grad`` cases read the table's gradient once, for the checksum, and not in
the timed steps: neuronika's public ``.grad`` copies a leaf's first gradient contribution when it
is first read (it may be shared), a 51 MB copy here that an optimizer step pays once per
backward, and which is the engine's, not the scatter-add's. Prints the median ms per step, the ratio
neuronika / PyTorch of the medians (the target, <= 1.5x, is judged on it) and of the fastest
steps (steadier on a shared, loaded machine); the first step's outputs are compared (``agree``). ``--scatter`` also
times the NumPy backend's three scatter-add paths and the generic Array API kernel on a grid of
row widths and output sizes (the table in ``neuronika/backends/_numpy_scatter.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
TARGET = 1.5
CASES = ("index", "gather", "index+grad", "gather+grad")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="neuronika indexing ops against PyTorch CPU")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few steps: a smoke run, not a measurement")
    parser.add_argument("--json", default=str(HERE / "ops_results.json"), help="where to write the results")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per implementation (default 30, quick 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: NumPy's BLAS pool's)")
    parser.add_argument("--scatter", action="store_true", help="also time every scatter-add path on a grid of shapes")
    parser.add_argument("--keep-openblas-env", action="store_true", help="leave OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE set")
    parser.add_argument("--keep-malloc", action="store_true", help="leave glibc malloc's trim / mmap thresholds alone")
    args = parser.parse_args(argv)
    args.steps = args.steps if args.steps is not None else (3 if args.quick else 30)
    args.warmup = max(1, args.warmup if args.warmup is not None else (1 if args.quick else 3))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # must happen before NumPy (and so OpenBLAS) is loaded
    sys.path.insert(0, str(HERE))
    from process import keep_freed_memory, unset_openblas_overrides

    unset = unset_openblas_overrides(args.keep_openblas_env)
    tuned = keep_freed_memory(args.keep_malloc)
    sys.path.insert(0, str(HERE.parent))
    import numpy as np

    import neuronika as nk
    from common import time_interleaved

    rows, width, count = (500, 16, 64) if args.quick else (50_000, 256, 4096)
    rng = np.random.default_rng(13)
    table = rng.standard_normal((rows, width)).astype(np.float32)
    # repeats: a quarter of the indices drawn from 64 frequent rows, as frequent tokens are
    index = np.concatenate([rng.integers(0, rows, count - count // 4), rng.integers(0, 64, count // 4)])
    rng.shuffle(index)
    index2 = np.repeat(index[:, None], width, axis=1)
    seed = rng.standard_normal((count, width)).astype(np.float32)
    threads = args.threads or _blas_threads()
    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_num_threads(threads)

    results: dict[str, dict[str, object]] = {}
    for case in CASES:
        impls = {"neuronika": _neuronika(nk, case, table, index, index2, seed)}
        if torch is not None:
            impls["pytorch"] = _pytorch(torch, case, table, index, index2, seed)
            if case.startswith("index"):
                impls["pytorch-index_select"] = _pytorch(torch, case, table, index, index2, seed, select=True)
        timed = time_interleaved(impls, args.warmup, args.steps, rounds=1 if args.quick else 3, pause=0.0 if args.quick else 0.2)
        ours = timed["neuronika"]["median_ms"]
        peers = [value["median_ms"] for name, value in timed.items() if name.startswith("pytorch")]
        theirs = min(peers) if peers else None  # the faster PyTorch spelling is the bar
        ratio = ours / theirs if theirs else None
        fastest = [value["min_ms"] for name, value in timed.items() if name.startswith("pytorch")]
        ratio_min = timed["neuronika"]["min_ms"] / min(fastest) if fastest else None
        checks = {name: value["first_loss"] for name, value in timed.items()}
        results[case] = {
            "ms": {name: value["median_ms"] for name, value in timed.items()},
            "min_ms": {name: value["min_ms"] for name, value in timed.items()},
            "ratio_pytorch": ratio,
            "ratio_pytorch_min": ratio_min,
            "target": f"<= {TARGET}x PyTorch",
            "target_met": ratio is not None and ratio <= TARGET,
            "agree": len(set(round(v, 2) for v in checks.values())) == 1,
            "checksum": checks,
        }
    report = {
        "environment": {
            "quick": args.quick, "threads": threads, "numpy": np.__version__,
            "torch": None if torch is None else torch.__version__, "cpu_count": os.cpu_count(),
            "unset_env": unset, "malloc_tuned": tuned,
        },
        "shape": {"table": [rows, width], "indices": count},
        "cases": results,
    }
    if args.scatter:
        report["scatter"] = _scatter_grid(np, args.quick)
    pathlib.Path(args.json).write_text(json.dumps(report, indent=2))
    _print(report)
    return 0


def _blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        return int(blas[0]["num_threads"]) if blas else (os.cpu_count() or 1)
    except ImportError:
        return os.cpu_count() or 1


def _neuronika(nk, case, table, index, index2, seed):
    from common import Impl

    grad = case.endswith("+grad")
    weights = nk.from_ndarray(table)
    if grad:
        weights = weights.requires_grad()
    positions = nk.from_ndarray(index2 if case.startswith("gather") else index)
    out = weights.gather(0, positions) if case.startswith("gather") else weights[positions]
    upstream = nk.backends.get("cpu").asarray(seed)
    source = index2 if case.startswith("gather") else index
    first = [True]

    def step():
        positions.assign(source)  # a new batch of indices: the graph recomputes
        if grad:
            weights.zero_grad()
            out.backward(upstream)
            if first.pop() if first else False:  # the checksum, once (see the module docstring)
                return float(weights.grad[int(index[0]), 0])
            return 0.0
        out.forward()
        return float(out.data[0, 0])

    return Impl(step)


def _pytorch(torch, case, table, index, index2, seed, select=False):
    """PyTorch eager: ``gather``, or ``table[idx]`` (``select``: ``index_select(0, idx)``, the
    same values by another kernel, much faster than advanced indexing with several threads)."""
    from common import Impl

    grad = case.endswith("+grad")
    weights = torch.from_numpy(table.copy()).requires_grad_(grad)
    positions = torch.from_numpy(index2 if case.startswith("gather") else index)
    upstream = torch.from_numpy(seed)
    first = [True]

    def step():
        if case.startswith("gather"):
            out = weights.gather(0, positions)
        else:
            out = weights.index_select(0, positions) if select else weights[positions]
        if grad:
            weights.grad = None
            out.backward(upstream)
            return float(weights.grad[int(index[0]), 0]) if (first.pop() if first else False) else 0.0
        return float(out[0, 0])

    return Impl(step)


def _scatter_grid(np, quick):
    """ms of every scatter-add path on a grid of (row width, output rows), 4096 indices."""
    import time

    from neuronika.backends._numpy_scatter import PATHS, index_add
    from neuronika.kernels.scatter import index_add as generic

    count = 64 if quick else 4096
    rng = np.random.default_rng(0)
    grid = []
    for width in (1, 4, 16, 64, 256):
        for size in (10, 1000, 50_000):
            if quick and (width > 16 or size > 1000):
                continue
            source = rng.standard_normal((count, width)).astype(np.float32)
            index = rng.integers(0, size, count)
            row = {"width": width, "size": size}
            kernels = dict(PATHS, chosen=lambda s, i, n: index_add(np, s, i, n), generic=lambda s, i, n: generic(np, s, i, n))
            for name, kernel in kernels.items():
                times = []
                for _ in range(3 if quick else 7):
                    start = time.perf_counter()
                    kernel(source, index, size)
                    times.append(time.perf_counter() - start)
                row[name] = min(times) * 1e3
            grid.append(row)
    return grid


def _print(report):
    env = report["environment"]
    print(f"indexing ops, table {tuple(report['shape']['table'])}, {report['shape']['indices']} indices; "
          f"threads {env['threads']}; NumPy {env['numpy']}; PyTorch {env['torch']}")
    if env["unset_env"]:
        print(f"(unset for this process: {', '.join(env['unset_env'])})")
    print(f"{'case':<13}{'neuronika ms':>14}{'pytorch ms':>12}{'ratio':>8}{'of mins':>9}  target <= {TARGET}x  agree")
    for case, result in report["cases"].items():
        ms = result["ms"]
        peers = [v for k, v in ms.items() if k.startswith("pytorch")]
        theirs = min(peers) if peers else None
        ratio = result["ratio_pytorch"]
        print(f"{case:<13}{ms['neuronika']:>14.3f}{theirs if theirs is None else format(theirs, '.3f'):>12}"
              f"{'-' if ratio is None else format(ratio, '.2f') + 'x':>8}"
              f"{'-' if result['ratio_pytorch_min'] is None else format(result['ratio_pytorch_min'], '.2f') + 'x':>9}"
              f"  {'met' if result['target_met'] else 'NOT met':<13}  "
              f"{result['agree']}")
    for row in report.get("scatter", []):
        paths = "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("width", "size"))
        print(f"scatter-add width {row['width']:>3}, {row['size']:>6} rows: {paths}")


if __name__ == "__main__":
    sys.exit(main())
