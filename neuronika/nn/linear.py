"""``Linear``: the affine layer ``y = x·Wᵀ + b``."""

from __future__ import annotations

import math
from typing import Any, cast

from .._args import boolean, integer
from ..autograd import Var, VarDiff
from ..backends import DType
from . import functional as F
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
        return cast(VarDiff, F.linear(input, self.weight, self.bias))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
