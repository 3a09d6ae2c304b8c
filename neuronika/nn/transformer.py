"""``TransformerEncoderLayer`` and ``TransformerEncoder`` with PyTorch's sub-module names
(``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``; ``layers.0...``), arguments and
maths, so a ``torch.nn.TransformerEncoder``'s ``state_dict()`` loads unchanged."""

from __future__ import annotations

import copy
import weakref
from typing import Any, Callable

from .._args import boolean, integer
from ..autograd import Var
from . import functional as F
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "clone_module"]

_ACTIVATIONS: dict[str, Callable[[Var], Var]] = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One encoder block: self-attention then a feed-forward network, each with dropout, a
    residual connection and layer normalization.

    ``norm_first=False`` (post-norm, the default): ``x = norm1(x + sa(x))``,
    ``x = norm2(x + ff(x))``; ``norm_first=True``: ``x = x + sa(norm1(x))``,
    ``x = x + ff(norm2(x))``, with ``sa(x) = dropout1(self_attn(x, x, x)[0])`` and
    ``ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))``.

    ``src (S, N, E)`` (``(N, S, E)`` with ``batch_first=True``; ``(S, E)`` unbatched) → same
    shape. ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: masks as
    :class:`MultiheadAttention` (bool ``True`` = not attended; floats added).
    ``activation`` is ``"relu"``, ``"gelu"`` or a callable on a variable.

    >>> layer = nk.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(nk.randn((5, 3, 8))).shape
    (5, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: "str | Callable[[Var], Var]" = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        owner = "TransformerEncoderLayer"
        dim_feedforward = integer(owner, "dim_feedforward", dim_feedforward, 1)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"{owner}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(f"{owner}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
        self.activation = activation
        self.batch_first = boolean(owner, "batch_first", batch_first)
        self.norm_first = boolean(owner, "norm_first", norm_first)
        places = {"dtype": dtype, "device": device}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **places)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **places)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **places)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **places)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **places)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)

    def forward(self, src: Var, src_mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool = False) -> Var:
        """The block applied to ``src`` (``(S, N, E)``, ``(N, S, E)`` batch first, or ``(S, E)``)."""
        x = src
        if self.norm_first:
            x = x + self._attention_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward_block(self.norm2(x))
        x = self.norm1(x + self._attention_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward_block(x))

    def _attention_block(self, x: Var, mask: Any, padding: Any, is_causal: bool) -> Var:
        output, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False, attn_mask=mask, is_causal=is_causal)
        return self.dropout1(output)

    def _feed_forward_block(self, x: Var) -> Var:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (``layers``, a ModuleList: each starts
    with the given layer's weights, then trains on its own), applied in turn, then ``norm`` if
    given. ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)`` passes the
    masks to every layer. (PyTorch's nested-tensor fast path is an inference optimisation whose
    outputs at padded positions are zeros; here they are the layers' plain outputs.)

    >>> encoder = nk.nn.TransformerEncoder(nk.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), num_layers=2)
    >>> encoder(nk.randn((3, 5, 8)), src_key_padding_mask=[[False] * 4 + [True]] * 3).shape
    (3, 5, 8)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: "Module | None" = None, enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        num_layers = integer("TransformerEncoder", "num_layers", num_layers, 1)
        self.layers = ModuleList([clone_module(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Var, mask: Any = None, src_key_padding_mask: Any = None, is_causal: "bool | None" = None) -> Var:
        """Every layer in turn (each given the masks), then ``norm``; same shape as ``src``."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return output if self.norm is None else self.norm(output)


def clone_module(module: Module) -> Module:
    """A deep copy of ``module``: new parameters and buffers with equal values (on the same
    devices), new sub-modules; backends and array namespaces are shared, not copied, and the
    copy's dropout layers start with no graphs of their own."""
    memo: dict[int, Any] = {}
    for part in module.modules():
        for variable in list(part._parameters.values()) + list(part._buffers.values()):
            if variable is not None:
                node = variable._node
                memo[id(node.backend)], memo[id(node.xp)] = node.backend, node.xp
        nodes = part.__dict__.get("_nodes")
        if isinstance(nodes, weakref.WeakSet):
            memo[id(nodes)] = weakref.WeakSet()
    return copy.deepcopy(module, memo)
