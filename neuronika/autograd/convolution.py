"""Convolution: ``nk.convolution`` for 1-, 2- and 3-d signals, with groups, stride, dilation and
four padding modes, differentiable with respect to both the input and the kernel.

The op looks its kernels up once, when it is built (``backend.kernel(name, generic)``), so a
backend's override (NumPy: strided windows + BLAS; CuPy: im2col + cuBLAS) replaces the generic
Array API kernel of ``neuronika/kernels`` without any branching here.
"""

from __future__ import annotations

from typing import Any, Sequence, overload

from .._args import is_integer
from ..kernels import convolution as generic
from ..kernels import padding as generic_padding
from ._build import check_same_place
from .node import Node
from .variable import Var, VarDiff, wrap


def _per_dim(op: str, name: str, value: "int | Sequence[int]", ndim: int, minimum: int) -> tuple[int, ...]:
    """An int or a tuple with one int per spatial dimension, each at least ``minimum``."""
    values: tuple[Any, ...] = (value,) * ndim if is_integer(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) != ndim or not all(is_integer(v) for v in values):
        raise TypeError(
            f"{op}: {name} must be an int or a tuple of {ndim} ints (one per spatial dimension), got {value!r}"
        )
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {name} must be >= {minimum} in every dimension, got {value!r}")
    return tuple(int(v) for v in values)


class Convolution(Node):
    """``y = pad(x) ⋆ w``, the cross-correlation of PyTorch's ``conv1d/2d/3d``.

    Shapes: input ``x (N, C_in, *S)``, kernel ``w (C_out, C_in / groups, *k)``, output
    ``(N, C_out, *out)`` with ``out_d = (S_d + 2·padding_d - dilation_d·(k_d - 1) - 1) // stride_d + 1``.
    Output channel ``o`` sees only the input channels of its group, ``o // (C_out / groups)``.

    VJPs: ``∂L/∂x = pad_backward(conv_backward_input(g, w))`` (a transposed convolution, then the
    padding's adjoint, which folds border gradients back for reflective/replicative padding) and
    ``∂L/∂w = conv_backward_weight(g, pad(x))``.
    """

    __slots__ = (
        "stride",
        "dilation",
        "padding",
        "padding_mode",
        "padding_value",
        "groups",
        "padded_shape",
        "padded",
        "_pad",
        "_pad_backward",
        "_conv_forward",
        "_conv_backward_input",
        "_conv_backward_weight",
    )
    name = "convolution"
    reads_inputs, reads_value = (1,), False  # what _backward reads (lifetimes.py)

    def __init__(
        self,
        input: Node,
        kernel: Node,
        stride: "int | Sequence[int]" = 1,
        dilation: "int | Sequence[int]" = 1,
        padding: "int | Sequence[int]" = 0,
        padding_mode: str = "zero",
        groups: int = 1,
        padding_value: float = 0.0,
    ) -> None:
        op = self.name
        check_same_place(op, (input, kernel))
        if len(input.shape) not in (3, 4, 5):
            raise ValueError(
                f"{op}: the input must be (N, C_in, *spatial) with 1, 2 or 3 spatial dimensions, "
                f"got shape {input.shape}"
            )
        if len(kernel.shape) != len(input.shape):
            raise ValueError(
                f"{op}: the kernel must be (C_out, C_in/groups, *k) with as many dimensions as the "
                f"input {input.shape}, got shape {kernel.shape}"
            )
        ndim = len(input.shape) - 2
        self.stride = _per_dim(op, "stride", stride, ndim, 1)
        self.dilation = _per_dim(op, "dilation", dilation, ndim, 1)
        self.padding = _per_dim(op, "padding", padding, ndim, 0)
        if padding_mode not in generic_padding.PADDING_MODES:
            raise ValueError(
                f"{op}: unknown padding_mode {padding_mode!r}; use one of {', '.join(generic_padding.PADDING_MODES)}"
            )
        if not is_integer(groups) or groups < 1:
            raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
        batch, channels, spatial = input.shape[0], input.shape[1], input.shape[2:]
        out_channels, kernel_size = kernel.shape[0], kernel.shape[2:]
        if channels % groups or out_channels % groups:
            raise ValueError(
                f"{op}: groups={groups} must divide both the input channels ({channels}, input "
                f"{input.shape}) and the output channels ({out_channels}, kernel {kernel.shape})"
            )
        if kernel.shape[1] * groups != channels:
            raise ValueError(
                f"{op}: channel mismatch: the input {input.shape} has {channels} channels, so with "
                f"groups={groups} the kernel needs shape (C_out, {channels // groups}, *k), got {kernel.shape}"
            )
        if padding_mode == "reflective" and any(p >= s for p, s in zip(self.padding, spatial)):
            raise ValueError(
                f"{op}: reflective padding {self.padding} must be smaller than the input's spatial "
                f"size {spatial} in every dimension (input {input.shape}); use replicative or zero padding"
            )
        padded = tuple(s + 2 * p for s, p in zip(spatial, self.padding))
        reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, self.dilation))
        if any(r > s for r, s in zip(reach, padded)):
            raise ValueError(
                f"{op}: the kernel {kernel.shape} (spatial extent {reach} with dilation "
                f"{self.dilation}) is larger than the padded input {padded} (input {input.shape}, "
                f"padding {self.padding}); use a smaller kernel or dilation, or more padding"
            )
        out = generic.output_size(padded, kernel_size, self.stride, self.dilation)
        self._setup((input, kernel), (batch, out_channels) + out, input.dtype, input.backend)
        self.padding_mode = padding_mode
        self.padding_value = float(padding_value)
        self.groups = groups
        self.padded_shape = (batch, channels) + padded
        self.padded = None
        backend = input.backend
        self._pad = backend.kernel("pad", generic_padding.pad)
        self._pad_backward = backend.kernel("pad_backward", generic_padding.pad_backward)
        self._conv_forward = backend.kernel("conv_forward", generic.conv_forward)
        self._conv_backward_input = backend.kernel("conv_backward_input", generic.conv_backward_input)
        self._conv_backward_weight = backend.kernel("conv_backward_weight", generic.conv_backward_weight)

    def _forward(self) -> None:
        input, kernel = self.inputs
        xp = self.xp
        if any(self.padding):
            self.padded = self._pad(xp, input.value, self.padding, self.padding_mode, self.padding_value)
        else:
            self.padded = input.value
        self.value = self._conv_forward(xp, self.padded, kernel.value, self.stride, self.dilation, self.groups)

    def _backward(self) -> None:
        input, kernel = self.inputs
        xp = self.xp
        padded, self.padded = self.padded, None  # kept for this VJP only: the next forward pads anew
        if input.requires_grad:
            grad = self._conv_backward_input(
                xp, self.grad, kernel.value, self.padded_shape, self.stride, self.dilation, self.groups
            )
            if any(self.padding):
                grad = self._pad_backward(xp, grad, self.padding, self.padding_mode)
            input.add_grad(grad)
        if kernel.requires_grad:
            kernel.add_grad(
                self._conv_backward_weight(
                    xp, self.grad, padded, kernel.shape, self.stride, self.dilation, self.groups
                )
            )


@overload
def convolution(
    input: VarDiff,
    kernel: Var,
    stride: "int | Sequence[int]" = 1,
    dilation: "int | Sequence[int]" = 1,
    padding: "int | Sequence[int]" = 0,
    padding_mode: str = "zero",
    groups: int = 1,
    padding_value: float = 0.0,
) -> VarDiff: ...
@overload
def convolution(
    input: Var,
    kernel: VarDiff,
    stride: "int | Sequence[int]" = 1,
    dilation: "int | Sequence[int]" = 1,
    padding: "int | Sequence[int]" = 0,
    padding_mode: str = "zero",
    groups: int = 1,
    padding_value: float = 0.0,
) -> VarDiff: ...
@overload
def convolution(
    input: Var,
    kernel: Var,
    stride: "int | Sequence[int]" = 1,
    dilation: "int | Sequence[int]" = 1,
    padding: "int | Sequence[int]" = 0,
    padding_mode: str = "zero",
    groups: int = 1,
    padding_value: float = 0.0,
) -> Var: ...
def convolution(
    input: Var,
    kernel: Var,
    stride: "int | Sequence[int]" = 1,
    dilation: "int | Sequence[int]" = 1,
    padding: "int | Sequence[int]" = 0,
    padding_mode: str = "zero",
    groups: int = 1,
    padding_value: float = 0.0,
) -> Var:
    """The N-d convolution (cross-correlation) of ``input`` with ``kernel``, 1-, 2- or 3-d.

    ``input``: ``(N, C_in, *S)``; ``kernel``: ``(C_out, C_in / groups, *k)``; result
    ``(N, C_out, *out)`` with ``out_d = (S_d + 2·padding_d - dilation_d·(k_d - 1) - 1) // stride_d + 1``::

        y[n, o, *p] = Σ_c Σ_j  w[o, c, *j] · pad(x)[n, (o // (C_out/groups))·C_in/groups + c, *(p·stride + j·dilation)]

    ``stride``, ``dilation`` and ``padding`` are an int or a tuple with one entry per spatial
    dimension; ``padding`` is added on both sides. ``padding_mode``: ``"zero"``, ``"constant"``
    (filled with ``padding_value``), ``"reflective"`` (mirror without repeating the edge:
    ``2 1 [0 1 2 3 4] 3 2``; needs padding < size) or ``"replicative"`` (the edge repeated:
    ``0 0 [0 1 2 3 4] 4 4``). Either operand may be differentiable; the result is a ``VarDiff``
    when one is. Shapes, groups, padding, devices and dtypes are checked here, when the op is built.

    >>> nk.convolution(nk.ones((1, 1, 5)), nk.ones((1, 1, 3)), padding=1).forward().numpy().tolist()
    [[[2.0, 3.0, 3.0, 3.0, 2.0]]]
    """
    for role, operand in (("input", input), ("kernel", kernel)):
        if not isinstance(operand, Var):
            raise TypeError(
                f"convolution: the {role} must be a neuronika variable, got {type(operand).__name__}; "
                f"wrap arrays with nk.from_ndarray"
            )
    return wrap(
        Convolution(input._node, kernel._node, stride, dilation, padding, padding_mode, groups, padding_value)
    )


__all__ = ["Convolution", "convolution"]
