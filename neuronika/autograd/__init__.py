"""The graph: variables, nodes, the engines and the differentiable ops (one file per family)."""

from .creation import eye, from_ndarray, full, geomspace, linspace, logspace, ones, rand, randn, range, zeros
from .variable import Param, Var, VarDiff, cat, stack

__all__ = [
    "Param", "Var", "VarDiff", "cat", "stack",
    "eye", "from_ndarray", "full", "geomspace", "linspace", "logspace", "ones", "rand", "randn", "range", "zeros",
]
