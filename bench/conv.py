"""Benchmark: the NumPy convolution override against the generic Array API kernels.

Times forward + backward of ``nk.convolution`` in float32 on the NumPy backend, once with the
backend's overrides (``backends/_numpy_kernels.py``: per kernel call, im2col + one BLAS GEMM or
the frequency-domain path of ``backends/_fft_conv.py``, whichever its cost rule picks for the
shapes) and once with the generic kernels (``neuronika/kernels``), forced by building the same
graph while the backend's convolution overrides are hidden (kernels are looked up when an op is
built). Cases:

* ``cnn``: the small CNN of the issue, input (64, 1, 28, 28) -> 16 channels 5x5 -> relu ->
  32 channels 5x5 (the input is data, so conv1 has no input gradient);
* ``conv1`` and ``conv2``: its two layers alone (conv2 with an input gradient, as in the CNN);
* ``conv3d``: input (16, 4, 16, 16, 16) -> 8 channels 3x3x3, padding 1, both gradients.

Prints the median of ``--runs`` timings per case (the variants' runs interleaved), the ratio
generic / override, and the path the rule took for each kernel call (``fwd`` forward, ``in``
input gradient, ``w`` kernel gradient; one group per convolution of the case). ``--paths`` also
times the override with every call forced onto im2col and onto the FFT path, which is how the
rule can be checked on a machine. For its own process only, and saying so: OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, when set, make OpenBLAS pick slow code paths, so they are unset (unless
``--keep-openblas-env``); glibc malloc is told to keep freed memory (unless ``--keep-malloc``),
because first-touch page faults on the large buffers are very slow in some VMs and made the
timings swing by 2x from run to run.

``--check-rule N`` instead times every kernel on both paths on N random shapes (1-, 2- and 3-d,
strides, dilations, groups; seeded) and prints the total time of the rule's picks against the
per-call best and against either path alone, with the calls where the pick was over 1.5x slower.

    python bench/conv.py [--runs 7] [--paths] [--check-rule N] [--keep-openblas-env] [--keep-malloc]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--runs", type=int, default=7, help="timed runs per case (the median is printed)")
parser.add_argument("--paths", action="store_true", help="also time every kernel forced onto im2col and onto the FFT path")
parser.add_argument("--check-rule", type=int, default=0, metavar="N",
                    help="instead: time both paths of every kernel on N random shapes and compare the rule's picks")
parser.add_argument("--keep-openblas-env", action="store_true", help="do not unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
parser.add_argument("--keep-malloc", action="store_true", help="leave glibc malloc's trim / mmap thresholds alone")
args = parser.parse_args()

# must happen before NumPy (and so OpenBLAS) is loaded
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from process import keep_freed_memory, unset_openblas_overrides  # noqa: E402

unset = unset_openblas_overrides(args.keep_openblas_env)
tuned = keep_freed_memory(args.keep_malloc)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import neuronika as nk  # noqa: E402
from neuronika.backends import _numpy_kernels  # noqa: E402

CONV_KERNELS = ("conv_forward", "conv_backward_input", "conv_backward_weight")
SHORT = {"conv_forward": "fwd", "conv_backward_input": "in", "conv_backward_weight": "w"}


def build(case: str, variant: str):
    """The case's loss and its differentiable leaves, built with the convolution kernels of
    ``variant``: ``override`` (the backend's registry as it is), ``generic`` (overrides hidden),
    ``im2col`` or ``fft`` (every call forced onto that path)."""
    backend = nk.backends.get("cpu")
    saved = {name: backend.kernels.pop(name) for name in CONV_KERNELS if name in backend.kernels}
    if variant == "override":
        backend.kernels.update(saved)
    elif variant in ("im2col", "fft"):
        backend.kernels.update(_numpy_kernels.STRIDED if variant == "im2col" else _numpy_kernels.FFT)
    try:
        nk.manual_seed(0)
        if case in ("cnn", "conv1"):
            x = nk.randn((64, 1, 28, 28))
            w1 = nk.randn((16, 1, 5, 5)).requires_grad()
            h = nk.convolution(x, w1)
            if case == "conv1":
                return h.sum(), [w1]
            w2 = nk.randn((32, 16, 5, 5)).requires_grad()
            return nk.convolution(h.relu(), w2).sum(), [w1, w2]
        if case == "conv2":
            x = nk.randn((64, 16, 24, 24)).requires_grad()
            w2 = nk.randn((32, 16, 5, 5)).requires_grad()
            return nk.convolution(x, w2).sum(), [x, w2]
        x = nk.randn((16, 4, 16, 16, 16)).requires_grad()
        w = nk.randn((8, 4, 3, 3, 3)).requires_grad()
        return nk.convolution(x, w, padding=1).sum(), [x, w]
    finally:
        for name in CONV_KERNELS:
            backend.kernels.pop(name, None)
        backend.kernels.update(saved)


def picks(case: str) -> str:
    """The path the rule takes for each kernel call of one forward + backward of ``case``, e.g.
    ``fwd im2col, w im2col | fwd fft, in fft, w fft`` (one group per convolution)."""
    backend = nk.backends.get("cpu")
    calls: list[tuple[str, str]] = []

    def spy(name):
        def kernel(xp, *operands):
            # operands: (x, w, stride, dilation, groups) or (grad, w | x, shape, stride, dilation, groups)
            *arrays, stride, dilation, groups = operands
            if name == "conv_forward":
                x_shape, w_shape = arrays[0].shape, arrays[1].shape
            elif name == "conv_backward_input":
                x_shape, w_shape = arrays[2], arrays[1].shape
            else:
                x_shape, w_shape = arrays[1].shape, arrays[2]
            path = _numpy_kernels.path(name, tuple(x_shape), tuple(w_shape), tuple(stride), tuple(dilation), groups, arrays[0].dtype)
            calls.append((name, path))
            return _numpy_kernels.KERNELS[name](xp, *operands)

        return kernel

    saved = {name: backend.kernels[name] for name in CONV_KERNELS}
    backend.kernels.update({name: spy(name) for name in CONV_KERNELS})
    try:
        loss, _ = build(case, "override")
    finally:
        backend.kernels.update(saved)
    loss.forward()
    loss.backward(1.0)
    # the forward calls come first, one per convolution; then each convolution's backward calls,
    # last layer first: its input gradient (if any), then its kernel gradient (every case has one)
    forwards = [path for name, path in calls if name == "conv_forward"]
    groups = [[f"fwd {path}"] for path in forwards]
    layer = len(forwards) - 1
    for name, path in calls[len(forwards) :]:
        groups[layer].append(f"{SHORT[name]} {path}")
        layer -= name == "conv_backward_weight"
    return " | ".join(", ".join(group) for group in groups)


def time_case(case: str, runs: int, variants: tuple[str, ...]) -> tuple[list[float], float]:
    """Median seconds of each variant (their runs interleaved, so that all see the same machine),
    and the largest gradient difference of the override relative to the largest generic gradient."""
    graphs = [build(case, variant) for variant in variants]
    timings: list[list[float]] = [[] for _ in variants]
    for run in range(runs + 1):  # the first round warms up
        for (loss, leaves), times in zip(graphs, timings):
            for leaf in leaves:
                leaf.zero_grad()
            start = time.perf_counter()
            loss.forward()
            loss.backward(1.0)
            if run:
                times.append(time.perf_counter() - start)
    (_, expected), (_, got) = graphs[:2]
    error = max(float(np.abs(np.asarray(a.grad) - np.asarray(b.grad)).max() / np.abs(np.asarray(b.grad)).max()) for a, b in zip(got, expected))
    return [float(np.median(t)) for t in timings], error


def random_shapes(count: int, seed: int = 0):
    """``count`` random convolution shapes: (padded input, kernel, stride, dilation, groups)."""
    rng = np.random.default_rng(seed)
    while count:
        ndim = int(rng.choice([1, 2, 2, 2, 3]))
        size = int(rng.choice([[32, 64, 128, 256, 512], [8, 12, 16, 24, 28, 32, 48, 64], [6, 8, 12, 16, 18]][ndim - 1]))
        taps = int(rng.choice([[3, 5, 9, 15, 31], [1, 3, 3, 5, 5, 7], [2, 3, 3, 5]][ndim - 1]))
        batch = int(rng.choice([[8, 32, 64], [4, 16, 64], [2, 8, 16]][ndim - 1]))
        channels, out_channels = int(rng.choice([1, 3, 4, 16, 32, 64])), int(rng.choice([4, 8, 16, 32, 64]))
        stride, dilation = int(rng.choice([1, 1, 1, 2])), int(rng.choice([1, 1, 1, 2]))
        common = np.gcd(channels, out_channels)
        groups = int(rng.choice([d for d in range(1, common + 1) if common % d == 0])) if rng.random() < 0.2 else 1
        out = (size - dilation * (taps - 1) - 1) // stride + 1
        if out < 1 or batch * out**ndim * taps**ndim * channels * 4 > 150e6 or batch * max(channels, out_channels) * size**ndim * 16 > 200e6:
            continue
        count -= 1
        yield (batch, channels) + (size,) * ndim, (out_channels, channels // groups) + (taps,) * ndim, (stride,) * ndim, (dilation,) * ndim, groups


def check_rule(count: int, repeats: int = 3) -> None:
    """Both paths of every kernel on ``count`` random shapes (the minimum of ``repeats`` runs):
    the rule's picks against the per-call best and against either path alone."""
    rng = np.random.default_rng(1)
    totals = dict(best=0.0, rule=0.0, im2col=0.0, fft=0.0)
    slow = []
    for x_shape, w_shape, stride, dilation, groups in random_shapes(count):
        x, w = rng.standard_normal(x_shape, dtype=np.float32), rng.standard_normal(w_shape, dtype=np.float32)
        grad = rng.standard_normal(_numpy_kernels.STRIDED["conv_forward"](np, x, w, stride, dilation, groups).shape, dtype=np.float32)
        operands = {"conv_forward": (x, w), "conv_backward_input": (grad, w, x_shape), "conv_backward_weight": (grad, x, w_shape)}
        for name in CONV_KERNELS:
            seconds = {}
            for variant, kernels in (("im2col", _numpy_kernels.STRIDED), ("fft", _numpy_kernels.FFT)):
                call = lambda: kernels[name](np, *operands[name], stride, dilation, groups)  # noqa: E731
                call()
                seconds[variant] = min(_elapsed(call) for _ in range(repeats))
            picked = seconds[_numpy_kernels.path(name, x_shape, w_shape, stride, dilation, groups, np.dtype(np.float32))]
            best = min(seconds.values())
            totals["best"] += best
            totals["rule"] += picked
            totals["im2col"] += seconds["im2col"]
            totals["fft"] += seconds["fft"]
            if picked > 1.5 * best:
                slow.append(f"  {picked / best:4.1f}x  {SHORT[name]:3} x {x_shape} w {w_shape} stride {stride[0]} dilation {dilation[0]} groups {groups}: "
                            f"im2col {seconds['im2col'] * 1e3:.2f} ms, fft {seconds['fft'] * 1e3:.2f} ms")
    print(f"{count} random shapes x 3 kernels, float32, min of {repeats} runs per call; total ms:")
    print("  " + ", ".join(f"{key} {value * 1e3:.1f}" for key, value in totals.items()))
    print(f"calls where the rule's pick was over 1.5x slower than the other path: {len(slow)}")
    print("\n".join(slow))


def _elapsed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    if unset:
        print(f"note: unset {', '.join(unset)} for this process (they select slow OpenBLAS kernels)")
    if tuned:
        print("note: glibc malloc told to keep freed memory (mallopt), so that page faults on fresh "
              "memory, very slow in some VMs, do not swamp the timings")
    if args.check_rule:
        check_rule(args.check_rule)
        return
    print(f"numpy {np.__version__}, float32, forward + backward, median of {args.runs} runs\n")
    variants = ("generic", "override") + (("im2col", "fft") if args.paths else ())
    extra = f" {'im2col ms':>10} {'fft ms':>8}" if args.paths else ""
    print(f"{'case':8} {'generic ms':>11} {'override ms':>12}{extra} {'ratio':>7}  {'error':>7}   paths the rule took")
    for case in ("cnn", "conv1", "conv2", "conv3d"):
        (slow, fast, *forced), error = time_case(case, args.runs, variants)
        columns = "".join(f" {t * 1e3:{w}.2f}" for t, w in zip(forced, (10, 8)))
        print(f"{case:8} {slow * 1e3:11.2f} {fast * 1e3:12.2f}{columns} {slow / fast:6.2f}x  {error:.1e}   {picks(case)}")
    print("\nerror: max |grad difference| / max |grad| of the override against the generic kernels")


if __name__ == "__main__":
    main()
