"""The floors: each workload written by hand with NumPy (or CuPy, the same code with ``lib``),
forward, backward and SGD update, as a careful programmer would write one training step: in-place
activations and updates where that is natural, no framework, no graph.

A floor is what a framework on the same array library can at best reach; the ratio
``neuronika / floor`` is the framework's overhead.
"""

from __future__ import annotations

from typing import Any

from common import Impl, Settings


def _log_softmax_nll(lib: Any, logits: Any, labels: Any) -> tuple[Any, Any]:
    """Mean NLL of ``log_softmax(logits)`` and its gradient with respect to ``logits``."""
    rows = lib.arange(logits.shape[0])
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = lib.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = (lib.log(totals[:, 0]) - shifted[rows, labels]).mean()
    grad = exps
    grad /= totals  # softmax
    grad[rows, labels] -= 1.0
    grad /= logits.shape[0]
    return loss, grad


def mlp(lib: Any, s: Settings, data: dict[str, Any]) -> Impl:
    """W1: 784-512-256-10 MLP, ReLU, log_softmax + NLL, SGD."""
    params = [lib.array(data[f"{kind}{i}"]) for i in (1, 2, 3) for kind in ("w", "b")]  # copies: updated in place
    w1, b1, w2, b2, w3, b3 = params
    xs = [lib.asarray(x) for x in data["x"]]
    ys = [lib.asarray(y) for y in data["y"]]
    lr = s.lr
    state = {"batch": 0}

    def step() -> Any:
        k = state["batch"]
        state["batch"] = (k + 1) % len(xs)
        x, y = xs[k], ys[k]
        a1 = x @ w1.T
        a1 += b1
        lib.maximum(a1, 0.0, out=a1)
        a2 = a1 @ w2.T
        a2 += b2
        lib.maximum(a2, 0.0, out=a2)
        logits = a2 @ w3.T
        logits += b3
        loss, g3 = _log_softmax_nll(lib, logits, y)
        g2 = g3 @ w3
        g2 *= a2 > 0
        g1 = g2 @ w2
        g1 *= a1 > 0
        grads = (g1.T @ x, g1.sum(axis=0), g2.T @ a1, g2.sum(axis=0), g3.T @ a2, g3.sum(axis=0))
        for param, grad in zip(params, grads):
            grad *= lr
            param -= grad
        return loss

    return Impl(step)


def _windows(lib: Any, x: Any, k: int) -> Any:
    """im2col of a channels-last batch ``x (N, H, W, C)``: ``(N·P, k·k·C)``, columns (kh, kw, c)."""
    n, h, w, c = x.shape
    oh, ow = h - k + 1, w - k + 1
    sn, sh, sw, sc = x.strides
    view = lib.lib.stride_tricks.as_strided(x, (n, oh, ow, k, k, c), (sn, sh, sw, sh, sw, sc))
    return view.reshape(n * oh * ow, k * k * c)


def cnn(lib: Any, s: Settings, data: dict[str, Any]) -> Impl:
    """W2: conv(1→16, 5) → ReLU → conv(16→32, 5) → ReLU → flatten → linear, cross-entropy, SGD.

    Channels-last throughout (im2col rows of ``k·C`` contiguous floats, GEMM outputs already in
    ``(N, H, W, C)``), the linear weight permuted once to that flattening order; the input
    gradient of the second convolution is one batched GEMM (a block per kernel offset) and a
    col2im of k·k block additions (strided per-element additions cost 4x more).
    """
    k = s.cnn_kernel
    c1, c2 = s.cnn_channels
    # (O, C, kh, kw) -> (kh·kw·C, O): the GEMM operand for the channels-last columns
    k1 = lib.ascontiguousarray(lib.asarray(data["k1"]).transpose(2, 3, 1, 0).reshape(-1, c1))
    k2 = lib.ascontiguousarray(lib.asarray(data["k2"]).transpose(2, 3, 1, 0).reshape(-1, c2))
    side = s.cnn_image - 2 * (k - 1)
    w = lib.ascontiguousarray(lib.asarray(data["w"]).reshape(s.classes, c2, side, side).transpose(0, 2, 3, 1).reshape(s.classes, -1))
    b1, b2, b = lib.array(data["c1"]), lib.array(data["c2"]), lib.array(data["b"])
    params = (k1, b1, k2, b2, w, b)
    taps2 = k2.reshape(k * k, c1, c2).transpose(0, 2, 1)  # (k·k, c2, c1), a view: follows updates
    xs = [lib.ascontiguousarray(lib.asarray(x).transpose(0, 2, 3, 1)) for x in data["x"]]
    ys = [lib.asarray(y) for y in data["y"]]
    lr = s.lr
    state = {"batch": 0}

    def step() -> Any:
        idx = state["batch"]
        state["batch"] = (idx + 1) % len(xs)
        x, y = xs[idx], ys[idx]
        n, h = x.shape[0], x.shape[1]
        h1, h2 = h - k + 1, h - 2 * (k - 1)
        cols1 = _windows(lib, x, k)
        a1 = cols1 @ k1
        a1 += b1
        lib.maximum(a1, 0.0, out=a1)
        a1 = a1.reshape(n, h1, h1, c1)
        cols2 = _windows(lib, a1, k)
        a2 = cols2 @ k2
        a2 += b2
        lib.maximum(a2, 0.0, out=a2)
        flat = a2.reshape(n, -1)
        logits = flat @ w.T
        logits += b
        loss, g = _log_softmax_nll(lib, logits, y)
        grad_w, grad_b = g.T @ flat, g.sum(axis=0)
        g2 = g @ w  # (N, h2·h2·c2), i.e. rows of a2
        g2 = g2.reshape(-1, c2)
        g2 *= a2 > 0
        grad_k2, grad_b2 = cols2.T @ g2, g2.sum(axis=0)
        # input gradient: one GEMM per kernel offset, batched, each (N·P, c1) block contiguous,
        # then col2im as k·k additions of whole blocks
        dcols = lib.matmul(g2, taps2).reshape(k, k, n, h2, h2, c1)
        g1 = lib.zeros((n, h1, h1, c1), dtype=x.dtype)
        for i in range(k):
            for j in range(k):
                g1[:, i:i + h2, j:j + h2, :] += dcols[i, j]
        g1 *= a1 > 0
        g1 = g1.reshape(-1, c1)
        grad_k1, grad_b1 = cols1.T @ g1, g1.sum(axis=0)
        for param, grad in zip(params, (grad_k1, grad_b1, grad_k2, grad_b2, grad_w, grad_b)):
            grad *= lr
            param -= grad
        return loss

    return Impl(step)


def chain(lib: Any, s: Settings, data: dict[str, Any]) -> Impl:
    """W3: ``y = tanh(y·w_i + b_i)`` for every link, summed; forward and backward (the
    gradients of every ``w_i`` and ``b_i``). Three array calls per link forward, four backward."""
    x = lib.asarray(data["x"])
    ws = [lib.asarray(w) for w in data["w"]]
    bs = [lib.asarray(b) for b in data["b"]]
    tanh = lib.tanh
    links = len(ws)

    def step() -> Any:
        ys = [x]
        y = x
        for w, b in zip(ws, bs):
            y = tanh(y * w + b)
            ys.append(y)
        loss = y.sum()
        grad = lib.ones_like(y)
        grads_w, grads_b = [None] * links, [None] * links
        for i in range(links - 1, -1, -1):
            out = ys[i + 1]
            grad = grad * (1.0 - out * out)
            grads_b[i] = grad
            grads_w[i] = grad * ys[i]
            grad = grad * ws[i]
        return loss

    return Impl(step)


def lstm(lib: Any, s: Settings, data: dict[str, Any]) -> Impl:
    """W4: an LSTM cell (PyTorch's gates i, f, g, o) unrolled over the sequence, MSE of the last
    hidden state against a target, back-propagation through time, SGD."""
    w_ih, w_hh = lib.array(data["w_ih"]), lib.array(data["w_hh"])
    b_ih, b_hh = lib.array(data["b_ih"]), lib.array(data["b_hh"])
    params = (w_ih, w_hh, b_ih, b_hh)
    xs = lib.asarray(data["x"])
    target = lib.asarray(data["target"])
    hidden, batch = s.lstm_hidden, s.lstm_batch
    lr = s.lr

    def sigmoid(z: Any) -> Any:
        out = lib.tanh(z * 0.5)
        out *= 0.5
        out += 0.5
        return out

    def step() -> Any:
        h = lib.zeros((batch, hidden), dtype=xs.dtype)
        c = lib.zeros_like(h)
        tape = []
        for x in xs:
            z = x @ w_ih.T
            z += h @ w_hh.T
            z += b_ih
            z += b_hh
            i, f, o = sigmoid(z[:, :hidden]), sigmoid(z[:, hidden:2 * hidden]), sigmoid(z[:, 3 * hidden:])
            g = lib.tanh(z[:, 2 * hidden:3 * hidden])
            c_prev, h_prev = c, h
            c = f * c_prev
            c += i * g
            tc = lib.tanh(c)
            h = o * tc
            tape.append((x, h_prev, c_prev, i, f, g, o, tc))
        diff = h - target
        loss = (diff * diff).mean()
        dh = diff * (2.0 / diff.size)
        dc = lib.zeros_like(dh)
        grad_ih, grad_hh = lib.zeros_like(w_ih), lib.zeros_like(w_hh)
        grad_b = lib.zeros_like(b_ih)
        dz = lib.empty((batch, 4 * hidden), dtype=xs.dtype)
        for x, h_prev, c_prev, i, f, g, o, tc in reversed(tape):
            dc += dh * o * (1.0 - tc * tc)
            dz[:, :hidden] = dc * g * i * (1.0 - i)
            dz[:, hidden:2 * hidden] = dc * c_prev * f * (1.0 - f)
            dz[:, 2 * hidden:3 * hidden] = dc * i * (1.0 - g * g)
            dz[:, 3 * hidden:] = dh * tc * o * (1.0 - o)
            grad_ih += dz.T @ x
            grad_hh += dz.T @ h_prev
            grad_b += dz.sum(axis=0)
            dh = dz @ w_hh
            dc = dc * f
        for param, grad in zip(params, (grad_ih, grad_hh, grad_b, grad_b)):
            param -= lr * grad
        return loss

    return Impl(step)


FLOORS = {"W1": mlp, "W2": cnn, "W3": chain, "W4": lstm}
