"""``Linear``: the affine layer ``y = x·Wᵀ + b``."""

from __future__ import annotations

import math
from typing import Any, cast

from .._args import boolean, integer
from ..autograd import Var, VarDiff
from ..autograd.linalg import affine
from ..autograd.variable import wrap
from ..backends import DType
from .init import new_parameter
from .module import Module


class Linear(Module):
    """``y = x·Wᵀ + b``.

    Parameters: ``weight`` of shape ``(out_features, in_features)`` and ``bias`` of shape
    ``(out_features,)`` (none with ``bias=False``), both drawn from U(-k, k) with
    ``k = 1/√in_features`` (the crate's and PyTorch's default).

    Shapes: ``(N, in_features) → (N, out_features)``; a single sample ``(in_features,)`` gives
    ``(out_features,)``, and leading batch axes ``(*, in_features)`` are kept.

    >>> nk.nn.Linear(3, 2)(nk.ones((4, 3))).shape
    (4, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        in_features = integer("Linear", "in_features", in_features, minimum=1)
        out_features = integer("Linear", "out_features", out_features, minimum=1)
        bias = boolean("Linear", "bias", bias)
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = new_parameter((out_features, in_features), bound, dtype, device)
        self.bias = new_parameter((out_features,), bound, dtype, device) if bias else None

    def forward(self, input: Var) -> VarDiff:
        """``input · weightᵀ + bias``: ``(*, in_features) → (*, out_features)``."""
        shape = input.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {shape} does not "
                f"end with in_features={self.in_features}; expected (N, {self.in_features})"
            )
        weight, bias = self.weight, self.bias
        if bias is not None and len(shape) <= 2:  # one fused node: a GEMM with the bias added in place
            return cast(VarDiff, wrap(affine(input._node, weight._node, bias._node)))
        if bias is not None:
            flat = wrap(affine(input.reshape(-1, self.in_features)._node, weight._node, bias._node))
            return cast(VarDiff, flat.reshape(shape[:-1] + (self.out_features,)))
        if len(shape) == 2:
            return input.mm_t(weight)
        if len(shape) == 1:
            return weight.mv(input)
        return input.reshape(-1, self.in_features).mm_t(weight).reshape(shape[:-1] + (self.out_features,))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
