"""Activations: relu, leaky_relu, softplus, sigmoid, tanh, softmax, log_softmax, and dropout.

Every form is numerically stable: sigmoid through tanh, softplus through log-add-exp, softmax and
log_softmax shifted by the maximum along their axis, so inputs of ±1e3 stay finite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._args import real
from ..backends import float16, float32
from ._build import normalize_axis
from .arithmetic import Unary
from .node import Node, tick


from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V


def relu_forward(xp: Any, x: Any) -> Any:
    """Generic ReLU kernel: ``where(x <= 0, 0, x)`` (NaN stays NaN, as in PyTorch)."""
    return xp.where(x <= 0, 0.0, x)


def relu_backward(xp: Any, grad: Any, output: Any) -> Any:
    """Generic ReLU VJP from the output ``y``: ``where(y <= 0, 0, g)`` (PyTorch's: a NaN output
    passes the gradient)."""
    return xp.where(output <= 0, 0.0, grad)


class ReLU(Unary):
    """``max(x, 0)``; its kernels are looked up once, when the op is built (a backend may
    override ``relu_forward`` / ``relu_backward`` with faster bit-identical ones)."""

    __slots__ = ("forward_kernel", "backward_kernel")
    name = "relu"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node) -> None:
        super().__init__(operand)
        self.forward_kernel = self.backend.kernel("relu_forward", relu_forward)
        self.backward_kernel = self.backend.kernel("relu_backward", relu_backward)

    def _forward(self) -> None:
        self.value = self.forward_kernel(self.xp, self.inputs[0].value)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.backward_kernel(self.xp, self.grad, self.value))


class LeakyReLU(Unary):
    __slots__ = ("slope",)
    name = "leaky_relu"
    reads_value = False  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node, slope: float = 0.01) -> None:
        super().__init__(operand)
        self.slope = real(self.name, "slope", slope)

    def _forward(self) -> None:
        operand = self.inputs[0].value
        self.value = self.xp.where(operand > 0, operand, operand * self.slope)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.xp.where(self.inputs[0].value > 0, self.grad, self.grad * self.slope))


class Softplus(Unary):
    """``ln(1 + eˣ)`` computed as ``logaddexp(x, 0)``; its derivative is ``sigmoid(x)``."""

    __slots__ = ()
    name = "softplus"
    reads_value = False  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        operand = self.inputs[0].value
        self.value = self.xp.logaddexp(operand, self.xp.zeros_like(operand))

    def _backward(self) -> None:
        operand = self.inputs[0].value
        self.inputs[0].add_grad(self.grad * (self.xp.tanh(operand * 0.5) * 0.5 + 0.5))


class Sigmoid(Unary):
    """``1 / (1 + e⁻ˣ)`` computed as ``(tanh(x/2) + 1) / 2``, which never overflows."""

    __slots__ = ()
    name = "sigmoid"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        # the same three operations as tanh(x/2)·0.5 + 0.5, the last two in place on the fresh
        # result of tanh (fewer temporaries)
        value = self.xp.tanh(self.inputs[0].value * 0.5)
        value *= 0.5
        value += 0.5
        self.value = value

    def _backward(self) -> None:
        grad = self.grad * self.value  # (g·y)·(1 - y), the product finished in place
        grad *= 1.0 - self.value
        self.inputs[0].add_grad(grad)


class Tanh(Unary):
    __slots__ = ()
    name = "tanh"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        self.value = self.xp.tanh(self.inputs[0].value)

    def _backward(self) -> None:
        local = 1.0 - self.value * self.value  # (1 - y²)·g, the product in place
        local *= self.grad
        self.inputs[0].add_grad(local)


def check_softmax_axis(op: str, operand: Node, axis: int) -> int:
    """The normalised axis of a softmax; an empty axis has no distribution to normalise."""
    axis = normalize_axis(op, axis, len(operand.shape))
    if operand.shape[axis] == 0:
        raise ValueError(
            f"{op}: axis {axis} of the {operand.shape} variable is empty; a softmax needs at "
            f"least one element along its axis"
        )
    return axis


def wide_sum(node: Node) -> Any:
    """float32 (the backend's) when ``node``'s operand is float16, whose sums of exponentials then
    accumulate in float32 (70000 classes of equal logits sum to 70000 > 65504), else None."""
    operand = node.inputs[0]
    return operand.backend.dtype(float32) if operand.dtype is float16 else None


class Softmax(Unary):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``; VJP ``y · (g - Σ g·y)``. float16:
    the sum in float32, the quotient rounded once."""

    __slots__ = ("axis", "wide")
    name = "softmax"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node, axis: int) -> None:
        super().__init__(operand)
        self.axis = check_softmax_axis(self.name, operand, axis)
        self.wide = wide_sum(self)

    def _forward(self) -> None:
        xp, operand = self.xp, self.inputs[0].value
        exps = xp.exp(operand - xp.max(operand, axis=self.axis, keepdims=True))
        if self.wide is not None:
            total = xp.sum(exps, axis=self.axis, keepdims=True, dtype=self.wide)
            self.value = xp.astype(xp.astype(exps, self.wide) / total, operand.dtype)
            return
        self.value = exps / xp.sum(exps, axis=self.axis, keepdims=True)

    def _backward(self) -> None:
        xp, out = self.xp, self.value
        self.inputs[0].add_grad(out * (self.grad - xp.sum(self.grad * out, axis=self.axis, keepdims=True)))


class LogSoftmax(Unary):
    """``x - max - ln Σ exp(x - max)`` along ``axis``; VJP ``g - exp(y) · Σ g``. float16: the
    sum in float32, its logarithm rounded once."""

    __slots__ = ("axis", "wide")
    name = "log_softmax"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node, axis: int) -> None:
        super().__init__(operand)
        self.axis = check_softmax_axis(self.name, operand, axis)
        self.wide = wide_sum(self)

    def _forward(self) -> None:
        xp, operand = self.xp, self.inputs[0].value
        shifted = operand - xp.max(operand, axis=self.axis, keepdims=True)
        if self.wide is not None:
            total = xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True, dtype=self.wide)
            self.value = shifted - xp.astype(xp.log(total), operand.dtype)
            return
        self.value = shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))

    def _backward(self) -> None:
        xp = self.xp
        total = xp.sum(self.grad, axis=self.axis, keepdims=True)
        self.inputs[0].add_grad(self.grad - xp.exp(self.value) * total)


class Dropout(Unary):
    """Zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)`` in training
    mode; the identity in evaluation mode. The mask is drawn once per forward pass."""

    __slots__ = ("p", "training", "mask")
    name = "dropout"
    reads_inputs, reads_value, repeatable = (), False, False  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node, p: float) -> None:
        p = real(self.name, "probability p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
        super().__init__(operand)
        self.p = p
        self.training = True
        self.mask = None

    def set_training(self, training: bool) -> None:
        if self.training != training:
            self.training = training
            tick()

    def _forward(self) -> None:
        operand = self.inputs[0].value
        if not self.training or self.p == 0.0:
            self.mask = None
            self.value = operand
            return
        if self.p == 1.0:
            self.mask = self.xp.zeros_like(operand)
        else:
            keep = self.backend.uniform(self.shape, self.dtype) >= self.p
            self.mask = self.xp.astype(keep, self.backend.dtype(self.dtype)) * (1.0 / (1.0 - self.p))
        self.value = operand * self.mask

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad if self.mask is None else self.grad * self.mask)


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
# Each returns its operand's kind (``V``): a VarDiff stays a VarDiff for type checkers.
def relu(x: V) -> V:
    """``max(x, 0)`` element-wise; same shape as ``x``.

    >>> nk.from_ndarray([-1.0, 2.0]).relu().forward().numpy().tolist()
    [0.0, 2.0]
    """
    return _handles.same(x, ReLU(x._node))


def leaky_relu(x: V, slope: float = 0.01) -> V:
    """``x`` where positive, ``slope · x`` elsewhere; same shape as ``x``.

    >>> nk.from_ndarray([-1.0, 2.0]).leaky_relu(0.5).forward().numpy().tolist()
    [-0.5, 2.0]
    """
    return _handles.same(x, LeakyReLU(x._node, slope))


def softplus(x: V) -> V:
    """``log(1 + e ** x)`` element-wise, computed without overflow; same shape as ``x``.

    >>> round(nk.zeros(1).softplus().forward().item(), 4)
    0.6931
    """
    return _handles.same(x, Softplus(x._node))


def sigmoid(x: V) -> V:
    """``1 / (1 + e ** -x)`` element-wise (computed through tanh); same shape as ``x``.

    >>> nk.zeros(2).sigmoid().forward().numpy().tolist()
    [0.5, 0.5]
    """
    return _handles.same(x, Sigmoid(x._node))


def tanh(x: V) -> V:
    """Hyperbolic tangent element-wise; same shape as ``x``.

    >>> nk.zeros(2).tanh().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Tanh(x._node))


def softmax(x: V, axis: int) -> V:
    """``e ** x / Σ e ** x`` along ``axis`` (max-shifted, stable); same shape as ``x``.

    >>> nk.zeros((1, 4)).softmax(axis=1).forward().numpy().tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    return _handles.same(x, Softmax(x._node, axis))


def log_softmax(x: V, axis: int) -> V:
    """``x - log Σ e ** x`` along ``axis`` (max-shifted, stable); same shape as ``x``. Feeds
    :func:`~neuronika.nn.loss.nll_loss`.

    >>> round(nk.zeros((1, 2)).log_softmax(axis=1).forward().numpy().tolist()[0][0], 4)
    -0.6931
    """
    return _handles.same(x, LogSoftmax(x._node, axis))


def dropout(x: V, p: float) -> V:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` in training;
    the identity in evaluation (``.eval()``); same shape as ``x``.

    >>> nk.ones(3).dropout(0.0).forward().numpy().tolist()
    [1.0, 1.0, 1.0]
    """
    return _handles.same(x, Dropout(x._node, p))
