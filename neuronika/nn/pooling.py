"""Pooling layers with PyTorch's names, arguments and defaults: ``MaxPool1d/2d/3d``,
``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d/3d`` and ``AdaptiveMaxPool2d``. They hold no
parameters; each call builds one pooling node (:mod:`neuronika.autograd.pooling`)."""

from __future__ import annotations

from typing import Any, cast

from ..autograd import Var
from ..autograd import pooling as F
from .module import Module


def _window(layer: Module, kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple[int, ...], ...]:
    """A pooling layer's checked ``kernel_size``, ``stride`` (the kernel size when None) and
    ``padding``, one int per pooled axis."""
    name, dims = type(layer).__name__, layer.dims
    kernel = F.per_axis(name, "kernel_size", kernel_size, dims, 1)
    strides = kernel if stride is None else F.per_axis(name, "stride", stride, dims, 1)
    return kernel, strides, F.per_axis(name, "padding", padding, dims, 0)


class _MaxPoolNd(Module):
    dims = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = _window(self, kernel_size, stride, padding)
        self.dilation = F.per_axis(type(self).__name__, "dilation", dilation, self.dims, 1)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, input: Var) -> Var:
        """Max-pool ``input`` ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``) into ``(N, C, *out)``."""
        return F.max_pool(input, self.dims, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max pooling over ``(N, C, L)``: ``(N, C, L_out)``, ``L_out = ⌊(L + 2p - d(k-1) - 1)/s⌋ + 1``
    (⌈·⌉ with ``ceil_mode``); ``stride`` defaults to ``kernel_size`` (``torch.nn.MaxPool1d``).

    >>> nk.nn.MaxPool1d(2)(nk.ones((1, 2, 6))).shape
    (1, 2, 3)
    """

    dims = 1


class MaxPool2d(_MaxPoolNd):
    """Max pooling over ``(N, C, H, W)`` → ``(N, C, H_out, W_out)`` (``torch.nn.MaxPool2d``).

    >>> nk.nn.MaxPool2d(2)(nk.rand((8, 3, 28, 28))).shape
    (8, 3, 14, 14)
    """

    dims = 2


class MaxPool3d(_MaxPoolNd):
    """Max pooling over ``(N, C, D, H, W)`` (``torch.nn.MaxPool3d``).

    >>> nk.nn.MaxPool3d(2)(nk.ones((1, 1, 4, 4, 4))).shape
    (1, 1, 2, 2, 2)
    """

    dims = 3


class _AvgPoolNd(Module):
    dims = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = _window(self, kernel_size, stride, padding)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, input: Var) -> Var:
        """Average-pool ``input`` ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``) into ``(N, C, *out)``."""
        return F.avg_pool(input, self.dims, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class AvgPool1d(_AvgPoolNd):
    """Average pooling over ``(N, C, L)`` (``torch.nn.AvgPool1d``).

    >>> nk.nn.AvgPool1d(3, stride=1)(nk.ones((1, 2, 6))).shape
    (1, 2, 4)
    """

    dims = 1


class AvgPool2d(_AvgPoolNd):
    """Average pooling over ``(N, C, H, W)`` (``torch.nn.AvgPool2d``); the zero padding counts in
    the divisor unless ``count_include_pad=False``.

    >>> nk.nn.AvgPool2d(2)(nk.ones((1, 1, 4, 4))).shape
    (1, 1, 2, 2)
    """

    dims = 2


class AvgPool3d(_AvgPoolNd):
    """Average pooling over ``(N, C, D, H, W)`` (``torch.nn.AvgPool3d``).

    >>> nk.nn.AvgPool3d(2)(nk.ones((1, 1, 4, 4, 4))).shape
    (1, 1, 2, 2, 2)
    """

    dims = 3


class _AdaptivePool(Module):
    function: Any = None

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Var) -> Var:
        """Pool ``input`` ``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``) to ``(N, C, *output_size)``."""
        return cast(Var, type(self).function(input, self.output_size))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Adaptive average pooling ``(N, C, L)`` → ``(N, C, output_size)``.

    >>> nk.nn.AdaptiveAvgPool1d(1)(nk.ones((2, 3, 10))).shape
    (2, 3, 1)
    """

    function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Adaptive average pooling ``(N, C, H, W)`` → ``(N, C, *output_size)`` (``None`` keeps an
    axis), as ``torch.nn.AdaptiveAvgPool2d``; ``AdaptiveAvgPool2d(1)`` is global average pooling.

    >>> nk.nn.AdaptiveAvgPool2d(1)(nk.rand((2, 16, 7, 7))).shape
    (2, 16, 1, 1)
    """

    function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Adaptive average pooling ``(N, C, D, H, W)`` → ``(N, C, *output_size)``.

    >>> nk.nn.AdaptiveAvgPool3d(1)(nk.ones((1, 2, 3, 4, 5))).shape
    (1, 2, 1, 1, 1)
    """

    function = staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Adaptive max pooling ``(N, C, H, W)`` → ``(N, C, *output_size)`` (values only).

    >>> nk.nn.AdaptiveMaxPool2d((2, 3))(nk.ones((1, 3, 8, 9))).shape
    (1, 3, 2, 3)
    """

    function = staticmethod(F.adaptive_max_pool2d)
