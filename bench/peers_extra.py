"""Optional peers of ``bench/run.py``: JAX (``jit``), MyGrad and HIPS autograd, for W1 (the MLP
step) and W3 (the tanh chain), from the same weights and data as the other implementations.

Each is used only when its library is installed (``available`` leaves the others out, and
``run.py`` says which it skipped). JAX compiles the whole step once (``jax.jit`` of
``value_and_grad`` and, for W1, the SGD update): the compiled-graph reference. MyGrad and
autograd are eager tape-based NumPy frameworks: they rebuild the graph every step.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

import numpy as np

from common import Impl, Settings

LIBRARIES = {"jax": "jax", "mygrad": "mygrad", "autograd": "autograd"}


def available() -> tuple[list[str], list[str]]:
    """``(installed, missing)`` peer names."""
    found = [name for name, module in LIBRARIES.items() if importlib.util.find_spec(module) is not None]
    return found, [name for name in LIBRARIES if name not in found]


def _cycle(items: list[Any]) -> Callable[[], int]:
    state = {"k": -1}

    def next_index() -> int:
        state["k"] = (state["k"] + 1) % len(items)
        return state["k"]

    return next_index


# --- JAX -----------------------------------------------------------------------------------------
def jax_mlp(s: Settings, data: dict[str, Any]) -> Impl:
    import jax
    import jax.numpy as jnp

    params = [jnp.asarray(data[f"{kind}{i}"]) for i in (1, 2, 3) for kind in ("w", "b")]
    xs, ys = [jnp.asarray(x) for x in data["x"]], [jnp.asarray(y) for y in data["y"]]
    lr = s.lr

    def loss_fn(params: list[Any], x: Any, y: Any) -> Any:
        w1, b1, w2, b2, w3, b3 = params
        h = jax.nn.relu(x @ w1.T + b1)
        h = jax.nn.relu(h @ w2.T + b2)
        logp = jax.nn.log_softmax(h @ w3.T + b3, axis=1)
        return -jnp.mean(logp[jnp.arange(y.shape[0]), y])

    @jax.jit
    def update(params: list[Any], x: Any, y: Any) -> tuple[Any, list[Any]]:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return loss, [p - lr * g for p, g in zip(params, grads)]

    state = {"params": params}
    index = _cycle(xs)

    def step() -> Any:
        k = index()
        loss, state["params"] = update(state["params"], xs[k], ys[k])
        return loss

    return Impl(step, lambda: jax.block_until_ready(state["params"]))


def jax_chain(s: Settings, data: dict[str, Any]) -> Impl:
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(data["x"])
    ws, bs = [jnp.asarray(w) for w in data["w"]], [jnp.asarray(b) for b in data["b"]]

    def loss_fn(ws: list[Any], bs: list[Any]) -> Any:
        y = x
        for w, b in zip(ws, bs):
            y = jnp.tanh(y * w + b)
        return y.sum()

    run = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1)))
    out: dict[str, Any] = {}

    def step() -> Any:
        loss, out["grads"] = run(ws, bs)
        return loss

    return Impl(step, lambda: jax.block_until_ready(out.get("grads")))


# --- MyGrad --------------------------------------------------------------------------------------
def mygrad_mlp(s: Settings, data: dict[str, Any]) -> Impl:
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.tensor(np.array(data[f"{kind}{i}"])) for i in (1, 2, 3) for kind in ("w", "b")]
    xs, ys = data["x"], data["y"]
    lr = s.lr
    index = _cycle(xs)

    def step() -> Any:
        k = index()
        w1, b1, w2, b2, w3, b3 = params
        h = relu(mg.matmul(xs[k], w1.T) + b1)
        h = relu(mg.matmul(h, w2.T) + b2)
        loss = softmax_crossentropy(mg.matmul(h, w3.T) + b3, ys[k])
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return float(loss.data)

    return Impl(step)


def mygrad_chain(s: Settings, data: dict[str, Any]) -> Impl:
    import mygrad as mg

    x = data["x"]
    ws, bs = [mg.tensor(w) for w in data["w"]], [mg.tensor(b) for b in data["b"]]

    def step() -> Any:
        y = x
        for w, b in zip(ws, bs):
            y = mg.tanh(y * w + b)
        loss = y.sum()
        loss.backward()
        return float(loss.data)

    return Impl(step)


# --- HIPS autograd -------------------------------------------------------------------------------
def autograd_mlp(s: Settings, data: dict[str, Any]) -> Impl:
    import autograd.numpy as anp
    from autograd import value_and_grad

    params = [np.array(data[f"{kind}{i}"]) for i in (1, 2, 3) for kind in ("w", "b")]
    xs, ys = data["x"], data["y"]
    lr = s.lr
    index = _cycle(xs)

    def loss_fn(params: list[Any], x: Any, y: Any) -> Any:
        w1, b1, w2, b2, w3, b3 = params
        h = anp.maximum(anp.dot(x, w1.T) + b1, 0.0)
        h = anp.maximum(anp.dot(h, w2.T) + b2, 0.0)
        logits = anp.dot(h, w3.T) + b3
        shifted = logits - anp.max(logits, axis=1, keepdims=True)
        logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(logp[np.arange(y.shape[0]), y])

    run = value_and_grad(loss_fn)

    def step() -> Any:
        k = index()
        loss, grads = run(params, xs[k], ys[k])
        for p, g in zip(params, grads):
            p -= lr * g
        return loss

    return Impl(step)


def autograd_chain(s: Settings, data: dict[str, Any]) -> Impl:
    import autograd.numpy as anp
    from autograd import value_and_grad

    x, ws, bs = data["x"], data["w"], data["b"]

    def loss_fn(ws: list[Any], bs: list[Any]) -> Any:
        y = x
        for w, b in zip(ws, bs):
            y = anp.tanh(y * w + b)
        return anp.sum(y)

    run = value_and_grad(lambda pair: loss_fn(*pair))  # gradients of every w_i and b_i

    def step() -> Any:
        loss, _ = run((ws, bs))
        return loss

    return Impl(step)


#: workload -> peer -> builder(settings, data)
EXTRA = {
    "W1": {"jax": jax_mlp, "mygrad": mygrad_mlp, "autograd": autograd_mlp},
    "W3": {"jax": jax_chain, "mygrad": mygrad_chain, "autograd": autograd_chain},
}
