"""Where W1's time goes: neuronika's MLP step against the floor, and against the floor made to
keep neuronika's semantics one at a time.

    python bench/w1_gap.py [--steps 60] [--rounds 6] [--threads 1]

The floor (``floors.mlp``) is the least a NumPy step can do, and it takes three liberties a
framework's API does not allow. Each variant below gives one of them back, so the step-time
differences price them:

* ``floor``            the hand-written step: the batch used where it lies, ReLU written into the
                       GEMM's output, each gradient scaled in place and subtracted (``g *= lr;
                       p -= g``: the gradient is destroyed);
* ``+ batch copy``     the batch copied first (``assign`` copies: the caller may reuse its array);
* ``+ kept gradient``  ``p -= lr * g`` (``.grad`` still reads the gradient after ``step()``);
* ``+ kept input``     neuronika's ReLU kernels, each a new array (the layer's output stays
                       readable, ``.data`` of an intermediate);
* ``same semantics``   all three: the least an engine with neuronika's API can cost;
* ``neuronika``        the replayed graph (``bench/workloads.py``, as in ``run.py``).

Prints each variant's median step time and its ratio to the floor (one process, interleaved;
``common.time_interleaved``). Like ``run.py`` it unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
for its own process.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def variant(np, s, data: dict, copy_batch: bool, keep_gradient: bool, keep_input: bool):
    """``floors.mlp`` with some of neuronika's semantics given back (see the module docstring)."""
    from common import Impl
    from floors import _log_softmax_nll

    from neuronika.backends._numpy_fast import relu_backward, relu_forward

    params = [np.array(data[f"{kind}{i}"]) for i in (1, 2, 3) for kind in ("w", "b")]
    w1, b1, w2, b2, w3, b3 = params
    xs, ys = [np.asarray(x) for x in data["x"]], [np.asarray(y) for y in data["y"]]
    lr, state = s.lr, {"batch": 0}

    def relu(a):
        if keep_input:
            return relu_forward(np, a)
        np.maximum(a, 0.0, out=a)
        return a

    def relu_grad(g, out):
        if keep_input:
            return relu_backward(np, g, out)
        g *= out > 0
        return g

    def step():
        k = state["batch"]
        state["batch"] = (k + 1) % len(xs)
        x, y = xs[k], ys[k]
        if copy_batch:
            x = np.array(x)
        a1 = x @ w1.T
        a1 += b1
        r1 = relu(a1)
        a2 = r1 @ w2.T
        a2 += b2
        r2 = relu(a2)
        logits = r2 @ w3.T
        logits += b3
        loss, g3 = _log_softmax_nll(np, logits, y)
        g2 = relu_grad(g3 @ w3, r2)
        g1 = relu_grad(g2 @ w2, r1)
        grads = (g1.T @ x, g1.sum(axis=0), g2.T @ r1, g2.sum(axis=0), g3.T @ r2, g3.sum(axis=0))
        for param, grad in zip(params, grads):
            if keep_gradient:
                param -= lr * grad
            else:
                grad *= lr
                param -= grad
        return loss

    return Impl(step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="W1: neuronika's step against the floor given back neuronika's semantics")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few steps (a smoke run)")
    args = parser.parse_args(argv)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent))
    from process import keep_freed_memory

    keep_freed_memory(False)
    import numpy as np

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        threadpool_limits = None
    if threadpool_limits is not None:
        threadpool_limits(args.threads, user_api="blas")

    import common
    import floors
    import workloads

    s = common.Settings.quick() if args.quick else common.Settings()
    data = common.mlp_data(s)
    impls = {
        "floor": floors.mlp(np, s, data),
        "+ batch copy": variant(np, s, data, True, False, False),
        "+ kept gradient": variant(np, s, data, False, True, False),
        "+ kept input": variant(np, s, data, False, False, True),
        "same semantics": variant(np, s, data, True, True, True),
        "neuronika": workloads.mlp(s, data, "cpu"),
    }
    timings = common.time_interleaved(impls, 5, args.steps, rounds=args.rounds, pause=0.1)
    floor = timings["floor"]["median_ms"]
    losses = {round(t["first_loss"], 4) for t in timings.values()}
    print(f"W1 (MLP {'-'.join(map(str, s.mlp_sizes))}, batch {s.mlp_batch}); median of {args.steps} steps, "
          f"interleaved; {args.threads} BLAS thread(s); first-step losses {sorted(losses)}")
    for name, t in timings.items():
        extra = t["median_ms"] - floor
        print(f"  {name:16s} {t['median_ms'] * 1e3:8.1f} µs   {t['median_ms'] / floor:5.3f}x floor   {extra * 1e3:+7.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
