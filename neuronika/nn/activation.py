"""Activation layers and the shape layers ``Identity`` and ``Flatten``, with PyTorch's names
and defaults: each wraps the variable method of the same maths, so ``nn.Sequential(nn.Linear(4,
8), nn.ReLU(), ...)`` reads as in PyTorch. They hold no parameters.

Each calls the variable's method of the same maths (``gelu``, ``silu``, ``elu``, ...), which is
also what :mod:`neuronika.nn.functional` calls. ``inplace=`` is accepted for PyTorch compatibility and has no
effect (graph values are never overwritten).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from . import functional
from .module import Module

if TYPE_CHECKING:
    from ..autograd.variable import V  # each layer returns its input's kind (a VarDiff stays one)

__all__ = [
    "Identity", "Flatten", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "SiLU", "ELU", "Mish",
    "GELU", "SELU", "CELU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softsign", "LogSigmoid", "Softplus",
]


def _check_dim(owner: str, dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{owner}: dim must be an int (the axis to normalise over), got {dim!r}")
    return dim


class Identity(Module):
    """Returns its input unchanged (arguments to the constructor are accepted and ignored, as in
    PyTorch): a placeholder when a layer is switched off, e.g. ``model.fc = nn.Identity()``.

    >>> nk.nn.Identity()(nk.ones((2, 3))).shape
    (2, 3)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        """Return ``input`` unchanged (any shape)."""
        return input


class Flatten(Module):
    """Merges the axes ``start_dim`` to ``end_dim`` (inclusive; negative counts from the end)
    into one: ``(N, C, H, W) → (N, C·H·W)`` with the defaults ``start_dim=1, end_dim=-1``.

    >>> nk.nn.Flatten()(nk.zeros((2, 3, 4, 5))).shape, nk.nn.Flatten(0, 1)(nk.zeros((2, 3, 4))).shape
    ((2, 60), (6, 4))
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _check_dim("Flatten", start_dim)
        self.end_dim = _check_dim("Flatten", end_dim)

    def forward(self, input: V) -> V:
        """Merge axes ``start_dim..end_dim`` of ``input`` into one: ``(N, C, H, W) → (N, C·H·W)`` by default."""
        shape = input.shape
        rank = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-rank <= start < rank and -rank <= end < rank) or start % rank > end % rank:
            raise ValueError(
                f"Flatten(start_dim={start}, end_dim={end}): cannot flatten an input of shape {shape} "
                f"(axes must lie in [-{rank}, {rank - 1}] with start_dim before end_dim)"
            )
        start, end = start % rank, end % rank
        if not shape or start == end:
            return input
        merged = 1
        for size in shape[start : end + 1]:
            merged *= size
        return input.reshape(shape[:start] + (merged,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _Activation(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class ReLU(_Activation):
    """``max(0, x)``, element-wise.

    >>> nk.nn.ReLU()(nk.from_ndarray([-1.0, 2.0])).forward().numpy().tolist()
    [0.0, 2.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.relu()


class LeakyReLU(_Activation):
    """``x`` for ``x >= 0``, ``negative_slope·x`` otherwise (default slope 0.01).

    >>> nk.nn.LeakyReLU(0.5)(nk.from_ndarray([-1.0, 2.0])).forward().numpy().tolist()
    [-0.5, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"LeakyReLU: negative_slope must be a real number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """``tanh(x)``, element-wise.

    >>> nk.nn.Tanh()(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.tanh()


class Sigmoid(Module):
    """``1 / (1 + e^(−x))``, element-wise.

    >>> nk.nn.Sigmoid()(nk.zeros(2)).forward().numpy().tolist()
    [0.5, 0.5]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.sigmoid()


class Softmax(Module):
    """``e^(x_i) / Σ_j e^(x_j)`` along ``dim`` (required: PyTorch's implicit choice of axis is
    deprecated there and refused here).

    >>> nk.nn.Softmax(dim=1)(nk.zeros((1, 2))).forward().numpy().tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None:
            raise TypeError(f"{type(self).__name__}: give the axis to normalise over, e.g. {type(self).__name__}(dim=1) for (N, C) logits")
        self.dim = _check_dim(type(self).__name__, dim)

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``x_i − log Σ_j e^(x_j)`` along ``dim`` (computed stably).

    >>> round(nk.nn.LogSoftmax(dim=1)(nk.zeros((1, 2))).forward().numpy().tolist()[0][0], 4)
    -0.6931
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.log_softmax(self.dim)


class SiLU(_Activation):
    """``x·σ(x)`` (also called swish).

    >>> nk.nn.SiLU()(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.silu()


class ELU(_Activation):
    """``x`` for ``x > 0``, ``α·(e^x − 1)`` otherwise (default α = 1), computed as
    ``relu(x) + α·(e^(x − relu(x)) − 1)`` so that no exponential overflows.

    >>> [round(v, 4) for v in nk.nn.ELU()(nk.from_ndarray([-1.0, 2.0])).forward().numpy().tolist()]
    [-0.6321, 2.0]
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(f"ELU: alpha must be a real number, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.elu(self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Mish(_Activation):
    """``x·tanh(softplus(x))`` (Misra, 2019).

    >>> nk.nn.Mish()(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.mish()


class GELU(Module):
    """``x·Φ(x)`` with Φ the standard normal CDF (through ``erf``); ``approximate="tanh"`` uses
    ``0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))``, as PyTorch.

    >>> nk.nn.GELU()(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.gelu(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SELU(_Activation):
    """``scale·(max(0, x) + min(0, α·(e^x - 1)))`` with PyTorch's α and scale.

    >>> nk.nn.SELU()(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.selu()


class CELU(ELU):
    """``max(0, x) + min(0, α·(e^(x/α) - 1))``.

    >>> nk.nn.CELU(alpha=2.0)(nk.zeros(2)).forward().numpy().tolist()
    [0.0, 0.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.celu(self.alpha)


class Hardtanh(_Activation):
    """``clip(x, min_val, max_val)``.

    >>> nk.nn.Hardtanh()(nk.from_ndarray([-3.0, 0.5])).forward().numpy().tolist()
    [-1.0, 0.5]
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.hardtanh(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(_Activation):
    """``clip(x, 0, 6)``.

    >>> nk.nn.ReLU6()(nk.from_ndarray([-1.0, 8.0])).forward().numpy().tolist()
    [0.0, 6.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.relu6()


class Hardsigmoid(_Activation):
    """``clip(x/6 + 1/2, 0, 1)``.

    >>> nk.nn.Hardsigmoid()(nk.zeros(2)).forward().numpy().tolist()
    [0.5, 0.5]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.hardsigmoid()


class Hardswish(_Activation):
    """``x·hardsigmoid(x)``.

    >>> nk.nn.Hardswish()(nk.from_ndarray([0.0, 3.0])).forward().numpy().tolist()
    [0.0, 3.0]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.hardswish()


class Softsign(Module):
    """``x / (1 + |x|)``.

    >>> nk.nn.Softsign()(nk.from_ndarray([1.0, -3.0])).forward().numpy().tolist()
    [0.5, -0.75]
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.softsign()


class LogSigmoid(Module):
    """``log σ(x)``, computed stably.

    >>> round(nk.nn.LogSigmoid()(nk.zeros(1)).forward().item(), 4)
    -0.6931
    """

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return input.log_sigmoid()


class Softplus(Module):
    """``log(1 + e^x)``, and ``x`` where ``x > threshold`` (PyTorch's rule: ``threshold=1`` turns
    ``2.0`` into ``2.0``, not ``2.127``); PyTorch's default ``beta=1`` only.

    >>> round(nk.nn.Softplus()(nk.zeros(1)).forward().item(), 4)
    0.6931
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        if beta != 1.0:
            raise ValueError(f"Softplus: only beta=1 is provided, got {beta!r}; scale the input and output instead")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise TypeError(f"Softplus: threshold must be a number, got {threshold!r}")
        self.beta, self.threshold = beta, float(threshold)

    def forward(self, input: V) -> V:
        """Apply the activation element-wise to ``input`` (any shape); same shape out (see the class docstring)."""
        return cast("V", functional.softplus(input, threshold=self.threshold))
