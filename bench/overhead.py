"""Where W3's time goes: the framework's overhead per op, against the kernels it must call.

    python bench/overhead.py [--links 400] [--steps 60]

Times one W3 pass (400 links ``y = tanh(y·w + b)`` on 16 floats, forward and backward, leaf
gradients accumulating) five ways, interleaved in one process (``common.time_interleaved``):

* ``floor``        the hand-written NumPy pass of ``floors.py`` (8 array calls per link);
* ``same kernels`` the array calls neuronika makes, in the same order, from a plain Python loop:
                   3 forward, 3 for tanh's VJP, 1 for mul's input gradient, 1 for the weight's
                   product and 2 accumulations into the leaves' gradients (10 per link) — the
                   least any engine that keeps neuronika's semantics can cost;
* ``compiled``     neuronika replaying the graph through its compiled plan;
* ``compiled, kept`` the same with a handle on every intermediate, so the plan stores every
                   value and gradient (what every plan did before dead intermediates were
                   released: the A/B of that change);
* ``interpreted``  the same graph through the interpreter (``compiled.set_enabled(False)``);
* ``rebuilt``      the graph written anew every pass.

Prints µs per op (pass time / (3 · links)) and each row's ratio to the floor.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def same_kernels(np, data: dict) -> "object":
    from common import Impl

    x, ws, bs = data["x"], [w.copy() for w in data["w"]], [b.copy() for b in data["b"]]
    gw = [None] * len(ws)
    gb = [None] * len(bs)
    tanh = np.tanh

    def step():
        ys = [x]
        y = x
        for w, b in zip(ws, bs):
            y = tanh(y * w + b)
            ys.append(y)
        loss = y.sum()
        g = np.broadcast_to(np.ones((1,), y.dtype).reshape(()), y.shape)
        for i in range(len(ws) - 1, -1, -1):
            out = ys[i + 1]
            local = 1.0 - out * out
            local *= g
            g = local
            if gb[i] is None:
                gb[i] = g
            else:
                gb[i] = gb[i] + g  # the leaf accumulates (a new array while it aliases the op's)
            gw_i = g * ys[i]
            gw[i] = gw_i if gw[i] is None else gw[i] + gw_i
            g = g * ws[i]
        return loss

    return Impl(step)


def chain_kept(s, data: dict) -> "object":
    """W3 replayed with a handle held on every intermediate: nothing is dead, all is stored."""
    import workloads
    from common import Impl

    backend, x, ws, bs = workloads._chain_leaves(s, data, "cpu")
    handles, y = [], x
    for w, b in zip(ws, bs):
        product = y * w
        pre = product + b
        y = pre.tanh()
        handles += [product, pre, y]
    loss = y.sum()

    def step():
        loss.forward()
        loss.backward()
        return loss.data

    step.handles = handles  # kept alive with the step
    return Impl(step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="W3 per-op overhead: floor, same kernels, compiled, interpreted, rebuilt")
    parser.add_argument("--links", type=int, default=400)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent))
    from process import keep_freed_memory

    keep_freed_memory(False)
    import dataclasses

    import numpy as np

    import common
    import floors
    import workloads
    from neuronika.autograd import compiled

    s = dataclasses.replace(common.Settings(), chain_links=args.links)
    data = common.chain_data(s)

    def switched(impl: common.Impl, enabled: bool) -> common.Impl:
        def step():
            compiled.ENABLED[0] = enabled
            return impl.step()
        return common.Impl(step)

    impls = {
        "floor": floors.chain(np, s, data),
        "same kernels": same_kernels(np, data),
        "compiled": switched(workloads.chain(s, data, "cpu"), True),
        "compiled, kept": switched(chain_kept(s, data), True),
        "interpreted": switched(workloads.chain(s, data, "cpu"), False),
        "rebuilt": switched(workloads.chain_rebuilt(s, data, "cpu"), True),
    }
    timings = common.time_interleaved(impls, 5, args.steps, rounds=args.rounds, pause=0.1)
    compiled.ENABLED[0] = True
    ops = 3 * args.links
    floor = timings["floor"]["median_ms"]
    print(f"W3, {args.links} links, {ops} ops per pass; median of {args.steps} passes, interleaved")
    for name, t in timings.items():
        print(f"  {name:14s} {t['median_ms'] * 1e3 / ops:6.3f} µs/op   {t['median_ms'] / floor:5.2f}x floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
