"""Reductions: ``sum`` and ``mean`` over the whole variable or over ``axis`` (with ``keepdims``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..backends import int64
from ._build import normalize_axis
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var


class Sum(Node):
    """``Σ x`` over ``axis`` (all axes when None); the VJP broadcasts ``g`` back to ``x``'s shape.
    Integer and bool variables sum to int64 (as PyTorch: a bool sum counts the True values)."""

    __slots__ = ("axis", "keepdims", "kept_shape", "scale", "out_dtype")
    name = "sum"
    kinds = "fib"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        ndim = len(operand.shape)
        if axis is None:
            axes = tuple(range(ndim))
        else:
            raw = (axis,) if isinstance(axis, int) else tuple(axis)
            axes = tuple(sorted({normalize_axis(self.name, a, ndim) for a in raw}))
            if len(axes) != len(raw):
                raise ValueError(f"{self.name}: axis {axis} repeats an axis")
        kept_shape = tuple(1 if i in axes else d for i, d in enumerate(operand.shape))
        shape = kept_shape if keepdims else tuple(d for i, d in enumerate(operand.shape) if i not in axes)
        dtype = operand.dtype if operand.dtype.is_floating else int64
        self._setup((operand,), shape, dtype, operand.backend)
        self.out_dtype = None if dtype is operand.dtype else operand.backend.dtype(dtype)
        self.axis = axes if axis is not None else None
        self.keepdims = keepdims
        self.kept_shape = kept_shape
        self.scale = 1.0

    def _forward(self) -> None:
        value = self.inputs[0].value
        if self.out_dtype is not None:  # bool or int32: counted in int64 (the standard sums no bools)
            value = self.xp.astype(value, self.out_dtype)
        total = self.xp.sum(value, axis=self.axis, keepdims=self.keepdims)
        self.value = total if self.scale == 1.0 else total * self.scale

    def _backward(self) -> None:
        xp, operand = self.xp, self.inputs[0]
        grad = self.grad if self.scale == 1.0 else self.grad * self.scale
        operand.add_grad(xp.broadcast_to(xp.reshape(grad, self.kept_shape), operand.shape))


class Mean(Sum):
    """``Σ x / n`` over ``axis`` (all axes when None), n the number of elements reduced."""

    __slots__ = ()
    name = "mean"
    kinds = "f"

    def __init__(self, operand: Node, axis: "int | tuple[int, ...] | None" = None, keepdims: bool = False) -> None:
        super().__init__(operand, axis, keepdims)
        axes = self.axis if self.axis is not None else range(len(operand.shape))
        count = math.prod(operand.shape[a] for a in axes)
        if count == 0:
            raise ValueError(f"mean: cannot average over an empty axis of a variable of shape {operand.shape}")
        self.scale = 1.0 / count


# --- the public functions, bound to Var as methods (variable.py's table) ----------------------
def sum(x: Var, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Var:
    """Sum over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).

    ``(2, 3).sum(axis=0) → (3,)``; with ``keepdims=True`` → ``(1, 3)``.

    >>> nk.ones((2, 3)).sum(axis=0).forward().numpy().tolist()
    [2.0, 2.0, 2.0]
    """
    return _handles.wrap(Sum(x._node, axis, keepdims))


def mean(x: Var, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Var:
    """Mean over ``axis`` (an int or a tuple; all axes when None, giving a 0-d variable).

    >>> nk.ones((2, 3)).mean().forward().item()
    1.0
    """
    return _handles.wrap(Mean(x._node, axis, keepdims))
