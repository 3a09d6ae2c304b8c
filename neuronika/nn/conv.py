"""Convolution layers: ``Conv1d``, ``Conv2d``, ``Conv3d`` (with ``groups=``) and the crate's
``GroupedConv1d``, ``GroupedConv2d``, ``GroupedConv3d``.

Each layer calls :func:`neuronika.convolution` (a cross-correlation, as PyTorch's ``convNd``) and
adds a bias per output channel.
"""

from __future__ import annotations

import math
from typing import Any, Sequence, Union

from .._args import boolean, integer, is_integer, real
from ..autograd import Var, VarDiff
from ..autograd.convolution import convolution
from ..backends import DType
from ..kernels.padding import PADDING_MODES
from .init import new_parameter
from .module import Module

#: an int, or one int per spatial dimension
IntOrTuple = Union[int, Sequence[int]]


def _tuple(layer: str, name: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    values = (value,) * dims if is_integer(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != dims or any(not is_integer(v) or v < minimum for v in values):
        raise ValueError(
            f"{layer}: {name} must be an int >= {minimum} or a tuple of {dims} of them, got {value!r}"
        )
    return tuple(int(v) for v in values)


class _ConvNd(Module):
    dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        padding: IntOrTuple = 0,
        padding_mode: str = "zero",
        stride: IntOrTuple = 1,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        *,
        padding_value: float = 0.0,
        bias: bool = True,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        layer = type(self).__name__
        in_channels = integer(layer, "in_channels", in_channels, minimum=1)
        out_channels = integer(layer, "out_channels", out_channels, minimum=1)
        groups = integer(layer, "groups", groups, minimum=1)
        bias = boolean(layer, "bias", bias)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{layer}: groups={groups} must divide both in_channels ({in_channels}) and "
                f"out_channels ({out_channels})"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{layer}: padding_mode must be one of {', '.join(PADDING_MODES)}; got {padding_mode!r}")
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(layer, "kernel_size", kernel_size, self.dims, 1)
        self.padding = _tuple(layer, "padding", padding, self.dims, 0)
        self.stride = _tuple(layer, "stride", stride, self.dims, 1)
        self.dilation = _tuple(layer, "dilation", dilation, self.dims, 1)
        self.padding_mode = padding_mode
        self.padding_value = real(layer, "padding_value", padding_value)
        self.groups = groups
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = new_parameter((out_channels, in_channels // groups) + self.kernel_size, bound, dtype, device)
        self.bias = new_parameter((out_channels,), bound, dtype, device) if bias else None

    def forward(self, input: Var) -> VarDiff:
        """The convolution of ``input`` with ``weight``, plus ``bias`` per output channel:
        ``(N, in_channels, *size) → (N, out_channels, *out)``."""
        if input.ndim != self.dims + 2 or input.shape[1] != self.in_channels:
            spatial = {1: "L", 2: "H, W", 3: "D, H, W"}[self.dims]
            raise ValueError(
                f"{type(self).__name__}({self.in_channels}, {self.out_channels}): input has shape "
                f"{input.shape}, expected (N, {self.in_channels}, {spatial})"
            )
        output = convolution(
            input, self.weight, self.stride, self.dilation, self.padding, self.padding_mode, self.groups,
            padding_value=self.padding_value,
        )
        if self.bias is None:
            return output
        return output + self.bias.reshape((1, self.out_channels) + (1,) * self.dims)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if any(self.padding):
            text += f", padding={self.padding}, padding_mode={self.padding_mode!r}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """A 1-d convolution (cross-correlation) of ``(N, C, L)`` signals.

    Input ``(N, in_channels, L)``, output ``(N, out_channels, L_out)`` with, per spatial
    dimension, ``out = (size + 2·padding - dilation·(kernel_size - 1) - 1) // stride + 1``.
    Parameters: ``weight (out_channels, in_channels / groups, kernel)`` and ``bias
    (out_channels,)``, both U(-k, k) with ``k = 1/√(in_channels / groups · prod(kernel_size))``
    (PyTorch's default). ``kernel_size``, ``padding``, ``stride`` and ``dilation`` are an int or
    a tuple with one entry per spatial dimension; ``padding_mode`` is ``"zero"``, ``"constant"``
    (fills with ``padding_value``), ``"reflective"`` or ``"replicative"``. Output channel ``o``
    sees only the input channels of its group ``o // (out_channels / groups)``.

    >>> nk.nn.Conv1d(2, 4, kernel_size=3)(nk.ones((1, 2, 10))).shape
    (1, 4, 8)
    """
    dims = 1


class Conv2d(_ConvNd):
    """A 2-d convolution (cross-correlation) of ``(N, C, H, W)`` images.

    Input ``(N, in_channels, H, W)``, output ``(N, out_channels, H_out, W_out)`` with, per spatial
    dimension, ``out = (size + 2·padding - dilation·(kernel_size - 1) - 1) // stride + 1``.
    Parameters: ``weight (out_channels, in_channels / groups, kH, kW)`` and ``bias
    (out_channels,)``, both U(-k, k) with ``k = 1/√(in_channels / groups · prod(kernel_size))``
    (PyTorch's default). ``kernel_size``, ``padding``, ``stride`` and ``dilation`` are an int or
    a tuple with one entry per spatial dimension; ``padding_mode`` is ``"zero"``, ``"constant"``
    (fills with ``padding_value``), ``"reflective"`` or ``"replicative"``. Output channel ``o``
    sees only the input channels of its group ``o // (out_channels / groups)``.

    >>> nk.nn.Conv2d(1, 4, kernel_size=3, padding=1)(nk.ones((2, 1, 8, 8))).shape
    (2, 4, 8, 8)
    """
    dims = 2


class Conv3d(_ConvNd):
    """A 3-d convolution (cross-correlation) of ``(N, C, D, H, W)`` volumes.

    Input ``(N, in_channels, D, H, W)``, output ``(N, out_channels, D_out, H_out, W_out)`` with, per spatial
    dimension, ``out = (size + 2·padding - dilation·(kernel_size - 1) - 1) // stride + 1``.
    Parameters: ``weight (out_channels, in_channels / groups, kD, kH, kW)`` and ``bias
    (out_channels,)``, both U(-k, k) with ``k = 1/√(in_channels / groups · prod(kernel_size))``
    (PyTorch's default). ``kernel_size``, ``padding``, ``stride`` and ``dilation`` are an int or
    a tuple with one entry per spatial dimension; ``padding_mode`` is ``"zero"``, ``"constant"``
    (fills with ``padding_value``), ``"reflective"`` or ``"replicative"``. Output channel ``o``
    sees only the input channels of its group ``o // (out_channels / groups)``.

    >>> nk.nn.Conv3d(1, 2, kernel_size=(1, 2, 2))(nk.ones((1, 1, 3, 4, 4))).shape
    (1, 2, 3, 3, 3)
    """
    dims = 3


class _Grouped(_ConvNd):
    """The crate's grouped convolutions: ``groups`` comes right after ``kernel_size`` and is
    required; otherwise the same layer as the ``ConvNd`` it derives from."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        groups: int,
        padding: IntOrTuple = 0,
        padding_mode: str = "zero",
        stride: IntOrTuple = 1,
        dilation: IntOrTuple = 1,
        **options: Any,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding, padding_mode, stride, dilation, groups, **options)


class GroupedConv1d(_Grouped, Conv1d):
    """:class:`Conv1d` with ``groups`` (required) right after ``kernel_size``, as the crate.

    >>> nk.nn.GroupedConv1d(4, 4, 3, 2)(nk.ones((1, 4, 6))).shape
    (1, 4, 4)
    """


class GroupedConv2d(_Grouped, Conv2d):
    """:class:`Conv2d` with ``groups`` (required) right after ``kernel_size``, as the crate.

    >>> nk.nn.GroupedConv2d(4, 2, 3, 2).weight.shape
    (2, 2, 3, 3)
    """


class GroupedConv3d(_Grouped, Conv3d):
    """:class:`Conv3d` with ``groups`` (required) right after ``kernel_size``, as the crate.

    >>> nk.nn.GroupedConv3d(2, 2, 1, 2)(nk.ones((1, 2, 2, 2, 2))).shape
    (1, 2, 2, 2, 2)
    """
