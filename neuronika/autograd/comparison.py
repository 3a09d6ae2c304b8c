"""Comparisons and logic: ``< <= > >= == !=`` giving bool variables, ``& | ^ ~`` on bool
variables (``nk.logical_and/or/xor/not``), and the reductions ``any`` / ``all``.

None of these is differentiable: their outputs are bool variables, which end a gradient's path
(a comparison of differentiable variables is an ordinary, non-differentiable ``Var``). Operands
broadcast as in arithmetic and must share a device and a dtype (compare an int variable with a
float one after ``.astype``); Python scalars take the variable's dtype when that loses nothing.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from ..backends import bool_
from .arithmetic import Binary
from .node import Node, raise_kind
from .reduction import plan_axes
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var


class Compare(Binary):
    """An element-wise test of two broadcast operands; a bool output, no gradient.

    Subclasses name the Array API function (``xp.less`` ...) they apply."""

    __slots__ = ("function",)
    kinds = "fi"
    xp_name = "?"

    def __init__(self, lhs: Node, rhs: Node) -> None:
        for operand in (lhs, rhs):  # before the dtype-match check, whose hint would mislead here
            if operand.dtype.kind not in self.kinds:
                raise_kind(self, operand)
        super().__init__(lhs, rhs)
        self.dtype = bool_
        self.differentiable = self.requires_grad = False
        self.function = getattr(self.xp, self.xp_name)

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.function(lhs.value, rhs.value)


class Less(Compare):
    __slots__ = ()
    name, xp_name = "lt", "less"


class LessEqual(Compare):
    __slots__ = ()
    name, xp_name = "le", "less_equal"


class Greater(Compare):
    __slots__ = ()
    name, xp_name = "gt", "greater"


class GreaterEqual(Compare):
    __slots__ = ()
    name, xp_name = "ge", "greater_equal"


class Equal(Compare):
    __slots__ = ()
    name, xp_name, kinds = "eq", "equal", "fib"


class NotEqual(Compare):
    __slots__ = ()
    name, xp_name, kinds = "ne", "not_equal", "fib"


class LogicalAnd(Compare):
    __slots__ = ()
    name, xp_name, kinds = "logical_and", "logical_and", "b"


class LogicalOr(Compare):
    __slots__ = ()
    name, xp_name, kinds = "logical_or", "logical_or", "b"


class LogicalXor(Compare):
    __slots__ = ()
    name, xp_name, kinds = "logical_xor", "logical_xor", "b"


class LogicalNot(Node):
    __slots__ = ()
    name = "logical_not"
    kinds = "b"

    def __init__(self, operand: Node) -> None:
        self._setup((operand,), operand.shape, bool_, operand.backend)

    def _forward(self) -> None:
        self.value = self.xp.logical_not(self.inputs[0].value)


class Any_(Node):
    """Whether any element over ``axis`` is non-zero (True); a bool output."""

    __slots__ = ("axis", "keepdims")
    name = "any"
    kinds = "fib"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        axes, _, shape = plan_axes(self.name, operand.shape, axis, keepdims)
        self._setup((operand,), shape, bool_, operand.backend)
        self.differentiable = self.requires_grad = False
        self.axis, self.keepdims = axes, keepdims

    def _forward(self) -> None:
        self.value = self.xp.any(self.inputs[0].value, axis=self.axis, keepdims=self.keepdims)


class All_(Any_):
    """Whether every element over ``axis`` is non-zero (True); a bool output."""

    __slots__ = ()
    name = "all"

    def _forward(self) -> None:
        self.value = self.xp.all(self.inputs[0].value, axis=self.axis, keepdims=self.keepdims)


# --- the public functions, bound to Var as operators and methods (variable.py's table) --------
def _compare(op: type[Compare], lhs: Var, rhs: Any) -> Var:
    return _handles.Var(op(_handles.node_of(lhs, op.name), lhs._operand(rhs, op.name)))


def lt(x: Var, other: Var | float) -> Var:
    """``x < other`` element-wise with broadcasting, a bool variable (``other`` a variable or a
    Python number).

    >>> (nk.from_ndarray([1.0, 2.0, 3.0]) < 2.5).forward().numpy().tolist()
    [True, True, False]
    """
    return _compare(Less, x, other)


def le(x: Var, other: Var | float) -> Var:
    """``x <= other`` element-wise with broadcasting, a bool variable."""
    return _compare(LessEqual, x, other)


def gt(x: Var, other: Var | float) -> Var:
    """``x > other`` element-wise with broadcasting, a bool variable."""
    return _compare(Greater, x, other)


def ge(x: Var, other: Var | float) -> Var:
    """``x >= other`` element-wise with broadcasting, a bool variable."""
    return _compare(GreaterEqual, x, other)


def eq(x: Var, other: Any) -> Any:
    """``x == other`` element-wise with broadcasting, a bool variable (any dtype, bool too).

    Comparing with something that is neither a variable nor a number gives ``NotImplemented``,
    so Python falls back to identity (``x == None`` is False, as for a PyTorch tensor).

    >>> (nk.from_ndarray([1.0, 2.0]) == 2.0).forward().numpy().tolist()
    [False, True]
    """
    if not isinstance(other, (_handles.Var, numbers.Number)) and type(other).__name__ != "bool_":
        return NotImplemented
    return _compare(Equal, x, other)


def ne(x: Var, other: Any) -> Any:
    """``x != other`` element-wise with broadcasting, a bool variable."""
    if not isinstance(other, (_handles.Var, numbers.Number)) and type(other).__name__ != "bool_":
        return NotImplemented
    return _compare(NotEqual, x, other)


def logical_and(x: Var, other: Var | bool) -> Var:
    """``x & other`` for bool variables (or True/False), element-wise with broadcasting.

    >>> a, b = nk.from_ndarray([1.0, 2.0]) > 1.5, nk.from_ndarray([3.0, 4.0]) > 3.5
    >>> (a & b).forward().numpy().tolist(), nk.logical_or(a, b).forward().numpy().tolist()
    ([False, True], [False, True])
    """
    return _compare(LogicalAnd, x, other)


def logical_or(x: Var, other: Var | bool) -> Var:
    """``x | other`` for bool variables (or True/False), element-wise with broadcasting.

    >>> a, b = nk.from_ndarray([1.0, 2.0]) > 1.5, nk.from_ndarray([3.0, 4.0]) > 3.5
    >>> nk.logical_or(a, b).forward().numpy().tolist()
    [False, True]
    """
    return _compare(LogicalOr, x, other)


def logical_xor(x: Var, other: Var | bool) -> Var:
    """``x ^ other`` for bool variables (or True/False), element-wise with broadcasting.

    >>> a, b = nk.from_ndarray([1.0, 2.0]) > 1.5, nk.from_ndarray([4.0, 4.0]) > 3.5
    >>> nk.logical_xor(a, b).forward().numpy().tolist()
    [True, False]
    """
    return _compare(LogicalXor, x, other)


def logical_not(x: Var) -> Var:
    """``~x`` for a bool variable; same shape.

    >>> (~(nk.from_ndarray([1.0, 2.0]) > 1.5)).forward().numpy().tolist()
    [True, False]
    """
    return _handles.Var(LogicalNot(_handles.node_of(x, "logical_not")))


def rlogical_and(x: Var, other: bool) -> Var:
    """``other & x`` with a Python bool on the left."""
    return logical_and(x, other)


def rlogical_or(x: Var, other: bool) -> Var:
    """``other | x`` with a Python bool on the left."""
    return logical_or(x, other)


def rlogical_xor(x: Var, other: bool) -> Var:
    """``other ^ x`` with a Python bool on the left."""
    return logical_xor(x, other)


def any(x: Var, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Var:
    """Whether any element over ``axis`` (all axes when None) is True / non-zero: a bool variable,
    ``(2, 3).any(axis=1) → (2,)``.

    >>> (nk.from_ndarray([1.0, 5.0]) > 4.0).any().forward().item()
    True
    """
    return _handles.Var(Any_(x._node, axis, keepdims))


def all(x: Var, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Var:
    """Whether every element over ``axis`` (all axes when None) is True / non-zero: a bool variable.

    >>> (nk.from_ndarray([1.0, 5.0]) > 4.0).all().forward().item()
    False
    """
    return _handles.Var(All_(x._node, axis, keepdims))


def truth_value(x: Var) -> bool:
    """``bool(x)`` raises: a variable's value is not known when the graph is built."""
    raise TypeError(
        f"the truth value of a variable of shape {x.shape} is not known while the graph is built; "
        f"compute it first: bool(x.any().forward().item()) or bool(x.all().forward().item())"
    )
