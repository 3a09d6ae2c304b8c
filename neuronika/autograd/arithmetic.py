"""Arithmetic ops: ``+ - * /`` with NumPy broadcasting, negation, powers, exp, ln, sqrt, abs.

A broadcast operand's gradient is summed back to its shape (``sum_to``, planned at build time;
the VJPs test the plan inline, so operands of the output's shape cost no extra call).
"""

from __future__ import annotations

import math
import numbers
import struct
from typing import TYPE_CHECKING, Any, overload

from .._args import is_integer, is_real
from ._build import broadcast_shapes, check_same_place, reduction_plan, sum_to
from ..backends import float16
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Operand, V, Var, VarDiff


class Binary(Node):
    """Element-wise op of two operands broadcast against each other."""

    __slots__ = ("lhs_axes", "rhs_axes")

    def __init__(self, lhs: Node, rhs: Node) -> None:
        if lhs.shape == rhs.shape and lhs.backend is rhs.backend and lhs.dtype is rhs.dtype:
            # the common case, with nothing to check or broadcast (what the general path gives)
            self._setup((lhs, rhs), lhs.shape, lhs.dtype, lhs.backend)
            self.lhs_axes = self.rhs_axes = None
            return
        check_same_place(self.name, (lhs, rhs))
        shape = broadcast_shapes(self.name, lhs.shape, rhs.shape)
        self._setup((lhs, rhs), shape, lhs.dtype, lhs.backend)
        self.lhs_axes = reduction_plan(lhs.shape, shape)
        self.rhs_axes = reduction_plan(rhs.shape, shape)


class Add(Binary):
    __slots__ = ()
    name = "add"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fi"

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = lhs.value + rhs.value

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        if lhs.requires_grad:
            lhs.add_grad(self.grad if self.lhs_axes is None else sum_to(self.xp, self.grad, self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            rhs.add_grad(self.grad if self.rhs_axes is None else sum_to(self.xp, self.grad, self.rhs_axes, rhs.shape))


class Sub(Binary):
    __slots__ = ()
    name = "sub"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fi"

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = lhs.value - rhs.value

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        if lhs.requires_grad:
            lhs.add_grad(self.grad if self.lhs_axes is None else sum_to(self.xp, self.grad, self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            grad = -self.grad
            rhs.add_grad(grad if self.rhs_axes is None else sum_to(self.xp, grad, self.rhs_axes, rhs.shape))


class Mul(Binary):
    __slots__ = ()
    name = "mul"
    reads_value = False  # what _backward reads (lifetimes.py)
    kinds = "fi"

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = lhs.value * rhs.value

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        if lhs.requires_grad:
            grad = self.grad * rhs.value
            lhs.add_grad(grad if self.lhs_axes is None else sum_to(self.xp, grad, self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            grad = self.grad * lhs.value
            rhs.add_grad(grad if self.rhs_axes is None else sum_to(self.xp, grad, self.rhs_axes, rhs.shape))


class Div(Binary):
    __slots__ = ()
    name = "div"
    reads_inputs = (1,)  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = lhs.value / rhs.value

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        grad_lhs = self.grad / rhs.value
        if lhs.requires_grad:
            lhs.add_grad(grad_lhs if self.lhs_axes is None else sum_to(self.xp, grad_lhs, self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            # d(a/b)/db = -a/b² = -(a/b)/b
            grad = -grad_lhs * self.value
            rhs.add_grad(grad if self.rhs_axes is None else sum_to(self.xp, grad, self.rhs_axes, rhs.shape))


class Unary(Node):
    """Element-wise op of one operand; the output has the operand's shape."""

    __slots__ = ()

    def __init__(self, operand: Node) -> None:
        self._setup((operand,), operand.shape, operand.dtype, operand.backend)


class Neg(Unary):
    __slots__ = ()
    name = "neg"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)
    kinds = "fi"

    def _forward(self) -> None:
        self.value = -self.inputs[0].value

    def _backward(self) -> None:
        self.inputs[0].add_grad(-self.grad)


class Pow(Unary):
    """``x ** exponent`` for a constant real exponent; d/dx = exponent · x^(exponent-1), and 0 for
    ``exponent == 0`` (everywhere, 0 and ±inf included: PyTorch's rule, not ``0 · x⁻¹ = nan``)."""

    __slots__ = ("exponent",)
    name = "pow"
    reads_value = False  # what _backward reads (lifetimes.py)

    def __init__(self, operand: Node, exponent: float) -> None:
        if not is_real(exponent):
            raise TypeError(f"pow: the exponent must be a real number (int or float), got {type(exponent).__name__}")
        super().__init__(operand)
        self.exponent = int(exponent) if is_integer(exponent) else float(exponent)

    def _forward(self) -> None:
        self.value = self.inputs[0].value ** self.exponent

    def _backward(self) -> None:
        operand = self.inputs[0]
        exponent = self.exponent
        if exponent == 0:
            operand.add_grad(self.xp.zeros_like(self.grad))
            return
        if exponent == 2:
            local = operand.value * 2.0
        elif exponent == 1:
            local = None
        else:
            local = (operand.value ** (exponent - 1)) * float(exponent)
        operand.add_grad(self.grad if local is None else self.grad * local)


class Sqrt(Unary):
    __slots__ = ()
    name = "sqrt"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        self.value = self.xp.sqrt(self.inputs[0].value)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad * 0.5 / self.value)


class Exp(Unary):
    __slots__ = ()
    name = "exp"
    reads_inputs = ()  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        self.value = self.xp.exp(self.inputs[0].value)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad * self.value)


class Ln(Unary):
    __slots__ = ()
    name = "ln"
    reads_value = False  # what _backward reads (lifetimes.py)

    def _forward(self) -> None:
        self.value = self.xp.log(self.inputs[0].value)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad / self.inputs[0].value)


class Abs(Unary):
    """``|x|``; the gradient at 0 is 0 (sign(0) = 0), as PyTorch."""

    __slots__ = ()
    name = "abs"
    kinds = "fi"

    def _forward(self) -> None:
        self.value = self.xp.abs(self.inputs[0].value)

    def _backward(self) -> None:
        self.inputs[0].add_grad(self.grad * self.xp.sign(self.inputs[0].value))


# --- the public functions, bound to Var as methods and operators (variable.py's table) --------
# Typing: a unary op returns its operand's kind (``V``: a VarDiff stays a VarDiff); a binary op
# is differentiable when either operand is (the overloads), as at run time (docs/typing.md).
def operand(var: "Var", other: Any, op: str) -> Node:
    """``var._operand(other, op)`` (a variable's node, or a real number as a constant of
    ``var``'s dtype), refusing a number that float16 cannot hold: one that would round to ±inf
    (``|x| > 65504``) or from non-zero to 0 (``|x| < 3e-8``) would silently turn ``loss / 70000``
    into 0 and its gradient into 0 or NaN (PyTorch computes float16 arithmetic with a Python
    number in float32)."""
    number = isinstance(other, numbers.Real) and not isinstance(other, (bool, _handles.Var))
    if var.dtype is float16 and number and type(other).__name__ != "bool_" and math.isfinite(other) and other != 0:
        try:
            lost = struct.unpack("e", struct.pack("e", float(other)))[0] == 0.0
        except OverflowError:
            lost = True
        if lost:
            raise TypeError(
                f"{op}: the Python number {other!r} does not fit the float16 variable's dtype (it would "
                f"become {'inf' if math.fabs(other) > 1 else '0'}; float16 holds 6e-8..65504); split the "
                f"constant (x / 1000 / 70, not x / 70000) or convert the variable with .astype('float32')"
            )
    return var._operand(other, op)


@overload
def add(lhs: VarDiff, rhs: Operand) -> VarDiff: ...
@overload
def add(lhs: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def add(lhs: Var, rhs: Operand) -> Var: ...
def add(lhs: Var, rhs: Operand) -> Var:
    """``lhs + rhs`` element-wise with broadcasting (``rhs`` a variable or a Python number):
    ``(2, 3) + (3,) → (2, 3)``.

    >>> (nk.ones(3) + 1.0).forward().numpy().tolist()
    [2.0, 2.0, 2.0]
    """
    return _handles.wrap(Add(lhs._node, operand(lhs, rhs, "add")))


def radd(rhs: V, lhs: float) -> V:
    """``lhs + rhs`` with the variable on the right (``2.0 + x``); same shape as ``rhs``.

    >>> (2.0 + nk.ones(2)).forward().numpy().tolist()
    [3.0, 3.0]
    """
    return _handles.same(rhs, Add(operand(rhs, lhs, "add"), rhs._node))


@overload
def sub(lhs: VarDiff, rhs: Operand) -> VarDiff: ...
@overload
def sub(lhs: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def sub(lhs: Var, rhs: Operand) -> Var: ...
def sub(lhs: Var, rhs: Operand) -> Var:
    """``lhs - rhs`` element-wise with broadcasting: ``(2, 3) - (3,) → (2, 3)``.

    >>> (nk.ones(2) - 3.0).forward().numpy().tolist()
    [-2.0, -2.0]
    """
    return _handles.wrap(Sub(lhs._node, operand(lhs, rhs, "sub")))


def rsub(rhs: V, lhs: float) -> V:
    """``lhs - rhs`` with the variable on the right (``1.0 - x``); same shape as ``rhs``.

    >>> (1.0 - nk.ones(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(rhs, Sub(operand(rhs, lhs, "sub"), rhs._node))


@overload
def mul(lhs: VarDiff, rhs: Operand) -> VarDiff: ...
@overload
def mul(lhs: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def mul(lhs: Var, rhs: Operand) -> Var: ...
def mul(lhs: Var, rhs: Operand) -> Var:
    """``lhs * rhs`` element-wise with broadcasting: ``(2, 3) * (2, 1) → (2, 3)``.

    >>> (nk.ones(2) * 3.0).forward().numpy().tolist()
    [3.0, 3.0]
    """
    return _handles.wrap(Mul(lhs._node, operand(lhs, rhs, "mul")))


def rmul(rhs: V, lhs: float) -> V:
    """``lhs * rhs`` with the variable on the right (``2.0 * x``); same shape as ``rhs``.

    >>> (2.0 * nk.ones(2)).forward().numpy().tolist()
    [2.0, 2.0]
    """
    return _handles.same(rhs, Mul(operand(rhs, lhs, "mul"), rhs._node))


@overload
def div(lhs: VarDiff, rhs: Operand) -> VarDiff: ...
@overload
def div(lhs: Var, rhs: VarDiff) -> VarDiff: ...
@overload
def div(lhs: Var, rhs: Operand) -> Var: ...
def div(lhs: Var, rhs: Operand) -> Var:
    """``lhs / rhs`` element-wise with broadcasting: ``(2, 3) / (3,) → (2, 3)``.

    >>> (nk.ones(2) / 4.0).forward().numpy().tolist()
    [0.25, 0.25]
    """
    return _handles.wrap(Div(lhs._node, operand(lhs, rhs, "div")))


def rdiv(rhs: V, lhs: float) -> V:
    """``lhs / rhs`` with the variable on the right (``1.0 / x``); same shape as ``rhs``.

    >>> (1.0 / nk.full(2, 4.0)).forward().numpy().tolist()
    [0.25, 0.25]
    """
    return _handles.same(rhs, Div(operand(rhs, lhs, "div"), rhs._node))


def neg(x: V) -> V:
    """``-x`` element-wise; same shape as ``x``.

    >>> (-nk.ones(2)).forward().numpy().tolist()
    [-1.0, -1.0]
    """
    return _handles.same(x, Neg(x._node))


def pow(x: V, exponent: float) -> V:
    """``x ** exponent`` element-wise, for a constant exponent; same shape as ``x``.

    >>> nk.full(2, 3.0).pow(2).forward().numpy().tolist()
    [9.0, 9.0]
    """
    return _handles.same(x, Pow(x._node, exponent))


def sqrt(x: V) -> V:
    """Square root element-wise; same shape as ``x``.

    >>> nk.full(2, 4.0).sqrt().forward().numpy().tolist()
    [2.0, 2.0]
    """
    return _handles.same(x, Sqrt(x._node))


def exp(x: V) -> V:
    """``e ** x`` element-wise; same shape as ``x``.

    >>> nk.zeros(2).exp().forward().numpy().tolist()
    [1.0, 1.0]
    """
    return _handles.same(x, Exp(x._node))


def ln(x: V) -> V:
    """Natural logarithm element-wise; same shape as ``x``.

    >>> nk.ones(2).ln().forward().numpy().tolist()
    [0.0, 0.0]
    """
    return _handles.same(x, Ln(x._node))


def abs(x: V) -> V:
    """``|x|`` element-wise (gradient ``sign(x)``, 0 at 0); same shape as ``x``.

    >>> nk.full(2, -3.0).abs().forward().numpy().tolist()
    [3.0, 3.0]
    """
    return _handles.same(x, Abs(x._node))
