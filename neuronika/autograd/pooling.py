"""Pooling over 1-, 2- and 3-d signals: max, average and adaptive average/max pooling, with
PyTorch's output sizes, padding, dilation, ``ceil_mode`` and ``count_include_pad`` rules.

The input is ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; only the trailing ``dims`` axes
are pooled. The window kernels live in :mod:`neuronika.kernels.pooling` and are looked up once,
when the op is built, so a backend may override them (``max_pool_forward``, ``window_sum``, ...).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any, Sequence

from ..kernels import pooling as generic
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var

IntOrTuple = "int | Sequence[int]"


def per_axis(op: str, name: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """An int or a tuple of ``dims`` ints, each at least ``minimum``."""
    values = (value,) * dims if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != dims or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {name} must be >= {minimum} on every axis, got {value!r}")
    return values


def _check_input(op: str, input: Node, dims: int) -> tuple[int, ...]:
    if len(input.shape) not in (dims + 1, dims + 2):
        layout = {1: "L", 2: "H, W", 3: "D, H, W"}[dims]
        raise ValueError(
            f"{op}: expected an input of shape (N, C, {layout}) or (C, {layout}), got {input.shape}"
        )
    if input.dtype.name not in ("float16", "float32", "float64"):
        raise TypeError(f"{op}: pooling needs a floating input, got {input.dtype}; convert with .astype('float32')")
    return input.shape[-dims:]


def _plan(
    op: str, input: Node, dims: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> generic.PoolPlan:
    spatial = _check_input(op, input, dims)
    kernel = per_axis(op, "kernel_size", kernel_size, dims, 1)
    strides = kernel if stride is None else per_axis(op, "stride", stride, dims, 1)
    pads = per_axis(op, "padding", padding, dims, 0)
    dilations = per_axis(op, "dilation", dilation, dims, 1)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ValueError(
            f"{op}: padding {pads} must be at most half the kernel size {kernel} on every axis "
            f"(as in PyTorch); pad the input with nk.pad for more"
        )
    plan = generic.make_plan(spatial, kernel, strides, pads, dilations, bool(ceil_mode))
    if any(o < 1 for o in plan.out):
        raise ValueError(
            f"{op}: the window (kernel {kernel}, dilation {dilations}) does not fit the input "
            f"{input.shape} with padding {pads}: the output would be {plan.out}"
        )
    return plan


class MaxPool(Node):
    """The maximum of each window. VJP: the gradient goes to the first maximum of its window
    (PyTorch's rule), summed where windows overlap."""

    __slots__ = ("plan", "winners", "_forward_kernel", "_backward_kernel")
    name = "max_pool"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)

    def __init__(self, input: Node, dims: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> None:
        op = f"max_pool{dims}d"
        self.plan = _plan(op, input, dims, kernel_size, stride, padding, dilation, ceil_mode)
        self._setup((input,), input.shape[:-dims] + self.plan.out, input.dtype, input.backend)
        self.winners = None
        self._forward_kernel = input.backend.kernel("max_pool_forward", generic.max_pool_forward)
        self._backward_kernel = input.backend.kernel("max_pool_backward", generic.max_pool_backward)

    def _forward(self) -> None:
        self.value, self.winners = self._forward_kernel(self.xp, self.inputs[0].value, self.plan)

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            input.add_grad(self._backward_kernel(self.xp, self.grad, self.winners, self.plan, input.shape))
        self.winners = None  # kept for this VJP only: the next forward finds them anew


class AvgPool(Node):
    """The mean of each window: window sums divided by PyTorch's divisor (the window clipped to
    the padded input with ``count_include_pad``, to the input itself without)."""

    __slots__ = ("plan", "divisor", "_forward_kernel", "_backward_kernel")
    name = "avg_pool"
    reads_inputs, reads_value = (), False  # what _backward reads (lifetimes.py)

    def __init__(self, input: Node, dims: int, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool, count_include_pad: bool) -> None:
        op = f"avg_pool{dims}d"
        self.plan = _plan(op, input, dims, kernel_size, stride, padding, 1, ceil_mode)
        self._setup((input,), input.shape[:-dims] + self.plan.out, input.dtype, input.backend)
        counts = generic.average_divisor(input.shape[-dims:], self.plan, bool(count_include_pad))
        flat = [float(math.prod(c)) for c in itertools.product(*counts)]
        backend = input.backend
        self.divisor = backend.xp.reshape(backend.asarray(flat, input.dtype), self.plan.out)
        self._forward_kernel = backend.kernel("window_sum", generic.window_sum)
        self._backward_kernel = backend.kernel("window_sum_backward", generic.window_sum_backward)

    def _forward(self) -> None:
        self.value = self._forward_kernel(self.xp, self.inputs[0].value, self.plan) / self.divisor

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            input.add_grad(self._backward_kernel(self.xp, self.grad / self.divisor, self.plan, input.shape))


def _output_size(op: str, output_size: Any, dims: int) -> tuple[int, ...]:
    values = (output_size,) * dims if isinstance(output_size, int) and not isinstance(output_size, bool) else output_size
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != dims or any(v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1) for v in values):
        raise ValueError(f"{op}: output_size must be a positive int or a tuple of {dims} of them (None keeps an axis), got {output_size!r}")
    return values


class AdaptiveAvgPool(Node):
    """Average over PyTorch's adaptive windows ``[⌊i·n/o⌋, ⌈(i+1)·n/o⌉)``, one axis at a time as
    a product with an ``(o, n)`` averaging matrix (exact; its transpose is the VJP)."""

    __slots__ = ("matrices",)
    name = "adaptive_avg_pool"

    def __init__(self, input: Node, dims: int, output_size: Any) -> None:
        op = f"adaptive_avg_pool{dims}d"
        spatial = _check_input(op, input, dims)
        out = tuple(n if o is None else o for o, n in zip(_output_size(op, output_size, dims), spatial))
        self._setup((input,), input.shape[:-dims] + out, input.dtype, input.backend)
        self.matrices = []
        for n, o in zip(spatial, out):
            rows = [[0.0] * n for _ in range(o)]
            for i, (start, end) in enumerate(generic.adaptive_windows(n, o)):
                for j in range(start, end):
                    rows[i][j] = 1.0 / (end - start)
            self.matrices.append(input.backend.asarray(rows, input.dtype))

    def _apply(self, value: Any, matrices: Sequence[Any], sizes: Sequence[int]) -> Any:
        # axis by axis: (lead, n_axis, rest) -> matrix @ that -> (lead, o_axis, rest)
        xp = self.xp
        dims = len(matrices)
        shape = list(value.shape)
        first = len(shape) - dims
        for axis, (matrix, size) in enumerate(zip(matrices, sizes)):
            at = first + axis
            lead, rest = math.prod(shape[:at]), math.prod(shape[at + 1:])
            value = xp.matmul(matrix, xp.reshape(value, (lead, shape[at], rest)))
            shape[at] = size
            value = xp.reshape(value, tuple(shape))
        return value

    def _forward(self) -> None:
        self.value = self._apply(self.inputs[0].value, self.matrices, [m.shape[0] for m in self.matrices])

    def _backward(self) -> None:
        input = self.inputs[0]
        if input.requires_grad:
            transposed = [self.xp.matrix_transpose(m) for m in self.matrices]
            input.add_grad(self._apply(self.grad, transposed, [m.shape[1] for m in self.matrices]))


# --- the public functions (nk.nn.functional forms; the layers of nn/pooling.py call them) -----
def max_pool(input: Var, dims: int, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1, ceil_mode: bool = False) -> Var:
    """Max pooling over the last ``dims`` axes (see :func:`max_pool2d`)."""
    return _handles.wrap(MaxPool(input._node, dims, kernel_size, stride, padding, dilation, ceil_mode))


def max_pool1d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Var:  # type: ignore[valid-type]
    """Max pooling of ``(N, C, L)`` (or ``(C, L)``) as ``torch.nn.functional.max_pool1d``.

    >>> nk.max_pool1d(nk.from_ndarray([[[1.0, 3.0, 2.0, 4.0]]]), 2).forward().numpy().tolist()
    [[[3.0, 4.0]]]
    """
    return max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Var:  # type: ignore[valid-type]
    """Max pooling of ``(N, C, H, W)`` (or ``(C, H, W)``) as ``torch.nn.functional.max_pool2d``:
    output ``(N, C, H_out, W_out)`` with ``H_out = ⌊(H + 2p - d(k - 1) - 1) / s⌋ + 1`` (⌈·⌉ with
    ``ceil_mode``); ``stride`` defaults to ``kernel_size``; padding counts as ``-inf``.

    >>> nk.max_pool2d(nk.rand((1, 1, 4, 4)), 2).shape
    (1, 1, 2, 2)
    """
    return max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Var:  # type: ignore[valid-type]
    """Max pooling of ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) as ``torch.nn.functional.max_pool3d``.

    >>> nk.max_pool3d(nk.ones((1, 1, 4, 4, 4)), 2).shape
    (1, 1, 2, 2, 2)
    """
    return max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool(input: Var, dims: int, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Var:
    """Average pooling over the last ``dims`` axes (see :func:`avg_pool2d`)."""
    return _handles.wrap(AvgPool(input._node, dims, kernel_size, stride, padding, ceil_mode, count_include_pad))


def avg_pool1d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Var:  # type: ignore[valid-type]
    """Average pooling of ``(N, C, L)`` (or ``(C, L)``) as ``torch.nn.functional.avg_pool1d``.

    >>> nk.avg_pool1d(nk.from_ndarray([[[1.0, 3.0, 2.0, 4.0]]]), 2).forward().numpy().tolist()
    [[[2.0, 3.0]]]
    """
    return avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Var:  # type: ignore[valid-type]
    """Average pooling of ``(N, C, H, W)`` (or ``(C, H, W)``) as ``torch.nn.functional.avg_pool2d``:
    each window's sum divided by its size (the zero padding counted when ``count_include_pad``).

    >>> nk.avg_pool2d(nk.ones((1, 1, 4, 4)), 2).forward().numpy().tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    return avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool3d(input: Var, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Var:  # type: ignore[valid-type]
    """Average pooling of ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) as ``torch.nn.functional.avg_pool3d``.

    >>> nk.avg_pool3d(nk.ones((1, 1, 4, 4, 4)), 2).shape
    (1, 1, 2, 2, 2)
    """
    return avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad)


def adaptive_avg_pool1d(input: Var, output_size: "int | Sequence[int | None]") -> Var:
    """Adaptive average pooling of ``(N, C, L)`` to ``(N, C, output_size)``.

    >>> nk.adaptive_avg_pool1d(nk.ones((2, 3, 10)), 4).shape
    (2, 3, 4)
    """
    return _handles.wrap(AdaptiveAvgPool(input._node, 1, output_size))


def adaptive_avg_pool2d(input: Var, output_size: "int | Sequence[int | None]") -> Var:
    """Adaptive average pooling of ``(N, C, H, W)`` to ``(N, C, *output_size)`` (``None`` keeps
    an axis), as ``torch.nn.functional.adaptive_avg_pool2d``.

    >>> nk.adaptive_avg_pool2d(nk.ones((2, 3, 5, 7)), 1).shape
    (2, 3, 1, 1)
    """
    return _handles.wrap(AdaptiveAvgPool(input._node, 2, output_size))


def adaptive_avg_pool3d(input: Var, output_size: "int | Sequence[int | None]") -> Var:
    """Adaptive average pooling of ``(N, C, D, H, W)`` to ``(N, C, *output_size)``.

    >>> nk.adaptive_avg_pool3d(nk.ones((1, 2, 5, 6, 7)), (1, 2, 3)).shape
    (1, 2, 1, 2, 3)
    """
    return _handles.wrap(AdaptiveAvgPool(input._node, 3, output_size))


def adaptive_max_pool2d(input: Var, output_size: "int | Sequence[int | None]") -> Var:
    """Adaptive max pooling of ``(N, C, H, W)`` to ``(N, C, *output_size)``, as
    ``torch.nn.functional.adaptive_max_pool2d`` (values only). Windows are PyTorch's
    ``[⌊i·n/o⌋, ⌈(i+1)·n/o⌉)``; where they are all of one size and evenly spaced (``n``
    divisible by ``o``) this is max pooling with kernel = stride = ``n / o``.

    >>> nk.adaptive_max_pool2d(nk.ones((1, 3, 8, 8)), (2, 2)).shape
    (1, 3, 2, 2)
    """
    op = "adaptive_max_pool2d"
    node = input._node
    spatial = _check_input(op, node, 2)
    out = tuple(n if o is None else o for o, n in zip(_output_size(op, output_size, 2), spatial))
    if any(n % o for n, o in zip(spatial, out)):
        return _handles.wrap(AdaptiveMaxPool(node, out))
    kernel = tuple(n // o for n, o in zip(spatial, out))
    return _handles.wrap(MaxPool(node, 2, kernel, kernel, 0, 1, False))


class AdaptiveMaxPool(Node):
    """Adaptive max pooling with uneven windows: each axis's windows are gathered (``take``) to
    the longest window's length, padded by repeating the window's last element (which never
    displaces the first maximum), then max-pooled with kernel = stride = that length. The VJP
    scatters back through the transposed one-hot gather matrices."""

    __slots__ = ("indices", "gathers", "pool", "winners")
    name = "adaptive_max_pool"

    def __init__(self, input: Node, out: tuple[int, ...]) -> None:
        dims = len(out)
        spatial = input.shape[-dims:]
        self._setup((input,), input.shape[:-dims] + out, input.dtype, input.backend)
        backend = input.backend
        xp = backend.xp
        self.indices, self.gathers, lengths = [], [], []
        for n, o in zip(spatial, out):
            windows = generic.adaptive_windows(n, o)
            length = max(end - start for start, end in windows)
            index = [min(start + j, end - 1) for start, end in windows for j in range(length)]
            one_hot = [[1.0 if i == k else 0.0 for k in range(n)] for i in index]
            self.indices.append(xp.asarray(index, dtype=xp.int64, device=backend.native_device))
            self.gathers.append(backend.asarray(one_hot, input.dtype))
            lengths.append(length)
        kernel = tuple(lengths)
        gathered = tuple(o * k for o, k in zip(out, kernel))
        self.pool = generic.make_plan(gathered, kernel, kernel, (0,) * dims, (1,) * dims, False)
        self.winners = None

    def _forward(self) -> None:
        xp = self.xp
        value = self.inputs[0].value
        first = value.ndim - len(self.indices)
        for axis, index in enumerate(self.indices):
            value = xp.take(value, index, axis=first + axis)
        self.value, self.winners = generic.max_pool_forward(xp, value, self.pool)

    def _backward(self) -> None:
        input = self.inputs[0]
        if not input.requires_grad:
            return
        xp = self.xp
        dims = len(self.indices)
        gathered_shape = input.shape[:-dims] + tuple(g.shape[0] for g in self.gathers)
        grad = generic.max_pool_backward(xp, self.grad, self.winners, self.pool, gathered_shape)
        shape = list(grad.shape)
        first = len(shape) - dims
        for axis, gather in enumerate(self.gathers):
            at = first + axis
            lead, rest = math.prod(shape[:at]), math.prod(shape[at + 1:])
            grad = xp.matmul(xp.matrix_transpose(gather), xp.reshape(grad, (lead, shape[at], rest)))
            shape[at] = gather.shape[1]
            grad = xp.reshape(grad, tuple(shape))
        input.add_grad(grad)
