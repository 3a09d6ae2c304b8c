"""The graph: variables, nodes, the engines and the differentiable ops (one file per family)."""

from .creation import eye, from_ndarray, full, geomspace, linspace, logspace, ones, rand, randn, range, zeros
from .variable import Param, Var, VarDiff, cat, stack
from .contraction import einsum, outer, tensordot
from .linalg import matmul
from .padding import pad
from .rearrange import broadcast_to, flip, permute, repeat_interleave, roll, tile, transpose
from .shape import split, squeeze
from .unary import ceil, cos, erf, expm1, floor, log1p, log2, log10, reciprocal, round, rsqrt, sign, sin, square, tan
from .comparison import logical_and, logical_not, logical_or, logical_xor
from .indexing import one_hot
from .selection import maximum, minimum, where

__all__ = [
    "Param", "Var", "VarDiff", "cat", "stack",
    "einsum", "outer", "tensordot", "matmul", "pad",
    "broadcast_to", "flip", "permute", "repeat_interleave", "roll", "tile", "transpose", "split", "squeeze",
    "ceil", "cos", "erf", "expm1", "floor", "log1p", "log2", "log10", "reciprocal", "round", "rsqrt", "sign",
    "sin", "square", "tan",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "one_hot", "where",
    "eye", "from_ndarray", "full", "geomspace", "linspace", "logspace", "ones", "rand", "randn", "range", "zeros",
]
