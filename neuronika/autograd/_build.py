"""Build-time helpers shared by the op families: operand checks and broadcasting rules.

Everything here runs once, when an op is built; nothing here runs on the forward/backward path
except :func:`sum_to`, which is one reduction kernel (and a reshape) per broadcast operand.
"""

from __future__ import annotations

from typing import Any, Sequence

from .._args import integer
from .node import Node


def check_same_place(op: str, nodes: Sequence[Node]) -> None:
    """All operands of ``op`` must share a device and a dtype."""
    first = nodes[0]
    for other in nodes[1:]:
        if other.backend is not first.backend:
            raise ValueError(
                f"{op}: operands live on different devices, {first.backend.device} and "
                f"{other.backend.device}; move one with .to({str(first.backend.device)!r})"
            )
        if other.dtype != first.dtype:
            raise TypeError(
                f"{op}: operands have different dtypes, {first.dtype} {first.shape} and "
                f"{other.dtype} {other.shape}; neuronika does not promote silently, convert one "
                f"with .astype({str(first.dtype)!r})"
            )


def broadcast_shapes(op: str, lhs: tuple[int, ...], rhs: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of two shapes, or a ValueError naming both."""
    ndim = max(len(lhs), len(rhs))
    left = (1,) * (ndim - len(lhs)) + lhs
    right = (1,) * (ndim - len(rhs)) + rhs
    out = []
    for axis, (a, b) in enumerate(zip(left, right)):
        if a == b or b == 1:
            out.append(a)
        elif a == 1:
            out.append(b)
        else:
            raise ValueError(
                f"{op}: shapes {lhs} and {rhs} do not broadcast (axis {axis - ndim} has sizes "
                f"{a} and {b}; sizes must match or one of them be 1)"
            )
    return tuple(out)


def reduction_plan(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axes over which a gradient of ``out_shape`` sums back to an operand of ``shape``
    (None when no reduction is needed)."""
    lead = len(out_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + axis for axis, size in enumerate(shape) if size == 1 and out_shape[lead + axis] != 1
    )
    return axes or None


def sum_to(xp: Any, grad: Any, axes: tuple[int, ...] | None, shape: tuple[int, ...]) -> Any:
    """Reduce a broadcast gradient back to an operand's shape."""
    if axes is None:
        return grad
    return xp.reshape(xp.sum(grad, axis=axes), shape)


def normalize_axis(op: str, axis: int, ndim: int, extra: int = 0) -> int:
    """A non-negative axis in ``range(ndim + extra)``, or an error naming the op."""
    axis = integer(op, "axis", axis)
    bound = ndim + extra
    if not -bound <= axis < bound:
        raise ValueError(f"{op}: axis {axis} is out of range for a {ndim}-d variable (valid: {-bound}..{bound - 1})")
    return axis % bound


def require_floating(op: str, node: Node) -> None:
    """Differentiable maths needs a floating operand (integer and bool values have no gradient)."""
    if not str(node.dtype).startswith("float"):
        raise TypeError(
            f"{op}: needs a floating-point variable, got {node.dtype} {node.shape}; convert it "
            f"with .astype('float32') (or 'float64')"
        )
