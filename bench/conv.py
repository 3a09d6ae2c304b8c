"""Benchmark: the NumPy convolution override against the generic Array API kernels.

Times forward + backward of ``nk.convolution`` in float32 on the NumPy backend twice: once with
the backend's overrides (strided windows + one BLAS GEMM per kernel) and once with the generic
kernels (``neuronika/kernels``), forced by building the same graph while the backend's
convolution overrides are hidden (kernels are looked up when an op is built). Cases:

* ``cnn``: the small CNN of the issue, input (64, 1, 28, 28) -> 16 channels 5x5 -> relu ->
  32 channels 5x5 (the input is data, so conv1 has no input gradient);
* ``conv1`` and ``conv2``: its two layers alone (conv2 with an input gradient, as in the CNN);
* ``conv3d``: input (16, 4, 16, 16, 16) -> 8 channels 3x3x3, padding 1, both gradients.

Prints the median of ``--runs`` timings per case (generic and override runs interleaved) and the
ratio generic / override. For its own process only, and saying so: OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, when set, make OpenBLAS pick slow code paths, so they are unset (unless
``--keep-openblas-env``); glibc malloc is told to keep freed memory (unless ``--keep-malloc``),
because first-touch page faults on the large im2col buffers are very slow in some VMs and made the
timings swing by 2x from run to run.

    python bench/conv.py [--runs 7] [--keep-openblas-env] [--keep-malloc]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--runs", type=int, default=7, help="timed runs per case (the median is printed)")
parser.add_argument("--keep-openblas-env", action="store_true", help="do not unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
parser.add_argument("--keep-malloc", action="store_true", help="leave glibc malloc's trim / mmap thresholds alone")
args = parser.parse_args()

# must happen before NumPy (and so OpenBLAS) is loaded
unset = []
if not args.keep_openblas_env:
    unset = [name for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.pop(name, None) is not None]

tuned = False
if not args.keep_malloc:
    try:  # glibc only: M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3) to 1 GiB
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        tuned = bool(libc.mallopt(-1, 1 << 30) and libc.mallopt(-3, 1 << 30))
    except OSError:
        tuned = False

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import neuronika as nk  # noqa: E402

CONV_KERNELS = ("conv_forward", "conv_backward_input", "conv_backward_weight")


def build(case: str, generic: bool):
    """The case's loss and its differentiable leaves, built with the overrides or without them."""
    backend = nk.backends.get("cpu")
    hidden = {name: backend.kernels.pop(name) for name in CONV_KERNELS if generic and name in backend.kernels}
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
        backend.kernels.update(hidden)


def time_case(case: str, runs: int) -> tuple[float, float, float]:
    """Median seconds of generic and override (their runs interleaved, so that both see the same
    machine), and the largest gradient difference relative to the largest gradient."""
    graphs = [build(case, generic=True), build(case, generic=False)]
    timings: list[list[float]] = [[], []]
    for run in range(runs + 1):  # the first round warms up
        for (loss, leaves), times in zip(graphs, timings):
            for leaf in leaves:
                leaf.zero_grad()
            start = time.perf_counter()
            loss.forward()
            loss.backward(1.0)
            if run:
                times.append(time.perf_counter() - start)
    (_, expected), (_, got) = graphs
    error = max(float(np.abs(np.asarray(a.grad) - np.asarray(b.grad)).max() / np.abs(np.asarray(b.grad)).max()) for a, b in zip(got, expected))
    return float(np.median(timings[0])), float(np.median(timings[1])), error


def main() -> None:
    if unset:
        print(f"note: unset {', '.join(unset)} for this process (they select slow OpenBLAS kernels)")
    if tuned:
        print("note: glibc malloc told to keep freed memory (mallopt), so that page faults on fresh "
              "memory, very slow in some VMs, do not swamp the timings")
    print(f"numpy {np.__version__}, float32, forward + backward, median of {args.runs} runs\n")
    print(f"{'case':8} {'generic ms':>11} {'override ms':>12} {'ratio':>7}   max |grad difference| / max |grad|")
    for case in ("cnn", "conv1", "conv2", "conv3d"):
        slow, fast, error = time_case(case, args.runs)
        print(f"{case:8} {slow * 1e3:11.2f} {fast * 1e3:12.2f} {slow / fast:6.2f}x   {error:.1e}")


if __name__ == "__main__":
    main()
