"""Normalization layers with PyTorch's names, parameters, buffers and defaults: ``BatchNorm1d``,
``BatchNorm2d``, ``BatchNorm3d``, ``LayerNorm`` and ``GroupNorm``
(:mod:`neuronika.autograd.normalization` holds the maths)."""

from __future__ import annotations

import weakref
from typing import Any, Sequence

from .. import autograd
from ..autograd import Var
from ..autograd import normalization as F
from ..backends import DType
from .module import Module


def _constant(shape: tuple[int, ...], value: float, dtype: Any, device: Any) -> Any:
    return autograd.full(shape, value, dtype=dtype, device=device)


def _parameter(shape: tuple[int, ...], value: float, dtype: Any, device: Any) -> Any:
    return _constant(shape, value, dtype, device).requires_grad()


def _positive_int(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


class _BatchNorm(Module):
    dims: tuple[int, ...] = ()
    layouts = ""
    running_mean: Any  # buffers: a Var, or None without track_running_stats
    running_var: Any
    num_batches_tracked: Any

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        layer = type(self).__name__
        _positive_int(layer, "num_features", num_features)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{layer}: momentum must be a number in [0, 1] or None (cumulative average), got {momentum!r}")
        super().__init__()
        self.num_features = num_features
        self.eps = F._float(layer, "eps", eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        shape = (num_features,)
        self.weight = _parameter(shape, 1.0, dtype, device) if affine else None
        self.bias = _parameter(shape, 0.0, dtype, device) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", _constant(shape, 0.0, dtype, device))
            self.register_buffer("running_var", _constant(shape, 1.0, dtype, device))
            self.register_buffer("num_batches_tracked", autograd.zeros((), dtype="float64", device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self._nodes: weakref.WeakSet[F.BatchNormalize] = weakref.WeakSet()

    def forward(self, input: Var) -> Var:
        if input.ndim not in self.dims:
            raise ValueError(f"{type(self).__name__}: expected an input of shape {self.layouts}, got {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: the input {input.shape} has {input.shape[1]} channels (axis 1), "
                f"the layer was built for num_features={self.num_features}"
            )
        stats = None
        if self.track_running_stats:
            stats = F.RunningStats(lambda: (self.running_mean, self.running_var, self.num_batches_tracked), self.momentum)
        out, node = F.batch_norm_node(input, stats, self.weight, self.bias, self.training, self.eps)
        self._nodes.add(node)
        return out

    def _set_training(self, mode: bool) -> None:
        super()._set_training(mode)
        for node in list(self._nodes):
            node.set_training(mode)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` per channel (``torch.nn.BatchNorm1d``):
    ``γ·(x - μ)/√(σ² + ε) + β`` with the batch statistics in training — folded into the buffers
    ``running_mean``/``running_var`` (unbiased variance, ``momentum`` 0.1) once per computed
    forward, ``num_batches_tracked`` counting them — and the running ones in evaluation. Graphs
    built before ``train()``/``eval()`` follow the switch.

    >>> nk.nn.BatchNorm1d(3)(nk.rand((4, 3))).shape
    (4, 3)
    """

    dims = (2, 3)
    layouts = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` per channel (``torch.nn.BatchNorm2d``); see
    :class:`BatchNorm1d`.

    >>> nk.nn.BatchNorm2d(3)(nk.rand((2, 3, 4, 4))).shape
    (2, 3, 4, 4)
    """

    dims = (4,)
    layouts = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization of ``(N, C, D, H, W)`` per channel (``torch.nn.BatchNorm3d``); see
    :class:`BatchNorm1d`.

    >>> nk.nn.BatchNorm3d(2)(nk.rand((2, 2, 3, 3, 3))).shape
    (2, 2, 3, 3, 3)
    """

    dims = (5,)
    layouts = "(N, C, D, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` axes (``torch.nn.LayerNorm``):
    ``γ·(x - μ)/√(σ² + ε) + β``, ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape``.

    >>> nk.nn.LayerNorm(8)(nk.rand((2, 5, 8))).shape
    (2, 5, 8)
    """

    def __init__(
        self,
        normalized_shape: "int | Sequence[int]",
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        for size in shape:
            _positive_int("LayerNorm", "normalized_shape", size)
        super().__init__()
        self.normalized_shape = shape
        self.eps = F._float("LayerNorm", "eps", eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = _parameter(shape, 1.0, dtype, device) if elementwise_affine else None
        self.bias = _parameter(shape, 0.0, dtype, device) if elementwise_affine and bias else None

    def forward(self, input: Var) -> Var:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization of ``(N, C, *)`` (``torch.nn.GroupNorm``): ``num_groups`` groups of
    channels standardised per sample, then a per-channel ``weight`` (ones) and ``bias`` (zeros).

    >>> nk.nn.GroupNorm(2, 4)(nk.rand((3, 4, 5))).shape
    (3, 4, 5)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        _positive_int("GroupNorm", "num_groups", num_groups)
        _positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups ({num_groups}) must divide num_channels ({num_channels})")
        super().__init__()
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = F._float("GroupNorm", "eps", eps)
        self.affine = bool(affine)
        self.weight = _parameter((num_channels,), 1.0, dtype, device) if affine else None
        self.bias = _parameter((num_channels,), 0.0, dtype, device) if affine else None

    def forward(self, input: Var) -> Var:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
