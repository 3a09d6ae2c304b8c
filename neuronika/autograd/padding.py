"""``nk.pad``: the convolution's padding kernels (``neuronika/kernels/padding.py``) as a public,
differentiable op, with NumPy's ``pad_width`` (one ``(before, after)`` pair per axis).

The forward pass is the backend's ``pad`` kernel and the VJP its ``pad_backward`` (the adjoint,
which folds the gradient of reflected or replicated borders back onto the elements they copy);
both are looked up once, when the op is built, so a backend's override replaces them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .._args import integer, is_integer, real
from ..kernels import padding as generic
from ._build import require_floating
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var


def pad_pairs(pad_width: Any, shape: tuple[int, ...]) -> list[tuple[int, int]]:
    """NumPy's ``pad_width`` forms as one ``(before, after)`` pair per axis: an int (every side),
    ``(n,)``, ``(before, after)`` (every axis alike), or one pair per axis."""
    ndim = len(shape)
    if is_integer(pad_width):
        pairs = [(pad_width, pad_width)] * ndim
    else:
        entries = list(pad_width)
        if all(is_integer(e) for e in entries) and len(entries) in (1, 2):
            pairs = [(entries[0], entries[-1])] * ndim
        elif len(entries) in (1, ndim) and all(not is_integer(e) and len(e) == 2 for e in entries):
            pairs = [(e[0], e[1]) for e in entries] * (ndim if len(entries) == 1 else 1)
        else:
            raise ValueError(
                f"pad: pad_width {pad_width!r} does not fit a {ndim}-d variable of shape {shape}; give an "
                f"int, a (before, after) pair for every axis, or {ndim} such pairs (one per axis)"
            )
    return [(integer("pad", "every width", b, 0), integer("pad", "every width", a, 0)) for b, a in pairs]


class Pad(Node):
    """``x`` padded by ``(before, after)`` on each axis; shape ``s + before + after`` per axis."""

    __slots__ = ("padding", "mode", "fill", "forward_kernel", "backward_kernel")
    name = "pad"

    def __init__(self, operand: Node, pad_width: Any, mode: str = "zero", value: float = 0.0) -> None:
        require_floating(self.name, operand)
        if mode not in generic.PADDING_MODES:
            raise ValueError(f"pad: unknown mode {mode!r}; use one of {', '.join(generic.PADDING_MODES)}")
        value = real(self.name, "value", value)
        if mode != "constant" and value != 0.0:
            raise ValueError(f"pad: value={value} is only used by mode='constant', not {mode!r}")
        shape = operand.shape
        pairs = pad_pairs(pad_width, shape)
        for axis, ((before, after), size) in enumerate(zip(pairs, shape)):
            if mode == "reflective" and (before >= size or after >= size) and (before or after):
                raise ValueError(
                    f"pad: reflective padding {(before, after)} on axis {axis} must be smaller than its "
                    f"size {size} (shape {shape}); use mode='replicative' or 'zero'"
                )
            if mode == "replicative" and size == 0 and (before or after):
                raise ValueError(f"pad: cannot replicate the edge of the empty axis {axis} of {shape}")
        first = next((i for i, pair in enumerate(pairs) if pair != (0, 0)), len(pairs))
        self._setup(
            (operand,), tuple(s + b + a for s, (b, a) in zip(shape, pairs)), operand.dtype, operand.backend
        )
        self.padding = tuple(pairs[first:])  # the kernels pad trailing axes: from the first padded on
        self.mode, self.fill = mode, float(value)
        self.forward_kernel = self.backend.kernel("pad", generic.pad)
        self.backward_kernel = self.backend.kernel("pad_backward", generic.pad_backward)

    def _forward(self) -> None:
        operand = self.inputs[0].value
        self.value = self.forward_kernel(self.xp, operand, self.padding, self.mode, self.fill) if self.padding else operand

    def _backward(self) -> None:
        grad = self.backward_kernel(self.xp, self.grad, self.padding, self.mode) if self.padding else self.grad
        self.inputs[0].add_grad(grad)


def pad(x: Var, pad_width: int | Sequence[Any], mode: str = "zero", value: float = 0.0) -> Var:
    """``x`` padded on each axis by ``pad_width``, in NumPy's ``numpy.pad`` format: one
    ``(before, after)`` pair per axis (or an int, or one pair, for every axis).

    Modes (with ``x = 0 1 2 3 4``, two on each side): ``"zero"`` ``0 0 [0 1 2 3 4] 0 0``,
    ``"constant"`` (``value``), ``"reflective"`` ``2 1 [0 1 2 3 4] 3 2`` (widths smaller than the
    axis), ``"replicative"`` ``0 0 [0 1 2 3 4] 4 4``. PyTorch's ``F.pad(x, (l, r, t, b))`` (last
    axis first) is ``nk.pad(x, ((0, 0),) * (x.ndim - 2) + ((t, b), (l, r)))``; its modes
    ``"reflect"`` and ``"replicate"`` are ``"reflective"`` and ``"replicative"`` here.

    >>> nk.pad(nk.ones((1, 2)), ((0, 0), (1, 2))).forward().numpy().tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    return _handles.wrap(Pad(_handles.node_of(x, "pad"), pad_width, mode, value))
