"""neuronika benchmark: five workloads against a hand-written NumPy floor and PyTorch eager.

    python bench/run.py [--quick] [--workloads W1,W3] [--device cpu|cuda|torch] [--json PATH]
                        [--steps 30] [--warmup 5] [--threads N] [--keep-openblas-env]

Workloads (float32, fixed seeds, synthetic data; every implementation starts from the same
weights, and the first step's losses are compared):

* W1  MLP training step: 784-512-256-10, ReLU, log_softmax + NLL, batch 128, SGD;
* W2  CNN training step: (64, 1, 28, 28) → Conv2d(1→16, 5) → ReLU → Conv2d(16→32, 5) → ReLU →
      flatten → Linear(12800→10), cross-entropy, SGD;
* W2L larger CNN step: (128, 3, 32, 32) → 3 x (Conv2d 3x3 padding 1 → ReLU → MaxPool2d(2)),
      32/64/128 channels → flatten → Linear(2048→10), cross-entropy, SGD (no hand-written
      floor: its ratio is to PyTorch);
* W3  per-op overhead: a chain of 400 links y = tanh(y·w_i + b_i) on 16-element vectors, summed,
      forward + backward. One link is three element-wise ops (mul, add, tanh), so one pass runs
      1200 ops forward and their 1200 vector-Jacobian products backward; "µs/op" is the pass time
      divided by 1200 (forward and backward of one op);
* W4  LSTM cell unrolled over 32 steps, batch 32, input 64, hidden 128, MSE of the last hidden
      state, forward + backward + SGD.

Every number is the median over ``--steps`` timed steps (>= 30) after ``--warmup`` steps, the
implementations of a workload interleaved in ``--rounds`` rounds in one process (each block after
a short pause and two untimed steps, see ``common.time_interleaved``). NumPy and PyTorch get
the same thread count (the BLAS pool's, read with threadpoolctl, or ``--threads``). With
``--device cuda`` W1 and W2 run at batch 1024 (W2L at 256) against PyTorch CUDA, the floor written with CuPy.
With ``--device torch`` W1 and W2 run neuronika on the example PyTorch-tensor backend
(``examples/backends/torch_backend.py``: PyTorch's native convolution kernels under neuronika's
graph engine), next to neuronika on the NumPy backend ("NumPy bk") and PyTorch eager on the CPU.

For its own process only, and saying so, the script unsets OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (they make OpenBLAS pick slower kernels on some machines) before NumPy loads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import sys

HERE = pathlib.Path(__file__).resolve().parent
WORKLOADS = ("W1", "W2", "W2L", "W3", "W4")
#: the issue's targets: (description, check on a workload's summary)
TARGETS = {  # issue 18 (the second round); the first round's were 1.05x, 2.0x, 3 µs/op and 1.0x
    "W1": ("<= 1.02x floor", lambda r: r["ratio_floor"] <= 1.02),
    "W2": ("<= 1.0x PyTorch", lambda r: r["ratio_pytorch"] is not None and r["ratio_pytorch"] <= 1.0),
    "W2L": ("<= 1.0x PyTorch", lambda r: r["ratio_pytorch"] is not None and r["ratio_pytorch"] <= 1.0),
    "W3": ("<= 1.25x floor", lambda r: r["ratio_floor"] <= 1.25),
    "W4": ("<= 0.8x PyTorch", lambda r: r["ratio_pytorch"] is not None and r["ratio_pytorch"] <= 0.8),
}
TITLES = {
    "W1": "MLP step 784-512-256-10, batch {mlp_batch}",
    "W2": "CNN step, batch {cnn_batch}",
    "W2L": "CNN 3x(conv3x3+pool) {large_channels}, batch {large_batch}",
    "W3": "{chain_links}-link tanh chain, fwd+bwd",
    "W4": "LSTM cell x{lstm_steps}, batch {lstm_batch}",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="neuronika benchmark against a NumPy floor and PyTorch eager")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few steps: a smoke run, not a measurement")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of W1,W2,W2L,W3,W4")
    parser.add_argument("--device", default="cpu",
                        help="cpu (NumPy), cuda (CuPy; W1, W2 at batch 1024, W2L at 256) or torch (the example PyTorch-tensor backend; W1 and W2)")
    parser.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per implementation (default 30, quick 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5, quick 1)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS and PyTorch threads (default: the BLAS pool's)")
    parser.add_argument("--keep-openblas-env", action="store_true", help="leave OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE set")
    parser.add_argument("--keep-malloc", action="store_true", help="leave glibc malloc's trim / mmap thresholds alone")
    parser.add_argument("--pause", type=float, default=None, help="seconds of sleep before each timed block (default 0.3, quick 0)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds the timed steps are split into (default 5, quick 1)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    parser.add_argument("--no-extra-peers", action="store_true", help="skip JAX / MyGrad / autograd (W1, W3; used when installed)")
    args = parser.parse_args(argv)
    chosen = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(chosen) - set(WORKLOADS))
    if unknown or not chosen:
        parser.error(f"--workloads: unknown {unknown or 'empty list'}; choose from {','.join(WORKLOADS)}")
    args.workloads = [w for w in WORKLOADS if w in chosen]
    args.steps = args.steps if args.steps is not None else (3 if args.quick else 30)
    args.pause = args.pause if args.pause is not None else (0.0 if args.quick else 0.3)
    args.rounds = max(1, min(args.steps, args.rounds if args.rounds is not None else (1 if args.quick else 5)))
    args.warmup = max(1, args.warmup if args.warmup is not None else (1 if args.quick else 5))
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    return args


def environment(args: argparse.Namespace) -> dict:
    """Unset the OpenBLAS overrides (before NumPy loads), fix the thread count, import torch."""
    from process import keep_freed_memory, unset_openblas_overrides

    unset = unset_openblas_overrides(args.keep_openblas_env)
    print(f"bench: unset {', '.join(unset)} for this process (they slow OpenBLAS here)" if unset
          else "bench: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set" + (" (kept)" if args.keep_openblas_env else ""))
    tuned = keep_freed_memory(args.keep_malloc)
    if tuned:
        print("bench: glibc malloc keeps freed memory in this process (mallopt trim/mmap thresholds 1 GiB; "
              "--keep-malloc to skip): first-touch page faults on fresh large buffers are slow in this VM")
    import numpy as np

    env = {"unset_env": unset, "malloc_tuned": tuned, "python": platform.python_version(), "numpy": np.__version__,
           "cpu_count": os.cpu_count(), "machine": platform.machine(), "processor": _cpu_name()}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_info = threadpool_limits = None
    if threadpool_limits is not None and args.threads:
        threadpool_limits(args.threads, user_api="blas")
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"] if threadpool_info else []
    if blas:
        env["blas"] = f"{blas[0].get('internal_api')} {blas[0].get('version')} ({blas[0].get('architecture')})"
        threads = args.threads or int(blas[0]["num_threads"])
    else:
        env["blas"] = "unknown (threadpoolctl not installed)"
        threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    env["threads"] = threads
    torch = None
    if args.no_torch:
        env["torch"] = "skipped (--no-torch)"
    else:
        try:
            import torch
        except ImportError:
            env["torch"] = "not installed: PyTorch columns skipped (pip install torch)"
        else:
            torch.set_num_threads(threads)
            env["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    env["_torch"] = torch
    return env


def _cpu_name() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_libraries(torch) -> tuple:
    """``(cupy, torch_device or None)`` for ``--device cuda``; exits with one line when the GPU
    or CuPy is missing."""
    import neuronika as nk

    try:
        nk.backends.get("cuda")
    except Exception as error:  # BackendUnavailableError carries the reason and the fix
        sys.exit(f"bench: --device cuda is unavailable: {str(error).splitlines()[0]}")
    import cupy

    peer = "cuda" if torch is not None and torch.cuda.is_available() else None
    return cupy, peer


def run(args: argparse.Namespace) -> dict:
    env = environment(args)
    torch = env.pop("_torch")
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent))
    import numpy as np

    import common
    import floors
    import peers
    import peers_extra
    import workloads

    settings = common.Settings.quick() if args.quick else common.Settings()
    device = args.device
    lib, torch_device = np, "cpu"
    selected = args.workloads
    if device.startswith("cuda"):
        lib, torch_device = gpu_libraries(torch)
        batch = 16 if args.quick else 1024
        settings = dataclasses.replace(settings, mlp_batch=batch, cnn_batch=batch, large_batch=min(batch, 256))
        dropped = [w for w in selected if w not in ("W1", "W2", "W2L")]
        if dropped:
            print(f"bench: on cuda only W1, W2 and W2L run (skipping {', '.join(dropped)})")
        selected = [w for w in selected if w in ("W1", "W2", "W2L")]
        if torch_device is None:
            print("bench: PyTorch has no CUDA here: PyTorch columns skipped")
    elif device == "torch":
        if torch is None:
            sys.exit("bench: --device torch needs PyTorch (pip install torch, CPU build)")
        load_torch_backend()
        selected = [w for w in selected if w in ("W1", "W2")]
    elif device != "cpu":
        sys.exit(f"bench: --device must be cpu, cuda or torch, got {device!r}")
    data_of = {"W1": common.mlp_data, "W2": common.cnn_data, "W2L": common.cnn_large_data, "W3": common.chain_data,
               "W4": common.lstm_data}
    extra, missing = ([], []) if args.no_extra_peers or device != "cpu" else peers_extra.available()
    if missing:
        print(f"bench: optional peers not installed, skipped: {', '.join(missing)}")
    results = {}
    for name in selected:
        data = data_of[name](settings)
        impls = {"floor": floors.FLOORS[name](lib, settings, data)} if name in floors.FLOORS else {}
        if torch is not None and torch_device is not None:
            impls["pytorch"] = peers.PEERS[name](torch, settings, data, torch_device)
        for peer in extra:
            if peer in peers_extra.EXTRA.get(name, {}):
                impls[peer] = peers_extra.EXTRA[name][peer](settings, data)
        replayed, rebuilt = workloads.NEURONIKA[name]
        impls["neuronika"] = replayed(settings, data, device)
        if device == "torch":
            impls["neuronika_numpy"] = replayed(settings, data, "cpu")
        elif rebuilt is not None:
            impls["neuronika_rebuilt"] = rebuilt(settings, data, device)
        timings = common.time_interleaved(impls, args.warmup, args.steps, rounds=args.rounds, pause=args.pause)
        results[name] = summarise(name, settings, timings)
        print(f"bench: {name} done: " + ", ".join(f"{k} {v['median_ms']:.3f} ms" for k, v in timings.items()), flush=True)
    env.update(device=device, quick=args.quick, steps=args.steps, warmup=args.warmup, pause_s=args.pause, rounds=args.rounds)
    return {"environment": env, "settings": dataclasses.asdict(settings), "workloads": results}


def _ratio(ours: float, theirs: float) -> float:
    """``ours / theirs`` to three significant digits (never rounded down to 0)."""
    return float(f"{ours / theirs:.3g}")


def load_torch_backend() -> None:
    """Import ``examples/backends/torch_backend.py``, which registers the ``"torch"`` device."""
    import importlib.util

    path = HERE.parent / "examples" / "backends" / "torch_backend.py"
    spec = importlib.util.spec_from_file_location("torch_backend", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["torch_backend"] = module
    spec.loader.exec_module(module)


def summarise(name: str, s, timings: dict) -> dict:
    """Times, ratios and the first-step loss check of one workload."""
    floor = timings.get("floor", {}).get("median_ms")  # W2L has no hand-written floor
    ours = timings["neuronika"]["median_ms"]
    torch_ms = timings.get("pytorch", {}).get("median_ms")
    losses = {impl: t["first_loss"] for impl, t in timings.items()}
    reference = losses.get("floor", losses["neuronika"])
    spread = max(abs(v - reference) for v in losses.values()) / max(abs(reference), 1e-6)
    out = {
        "title": TITLES[name].format(**dataclasses.asdict(s)),
        "ms": {impl: round(t["median_ms"], 4) for impl, t in timings.items()},
        "min_ms": {impl: round(t["min_ms"], 4) for impl, t in timings.items()},
        "steps": timings["neuronika"]["steps"],
        "ratio_floor": None if floor is None else _ratio(ours, floor),
        "ratio_pytorch": None if torch_ms is None else _ratio(ours, torch_ms),
        "ratio_numpy_backend": None if "neuronika_numpy" not in timings else _ratio(ours, timings["neuronika_numpy"]["median_ms"]),
        "first_loss": losses,
        "losses_agree": spread < 1e-3,
        # neuronika's time over each optional peer's (JAX, MyGrad, autograd) where they ran
        "ratio_peers": {impl: _ratio(ours, t["median_ms"]) for impl, t in timings.items()
                        if impl not in ("floor", "pytorch", "neuronika", "neuronika_rebuilt", "neuronika_numpy")},
    }
    if name == "W3":
        ops = 3 * s.chain_links
        out["ops_per_pass"] = ops
        out["op"] = "one element-wise op (mul, add or tanh) of a link, forward and backward"
        out["us_per_op"] = {impl: round(t["median_ms"] * 1e3 / ops, 3) for impl, t in timings.items()}
    target, check = TARGETS[name]
    out["target"] = target
    out["target_met"] = bool(check(out))
    return out


def table(report: dict) -> str:
    on_torch = report["environment"].get("device") == "torch"
    rows = [("workload", "floor", "PyTorch", "neuronika", "NumPy bk" if on_torch else "rebuilt", "/floor", "/PyTorch", "target", "loss ok")]
    for name, r in report["workloads"].items():
        ms = r["ms"]
        unit = (lambda impl: f"{r['us_per_op'][impl]:.2f} µs/op") if name == "W3" else (lambda impl: f"{ms[impl]:.2f} ms")
        cell = lambda impl: unit(impl) if impl in ms else "-"  # noqa: E731
        rows.append((
            f"{name} {r['title']}", cell("floor"), cell("pytorch"), cell("neuronika"), cell("neuronika_numpy" if on_torch else "neuronika_rebuilt"),
            "-" if r["ratio_floor"] is None else f"{r['ratio_floor']:.2f}x", "-" if r["ratio_pytorch"] is None else f"{r['ratio_pytorch']:.2f}x",
            f"{r['target']}: {'met' if r['target_met'] else 'not met'}", "yes" if r["losses_agree"] else "NO",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    report = run(args)
    env = report["environment"]
    print(f"\nmachine: {env['processor']}, {env['cpu_count']} cores; Python {env['python']}, NumPy {env['numpy']}, "
          f"BLAS {env['blas']}; threads {env['threads']}; PyTorch {env['torch']}")
    print(f"device {env['device']}; median of {env['steps']} steps after {env['warmup']} warm-up, in {env['rounds']} rounds"
          + (" (--quick: a smoke run, not a measurement)" if env["quick"] else ""))
    print("'rebuilt': neuronika building the graph anew each step; ratios use the replayed graph.")
    print("W3 µs/op: pass time / (3 ops x links), each op's forward and backward together.")
    print("W2 floor: im2col + GEMM by hand; neuronika's NumPy convolution may take a frequency-domain path and beat it.\n")
    print(table(report))
    for name, r in report["workloads"].items():
        if r.get("ratio_peers"):
            ms = r["ms"]
            print(f"{name} optional peers: " + ", ".join(
                f"{peer} {ms[peer]:.3f} ms (neuronika {ratio:.2f}x)" for peer, ratio in r["ratio_peers"].items()))
    path = pathlib.Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nbench: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
