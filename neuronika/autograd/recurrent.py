"""Fused recurrent steps: the gate arithmetic of one LSTM step as a single node.

An LSTM step built from primitives is about a dozen nodes (four gate slices, three sigmoids, two
tanh, three products, a sum); over a sequence the per-node cost of the engine dominates the small
element-wise kernels. :class:`LSTMStep` computes the same values in one node and its VJP in
closed form, so a step is: one GEMM for the hidden projection, one add, this node, and two slices.
"""

from __future__ import annotations

from typing import Any

from ._build import check_same_place
from .node import Node


def _sigmoid(xp: Any, x: Any) -> Any:
    return 0.5 * xp.tanh(0.5 * x) + 0.5  # through tanh: no overflow of exp for large |x|


class LSTMStep(Node):
    """From the gate pre-activations ``a = [a_i, a_f, a_g, a_o]`` ``(…, 4H)`` (PyTorch's order)
    and the previous cell ``c`` ``(…, H)``, the new hidden state and cell side by side,
    ``[h' | c']`` ``(…, 2H)``:

    .. code-block:: text

        i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
        c' = f ⊙ c + i ⊙ g;   h' = o ⊙ tanh(c')

    VJP, with ``g_h``, ``g_c`` the two halves of the incoming gradient:
    ``δ = g_c + g_h ⊙ o ⊙ (1 - tanh²c')``; ``∂a_i = δ ⊙ g ⊙ i(1 - i)``, ``∂a_f = δ ⊙ c ⊙ f(1 - f)``,
    ``∂a_g = δ ⊙ i ⊙ (1 - g²)``, ``∂a_o = g_h ⊙ tanh c' ⊙ o(1 - o)``; ``∂c = δ ⊙ f``.
    """

    __slots__ = ("saved",)
    name = "lstm_step"
    reads_inputs, reads_value = (1,), False  # what _backward reads (lifetimes.py)
    saved: Any  # (i, f, g, o, tanh c') of the last forward, for the VJP

    def __init__(self, gates: Node, cell: Node) -> None:
        check_same_place(self.name, (gates, cell))
        hidden = cell.shape[-1] if cell.shape else 0
        if gates.shape[:-1] != cell.shape[:-1] or gates.shape[-1:] != (4 * hidden,):
            raise ValueError(
                f"{self.name}: gates {gates.shape} must be the cell's shape {cell.shape} with 4x its last axis"
            )
        self._setup((gates, cell), cell.shape[:-1] + (2 * hidden,), cell.dtype, cell.backend)
        self.saved = None

    def _forward(self) -> None:
        xp = self.xp
        gates, cell = self.inputs[0].value, self.inputs[1].value
        size = cell.shape[-1]
        squashed = _sigmoid(xp, gates)  # σ of all four; the g slice is replaced by tanh below
        i, f, o = squashed[..., :size], squashed[..., size:2 * size], squashed[..., 3 * size:]
        g = xp.tanh(gates[..., 2 * size:3 * size])
        new_cell = f * cell + i * g
        tanh_cell = xp.tanh(new_cell)
        self.value = xp.concat((o * tanh_cell, new_cell), axis=-1)
        self.saved = (i, f, g, o, tanh_cell)

    def _backward(self) -> None:
        gates, cell = self.inputs
        xp = self.xp
        i, f, g, o, tanh_cell = self.saved
        self.saved = None  # kept for this VJP only: the next forward makes new ones
        size = tanh_cell.shape[-1]
        grad_hidden, grad_cell = self.grad[..., :size], self.grad[..., size:]
        delta = grad_cell + grad_hidden * o * (1.0 - tanh_cell * tanh_cell)
        if gates.requires_grad:
            gates.add_grad(xp.concat((
                delta * g * i * (1.0 - i),
                delta * cell.value * f * (1.0 - f),
                delta * i * (1.0 - g * g),
                grad_hidden * tanh_cell * o * (1.0 - o),
            ), axis=-1))
        if cell.requires_grad:
            cell.add_grad(delta * f)
