"""The graph: variables, nodes, the engines and the differentiable ops (one file per family)."""

from .creation import eye, from_ndarray, full, geomspace, linspace, logspace, ones, rand, randn, range, zeros
from .variable import Param, Var, VarDiff, cat, stack
from .comparison import logical_and, logical_not, logical_or, logical_xor
from .indexing import one_hot
from .selection import maximum, minimum, where

__all__ = [
    "Param", "Var", "VarDiff", "cat", "stack",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "one_hot", "where",
    "eye", "from_ndarray", "full", "geomspace", "linspace", "logspace", "ones", "rand", "randn", "range", "zeros",
]
