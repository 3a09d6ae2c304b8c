"""Recurrent layers over whole sequences with PyTorch's arguments, parameter names, shapes and
return values: ``RNN``, ``LSTM`` and ``GRU``.

The sequence is unrolled into the graph when the layer is called: for each layer and direction,
the input projections of all time steps come from one GEMM (``x·W_ihᵀ + b_ih`` on the
``(T·N, C)`` sequence), then each step adds its hidden projection and applies the cell's gates.
A graph built once replays the whole sequence (assign the next batch of the same shape).
"""

from __future__ import annotations

import math
from typing import Any, Sequence, cast

from .. import autograd
from ..autograd import Var
from ..backends import DType
from .dropout import Dropout
from .init import new_parameter
from .module import Module
from .recurrent import _affine, _split, lstm_step

State = Any


class _RNNBase(Module):
    gates = 1
    mode = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        layer = type(self).__name__
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{layer}: dropout must be a probability in [0, 1], got {dropout!r}")
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self._between_layers = Dropout(self.dropout) if self.dropout > 0 and num_layers > 1 else None
        directions = 2 if bidirectional else 1
        rows, bound = self.gates * hidden_size, 1.0 / math.sqrt(hidden_size)
        self._names: list[tuple[str, ...]] = []
        for index in range(num_layers):
            width = input_size if index == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = tuple(f"{kind}_l{index}{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                setattr(self, names[0], new_parameter((rows, width), bound, dtype, device))
                setattr(self, names[1], new_parameter((rows, hidden_size), bound, dtype, device))
                if bias:
                    setattr(self, names[2], new_parameter((rows,), bound, dtype, device))
                    setattr(self, names[3], new_parameter((rows,), bound, dtype, device))
                self._names.append(names)

    # --- one direction of one layer ------------------------------------------------------------
    def _weights(self, index: int) -> tuple[Var, Var, Var | None, Var | None]:
        names = self._names[index]
        if self.bias:
            return getattr(self, names[0]), getattr(self, names[1]), getattr(self, names[2]), getattr(self, names[3])
        return getattr(self, names[0]), getattr(self, names[1]), None, None

    def _project(self, input: Var, weight: Var, bias: Var | None) -> Var:
        if bias is None:
            return input.mm_t(weight)
        return _affine(input, weight, bias)

    def _step(self, gates_from_input: Var, state: State, weight_hh: Var, bias_hh: Var | None) -> State:
        """One time step: the new state from this step's input projection and the previous
        state (every concrete layer, RNN / LSTM / GRU, defines its own equations here)."""
        raise NotImplementedError(f"{type(self).__name__} must define _step (the equations of one time step)")

    def _hidden(self, state: State) -> Var:
        return cast(Var, state)

    def _run(self, steps: Var, batch: int, time: int, state: State, index: int, reverse: bool) -> tuple[list[Var], State]:
        """``steps``: the layer input as ``(T·N, C)`` (time-major). Returns the hidden output of
        every step (in time order) and the final state."""
        weight_ih, weight_hh, bias_ih, bias_hh = self._weights(index)
        projected = self._project(steps, weight_ih, bias_ih)  # (T·N, G·H): one GEMM for all steps
        per_step = projected.chunks((batch, projected.shape[1]))
        outputs: list[Var] = [None] * time  # type: ignore[list-item]
        order = range(time - 1, -1, -1) if reverse else range(time)
        for t in order:
            state = self._step(per_step[t], state, weight_hh, bias_hh)
            outputs[t] = self._hidden(state)
        return outputs, state

    # --- the whole stack -------------------------------------------------------------------------
    def _split_state(self, state: Var | None, name: str, batch: int, unbatched: bool, like: Var) -> list[Var]:
        directions = 2 if self.bidirectional else 1
        count = self.num_layers * directions
        expected = (count, self.hidden_size) if unbatched else (count, batch, self.hidden_size)
        if state is None:
            return [autograd.zeros((batch, self.hidden_size), dtype=like.dtype, device=like.device) for _ in range(count)]
        if tuple(state.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: {name} has shape {state.shape}, expected {expected} "
                f"(num_layers * num_directions, {'' if unbatched else 'N, '}hidden_size)"
            )
        return [chunk.reshape(batch, self.hidden_size) for chunk in state.chunks((1,) + expected[1:])]

    def _initial(self, hx: Any, batch: int, unbatched: bool, input: Var) -> list[State]:
        return self._split_state(hx, "h_0", batch, unbatched, input)

    def _final(self, states: list[State], unbatched: bool) -> Any:
        return self._join([self._hidden(s) for s in states], unbatched)

    def _join(self, parts: Sequence[Var], unbatched: bool) -> Var:
        joined = autograd.stack(list(parts), axis=0)
        return joined.reshape(len(parts), self.hidden_size) if unbatched else joined

    def forward(self, input: Var, hx: Any = None) -> tuple[Var, Any]:
        """Run the sequence ``input`` ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``, or unbatched ``(L, H_in)``) from the initial state ``hx`` (zeros when None); returns ``(output, final state)`` as the class docstring says."""
        layer = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(
                f"{layer}: input has shape {input.shape}, expected {layout} or unbatched (L, H_in) "
                f"with H_in = input_size = {self.input_size}"
            )
        unbatched = input.ndim == 2
        if unbatched:
            time, batch = input.shape[0], 1
        elif self.batch_first:
            batch, time = input.shape[0], input.shape[1]
        else:
            time, batch = input.shape[0], input.shape[1]
        # time-major (T·N, C) rows: a batch-first input is split into steps and re-stacked
        if self.batch_first and not unbatched:
            steps = input.chunks((batch, 1, self.input_size))
            sequence = autograd.stack([s.reshape(batch, self.input_size) for s in steps], axis=0)
        else:
            sequence = input
        rows = sequence.reshape(time * batch, self.input_size)
        initial = self._initial(hx, batch, unbatched, input)
        directions = 2 if self.bidirectional else 1
        finals: list[State] = []
        outputs: list[Var] = []
        for layer_index in range(self.num_layers):
            per_direction = []
            for direction in range(directions):
                index = layer_index * directions + direction
                out, final = self._run(rows, batch, time, initial[index], index, reverse=direction == 1)
                per_direction.append(out)
                finals.append(final)
            if directions == 2:
                outputs = [autograd.cat([f, b], axis=1) for f, b in zip(*per_direction)]
            else:
                outputs = per_direction[0]
            width = self.hidden_size * directions
            rows = autograd.stack(outputs, axis=0).reshape(time * batch, width)
            if self._between_layers is not None and layer_index < self.num_layers - 1:
                rows = self._between_layers(rows)
        width = self.hidden_size * directions
        if unbatched:
            output = autograd.stack(outputs, axis=0).reshape(time, width)
        else:
            output = autograd.stack(outputs, axis=1 if self.batch_first else 0)
        return output, self._final(finals, unbatched)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(_RNNBase):
    """An Elman RNN over a sequence (``torch.nn.RNN``): ``h_t = act(x_t W_ihᵀ + b_ih + h_{t-1}
    W_hhᵀ + b_hh)`` with ``act`` tanh (``nonlinearity="tanh"``) or ReLU.

    ``forward(input, h_0=None)``: input ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``,
    or unbatched ``(L, H_in)``), ``h_0`` ``(num_layers·D, N, H)`` (zeros when omitted). Returns
    ``(output, h_n)``: ``output`` ``(L, N, D·H)`` (the last layer's hidden state at every step,
    both directions side by side) and ``h_n`` ``(num_layers·D, N, H)``. Parameters
    ``weight_ih_l{k}[_reverse]`` ``(H, H_in or D·H)``, ``weight_hh_l{k}[_reverse]`` ``(H, H)``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` ``(H,)``, all U(-1/√H, 1/√H).

    >>> out, h = nk.nn.RNN(4, 8)(nk.rand((5, 2, 4)))
    >>> out.shape, h.shape
    ((5, 2, 8), (1, 2, 8))
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype: "DType | str | None" = None, device: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype=dtype, device=device)
        self.nonlinearity = nonlinearity

    def _step(self, gates_from_input: Var, state: Var, weight_hh: Var, bias_hh: Var | None) -> Var:
        total = gates_from_input + self._project(state, weight_hh, bias_hh)
        return total.tanh() if self.nonlinearity == "tanh" else total.relu()


class LSTM(_RNNBase):
    """A long short-term memory network over a sequence (``torch.nn.LSTM``), the equations of
    :class:`~neuronika.nn.LSTMCell` at every step (gate order i, f, g, o).

    ``forward(input, (h_0, c_0)=None)``: input ``(L, N, H_in)`` (``(N, L, H_in)`` with
    ``batch_first``, or unbatched ``(L, H_in)``), states ``(num_layers·D, N, H)``. Returns
    ``(output, (h_n, c_n))`` with ``output`` ``(L, N, D·H)``. Parameters as :class:`RNN` with
    ``4·H`` rows.

    >>> out, (h, c) = nk.nn.LSTM(4, 8, num_layers=2)(nk.rand((5, 2, 4)))
    >>> out.shape, h.shape, c.shape
    ((5, 2, 8), (2, 2, 8), (2, 2, 8))
    """

    gates = 4

    def _step(self, gates_from_input: Var, state: tuple[Var, Var], weight_hh: Var, bias_hh: Var | None) -> tuple[Var, Var]:
        hidden, cell = state
        total = gates_from_input + self._project(hidden, weight_hh, bias_hh)
        return lstm_step(total, cell)

    def _hidden(self, state: tuple[Var, Var]) -> Var:
        return state[0]

    def _initial(self, hx: Any, batch: int, unbatched: bool, input: Var) -> list[tuple[Var, Var]]:
        if hx is None:
            h0 = c0 = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h0, c0 = hx
        else:
            raise TypeError("LSTM: the initial state must be a tuple (h_0, c_0) or None")
        return list(zip(self._split_state(h0, "h_0", batch, unbatched, input), self._split_state(c0, "c_0", batch, unbatched, input)))

    def _final(self, states: list[tuple[Var, Var]], unbatched: bool) -> tuple[Var, Var]:
        return self._join([h for h, _ in states], unbatched), self._join([c for _, c in states], unbatched)


class GRU(_RNNBase):
    """A gated recurrent unit network over a sequence (``torch.nn.GRU``), the equations of
    :class:`~neuronika.nn.GRUCell` at every step (gate order r, z, n).

    ``forward(input, h_0=None)`` and its result as :class:`RNN`; parameters with ``3·H`` rows.

    >>> out, h = nk.nn.GRU(4, 8, batch_first=True, bidirectional=True)(nk.rand((2, 5, 4)))
    >>> out.shape, h.shape
    ((2, 5, 16), (2, 2, 8))
    """

    gates = 3

    def _step(self, gates_from_input: Var, hidden: Var, weight_hh: Var, bias_hh: Var | None) -> Var:
        size = self.hidden_size
        from_hidden = self._project(hidden, weight_hh, bias_hh)
        input_rz, input_n = _split(gates_from_input, (2 * size, size))
        hidden_rz, hidden_n = _split(from_hidden, (2 * size, size))
        reset, update = (input_rz + hidden_rz).sigmoid().chunks(hidden.shape)
        candidate = (input_n + reset * hidden_n).tanh()
        return candidate + update * (hidden - candidate)
