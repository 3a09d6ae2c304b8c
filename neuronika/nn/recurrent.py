"""Recurrent cells: ``LSTMCell`` and ``GRUCell``, one time step each, in PyTorch's gate layout
(so PyTorch weights load unchanged).

Both accept a batch ``(N, input_size)`` with states ``(N, hidden_size)``, or a single sample
``(input_size,)`` with states ``(hidden_size,)``. The gate pre-activations of all gates come from
one fused affine node per weight matrix (one GEMM, the bias added in place); the two are added
before the gates are split off along the last axis (one add per step, not one per gate).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from .._args import integer
from ..autograd import Var, VarDiff
from ..autograd.linalg import affine
from ..autograd.recurrent import LSTMStep
from ..autograd.shape import Chunk
from ..autograd.variable import same, wrap
from ..backends import DType
from .init import new_parameter
from .module import Module

if TYPE_CHECKING:
    from ..autograd.variable import V  # the weights' kind: VarDiff for a layer's parameters


def _affine(input: Var, weight: V, bias: V) -> V:
    """``input·weightᵀ + bias`` for a batch (2-d) or a single sample (1-d), one fused node."""
    return cast("V", wrap(affine(input._node, weight._node, bias._node)))


def lstm_step(gates: V, cell: Var) -> tuple[V, V]:
    """``(h', c')`` of one LSTM step from the gate pre-activations ``(…, 4H)`` and the cell
    ``(…, H)``: one fused node (:class:`~neuronika.autograd.recurrent.LSTMStep`) and two slices."""
    both = same(gates, LSTMStep(gates._node, cell._node))
    hidden, new_cell = _split(both, (cell.shape[-1], cell.shape[-1]))
    return hidden, new_cell


def _split(operand: V, sizes: tuple[int, ...]) -> list[V]:
    """Consecutive slices of ``sizes`` along the last axis, as one group of chunks (their
    gradients are written into one buffer of the operand's shape)."""
    node = operand._node
    lead = tuple(slice(0, d) for d in node.shape[:-1])
    group: list[Any] = [None]
    parts, start = [], 0
    for size in sizes:
        parts.append(same(operand, Chunk(node, lead + (slice(start, start + size),), group)))
        start += size
    return parts


class _Cell(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, dtype: "DType | str | None", device: Any) -> None:
        kind = type(self).__name__
        input_size = integer(kind, "input_size", input_size, minimum=1)
        hidden_size = integer(kind, "hidden_size", hidden_size, minimum=1)
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        rows = self.gates * hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = new_parameter((rows, input_size), bound, dtype, device)
        self.weight_hh = new_parameter((rows, hidden_size), bound, dtype, device)
        self.bias_ih = new_parameter((rows,), bound, dtype, device)
        self.bias_hh = new_parameter((rows,), bound, dtype, device)

    def _check(self, input: Var, states: dict[str, Var]) -> None:
        kind = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{kind}({self.input_size}, {self.hidden_size}): input has shape {input.shape}, "
                f"expected (N, {self.input_size}) or ({self.input_size},)"
            )
        expected = input.shape[:-1] + (self.hidden_size,)
        for name, state in states.items():
            if state.shape != expected:
                raise ValueError(
                    f"{kind}({self.input_size}, {self.hidden_size}): {name} has shape {state.shape}, "
                    f"expected {expected} for an input of shape {input.shape}"
                )

    def _products(self, input: Var, hidden: Var) -> tuple[VarDiff, VarDiff]:
        """``x·W_ihᵀ + b_ih`` and ``h·W_hhᵀ + b_hh``, all gates side by side on the last axis."""
        return _affine(input, self.weight_ih, self.bias_ih), _affine(hidden, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (PyTorch's equations and gate order i, f, g, o):

    .. code-block:: text

        i  = σ(W_ii x + b_ii + W_hi h + b_hi)        (input gate)
        f  = σ(W_if x + b_if + W_hf h + b_hf)        (forget gate)
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)     (cell candidate)
        o  = σ(W_io x + b_io + W_ho h + b_ho)        (output gate)
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    Parameters: ``weight_ih (4·hidden, input)``, ``weight_hh (4·hidden, hidden)``, ``bias_ih``
    and ``bias_hh (4·hidden,)``, rows stacked as [i; f; g; o]; all U(-k, k), k = 1/√hidden.
    (The Rust crate applies tanh to the forget gate and σ to the candidate; this cell does not.)

    ``forward((cell, hidden), input)`` takes states ``(N, hidden)`` and an input
    ``(N, input)`` and returns ``(new_cell, new_hidden)``.

    >>> cell, hidden = nk.nn.LSTMCell(3, 4)((nk.zeros((2, 4)), nk.zeros((2, 4))), nk.ones((2, 3))); cell.shape, hidden.shape
    ((2, 4), (2, 4))
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, *, dtype: "DType | str | None" = None, device: Any = None) -> None:
        super().__init__(input_size, hidden_size, dtype, device)

    def forward(self, state: tuple[Var, Var], input: Var) -> tuple[VarDiff, VarDiff]:
        """One step: ``((N, hidden), (N, hidden)), (N, input) → (new_cell, new_hidden)``."""
        cell, hidden = state
        self._check(input, {"cell": cell, "hidden": hidden})
        from_input, from_hidden = self._products(input, hidden)
        new_hidden, new_cell = lstm_step(from_input + from_hidden, cell)
        return new_cell, new_hidden


class GRUCell(_Cell):
    """One step of a gated recurrent unit (PyTorch's equations and gate order r, z, n):

    .. code-block:: text

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)           (reset gate)
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)           (update gate)
        n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  (candidate)
        h' = (1 - z) ⊙ n + z ⊙ h

    Parameters: ``weight_ih (3·hidden, input)``, ``weight_hh (3·hidden, hidden)``, ``bias_ih``
    and ``bias_hh (3·hidden,)``, rows stacked as [r; z; n]; all U(-k, k), k = 1/√hidden.

    ``forward(hidden, input)`` takes a state ``(N, hidden)`` and an input ``(N, input)`` and
    returns the new hidden state ``(N, hidden)``.

    >>> nk.nn.GRUCell(3, 4)(nk.zeros((2, 4)), nk.ones((2, 3))).shape
    (2, 4)
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, *, dtype: "DType | str | None" = None, device: Any = None) -> None:
        super().__init__(input_size, hidden_size, dtype, device)

    def forward(self, hidden: Var, input: Var) -> VarDiff:
        """One step: ``(N, hidden), (N, input) → new hidden (N, hidden)``."""
        self._check(input, {"hidden": hidden})
        size = self.hidden_size
        from_input, from_hidden = self._products(input, hidden)
        input_rz, input_n = _split(from_input, (2 * size, size))
        hidden_rz, hidden_n = _split(from_hidden, (2 * size, size))
        reset, update = (input_rz + hidden_rz).sigmoid().chunks(input.shape[:-1] + (size,))
        candidate = (input_n + reset * hidden_n).tanh()
        return candidate + update * (hidden - candidate)
