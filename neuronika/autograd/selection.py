"""Selection and clipping: ``nk.where``, ``nk.maximum``, ``nk.minimum`` and ``clip`` (``clamp``).

Operands broadcast as in arithmetic (a broadcast operand's gradient is summed back to its
shape). Gradients follow PyTorch: ``where`` routes the gradient to the branch that was chosen;
``maximum``/``minimum`` give it to the larger/smaller operand and split it 0.5/0.5 on ties;
``clip`` passes it where ``min <= x <= max`` (bounds included) and gives 0 elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._build import broadcast_shapes, check_same_place, reduction_plan, sum_to
from .arithmetic import Binary
from ..backends import float32
from .node import Leaf, Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import V, Var


class Where(Node):
    """``cond ? a : b`` element-wise; ``cond`` a bool variable, the three broadcast together."""

    __slots__ = ("lhs_axes", "rhs_axes")
    name = "where"
    kinds = "fib"

    def __init__(self, cond: Node, lhs: Node, rhs: Node) -> None:
        if cond.dtype.kind != "b":
            raise TypeError(
                f"where: the condition must be a bool variable, got {cond.dtype} {cond.shape}; "
                f"compare to get one (x > 0) or convert with .astype('bool')"
            )
        check_same_place(self.name, (lhs, rhs))
        if cond.backend is not lhs.backend:
            raise ValueError(
                f"where: the condition lives on {cond.backend.device}, the values on "
                f"{lhs.backend.device}; move it with .to({str(lhs.backend.device)!r})"
            )
        shape = broadcast_shapes(self.name, broadcast_shapes(self.name, cond.shape, lhs.shape), rhs.shape)
        self._setup((cond, lhs, rhs), shape, lhs.dtype, lhs.backend)
        self.lhs_axes = reduction_plan(lhs.shape, shape)
        self.rhs_axes = reduction_plan(rhs.shape, shape)

    def _forward(self) -> None:
        cond, lhs, rhs = self.inputs
        self.value = self.xp.where(cond.value, lhs.value, rhs.value)

    def _backward(self) -> None:
        xp = self.xp
        cond, lhs, rhs = self.inputs
        # the gradient has the output's shape, so where() gives that shape and sum_to applies
        if lhs.requires_grad:
            lhs.add_grad(sum_to(xp, xp.where(cond.value, self.grad, 0.0), self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            rhs.add_grad(sum_to(xp, xp.where(cond.value, 0.0, self.grad), self.rhs_axes, rhs.shape))


class Maximum(Binary):
    """``max(a, b)`` element-wise; the gradient goes to the larger operand, half to each on ties."""

    __slots__ = ()
    name = "maximum"
    kinds = "fi"

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.xp.maximum(lhs.value, rhs.value)

    def _shares(self, first: Any, second: Any) -> Any:
        """The share of the gradient that ``first`` receives: 1 where it wins, 0.5 on a tie."""
        xp = self.xp
        dtype = self.backend.dtype(self.dtype)
        return xp.astype(first > second, dtype) + xp.astype(first == second, dtype) * 0.5

    def _backward(self) -> None:
        lhs, rhs = self.inputs
        if lhs.requires_grad:
            grad = self.grad * self._shares(lhs.value, rhs.value)
            lhs.add_grad(grad if self.lhs_axes is None else sum_to(self.xp, grad, self.lhs_axes, lhs.shape))
        if rhs.requires_grad:
            grad = self.grad * self._shares(rhs.value, lhs.value)
            rhs.add_grad(grad if self.rhs_axes is None else sum_to(self.xp, grad, self.rhs_axes, rhs.shape))


class Minimum(Maximum):
    """``min(a, b)`` element-wise; the gradient goes to the smaller operand, half to each on ties."""

    __slots__ = ()
    name = "minimum"

    def _forward(self) -> None:
        lhs, rhs = self.inputs
        self.value = self.xp.minimum(lhs.value, rhs.value)

    def _shares(self, first: Any, second: Any) -> Any:
        return Maximum._shares(self, second, first)


class Clip(Node):
    """``min(max(x, low), high)`` with constant bounds (either may be None); when ``low > high``
    every element becomes ``high``, as PyTorch. The gradient passes where ``low <= x <= high``."""

    __slots__ = ("low", "high", "floor")
    name = "clip"
    kinds = "fi"

    def __init__(self, operand: Node, low: "float | None", high: "float | None") -> None:
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        self._setup((operand,), operand.shape, operand.dtype, operand.backend)
        kind = operand.dtype.kind
        for bound in (low, high):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, (int, float))
                or (kind == "i" and not float(bound).is_integer())
            ):
                raise TypeError(
                    f"clip: bounds must be Python numbers (integral for a {operand.dtype} variable), got "
                    f"{bound!r}; for element-wise bounds use nk.maximum / nk.minimum"
                )
        cast = float if kind == "f" else int
        self.low = None if low is None else cast(low)
        self.high = None if high is None else cast(high)
        # the forward's lower bound: with low > high every element becomes high (the gradient,
        # tested against the given bounds, is then 0 everywhere, as PyTorch's)
        self.floor = self.low if self.low is None or self.high is None else (self.low if self.low <= self.high else self.high)

    def _forward(self) -> None:
        self.value = self.xp.clip(self.inputs[0].value, min=self.floor, max=self.high)

    def _backward(self) -> None:
        x = self.inputs[0].value
        inside = None if self.low is None else x >= self.low
        if self.high is not None:
            below = x <= self.high
            inside = below if inside is None else self.xp.logical_and(inside, below)
        self.inputs[0].add_grad(self.xp.where(inside, self.grad, 0.0))


# --- the public functions (module level, as torch.where / maximum / minimum) ------------------
def _nodes(op: str, *operands: Any) -> list[Node]:
    """Variables' nodes, and Python numbers as leaves of the first variable's dtype and place."""
    like = next((o for o in operands if isinstance(o, _handles.Var)), None)
    if like is None:
        raise TypeError(f"{op}: needs at least one neuronika variable among its operands")
    return [o._node if isinstance(o, _handles.Var) else like._operand(o, op) for o in operands]


def where(condition: Var, input: Var | float, other: Var | float) -> Var:
    """``input`` where ``condition`` holds, ``other`` elsewhere, element-wise; the three
    broadcast together (``input``/``other`` may be Python numbers; two numbers give float32). Gradients flow to the branch
    that was chosen. This is how a mask computed in the graph selects: ``x[mask]`` needs a
    mask known when the graph is built.

    >>> x = nk.from_ndarray([-1.0, 2.0, -3.0])
    >>> nk.where(x > 0, x, 0.0).forward().numpy().tolist()
    [0.0, 2.0, 0.0]
    """
    if not isinstance(condition, _handles.Var):
        raise TypeError(f"where: the condition must be a bool variable, got {type(condition).__name__}")
    if not isinstance(input, _handles.Var) and not isinstance(other, _handles.Var):
        # two numbers: float32 values (PyTorch's default dtype) on the condition's device
        cond = condition._node
        input = _handles.Var(Leaf(cond.backend.asarray(float(input), float32), cond.backend, float32))
    lhs, rhs = _nodes("where", input, other)
    return _handles.wrap(Where(condition._node, lhs, rhs))


def maximum(input: Var | float, other: Var | float) -> Var:
    """The larger of ``input`` and ``other`` element-wise, with broadcasting; on ties each
    operand receives half of the gradient (as PyTorch).

    >>> nk.maximum(nk.from_ndarray([1.0, 5.0]), 3.0).forward().numpy().tolist()
    [3.0, 5.0]
    """
    return _handles.wrap(Maximum(*_nodes("maximum", input, other)))


def minimum(input: Var | float, other: Var | float) -> Var:
    """The smaller of ``input`` and ``other`` element-wise, with broadcasting; ties split the
    gradient 0.5/0.5.

    >>> nk.minimum(nk.from_ndarray([1.0, 5.0]), 3.0).forward().numpy().tolist()
    [1.0, 3.0]
    """
    return _handles.wrap(Minimum(*_nodes("minimum", input, other)))


def clip(x: V, min: float | None = None, max: float | None = None) -> V:
    """``x`` limited to ``[min, max]`` (either bound may be None); same shape. The gradient is
    passed where ``min <= x <= max`` and is 0 outside (PyTorch's ``clamp``). Alias ``clamp``.

    >>> nk.from_ndarray([-2.0, 0.5, 3.0]).clip(min=0.0, max=1.0).forward().numpy().tolist()
    [0.0, 0.5, 1.0]
    """
    return _handles.same(x, Clip(x._node, min, max))
