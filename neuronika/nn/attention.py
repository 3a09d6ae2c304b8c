"""``MultiheadAttention`` with PyTorch's parameters (``in_proj_weight``, ``in_proj_bias``,
``out_proj``), arguments, masks and return values, so a ``torch.nn.MultiheadAttention``'s
``state_dict()`` loads unchanged."""

from __future__ import annotations

import math
from typing import Any

from .._args import boolean, integer, real
from ..autograd import Var
from . import functional as F
from . import init
from ._attention import as_mask, attention_weights
from .dropout import Dropout
from .init import new_parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention: ``out_proj(concat_h softmax(q_h·k_hᵀ/√d + masks)·v_h)`` with
    ``q_h, k_h, v_h`` the ``h``-th ``d = embed_dim / num_heads`` columns of
    ``query·W_qᵀ + b_q``, ``key·W_kᵀ + b_k``, ``value·W_vᵀ + b_v``.

    Parameters (PyTorch's names and initialisation): ``in_proj_weight (3E, E)`` (``W_q; W_k;
    W_v`` stacked, Glorot uniform), ``in_proj_bias (3E,)`` (zeros; absent with ``bias=False``),
    ``out_proj`` a ``Linear(E, E)`` (its bias zeroed).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)``: ``query (L, N, E)``, ``key``/``value
    (S, N, E)`` (``(N, L, E)`` with ``batch_first=True``; ``(L, E)`` unbatched) → ``(output,
    weights)`` with ``output`` shaped as ``query`` and ``weights (N, L, S)`` averaged over the
    heads (``(N, H, L, S)`` with ``average_attn_weights=False``; None with ``need_weights=False``),
    after dropout as PyTorch. Masks as PyTorch's module (the opposite of
    ``scaled_dot_product_attention``): a bool ``True`` marks a key that must **not** be attended;
    float masks are added. ``key_padding_mask (N, S)``; ``attn_mask (L, S)`` or ``(N·H, L, S)``.
    ``is_causal`` without an ``attn_mask`` masks the keys after each query position.
    Self-attention (``query``, ``key`` and ``value`` the same variable) projects with one GEMM.

    >>> attention = nk.nn.MultiheadAttention(8, num_heads=2, batch_first=True)
    >>> x = nk.randn((3, 5, 8))
    >>> output, weights = attention(x, x, x)
    >>> output.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: "int | None" = None,
        vdim: "int | None" = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        owner = "MultiheadAttention"
        embed_dim = integer(owner, "embed_dim", embed_dim, 1)
        num_heads = integer(owner, "num_heads", num_heads, 1)
        if embed_dim % num_heads:
            raise ValueError(f"{owner}: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise ValueError(f"{owner}: add_bias_kv, add_zero_attn and kdim/vdim other than embed_dim are not provided")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout = real(owner, "dropout", dropout)
        self.batch_first = boolean(owner, "batch_first", batch_first)
        self.in_proj_weight = new_parameter((3 * embed_dim, embed_dim), math.sqrt(6.0 / (4 * embed_dim)), dtype, device)
        self.in_proj_bias = init.zeros(new_parameter((3 * embed_dim,), 0.0, dtype, device)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, device=device)
        if self.out_proj.bias is not None:
            init.zeros(self.out_proj.bias)
        self.attention_dropout = Dropout(self.dropout)

    def forward(
        self,
        query: Var,
        key: Var,
        value: Var,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> "tuple[Var, Var | None]":
        """``(output, weights)`` of attending from ``query`` to ``key``/``value`` (shapes and
        masks in the class docstring)."""
        owner = "MultiheadAttention"
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim or query.shape[-1] != self.embed_dim:
            raise ValueError(
                f"{owner}(embed_dim={self.embed_dim}): query {query.shape}, key {key.shape} and value "
                f"{value.shape} must be (L, N, E), (S, N, E), (S, N, E) (batch first: (N, L, E), ...; "
                f"unbatched: (L, E), (S, E), (S, E)) with E = {self.embed_dim}"
            )
        same = query is key and key is value
        if attn_mask is not None:
            attn_mask = as_mask(owner, attn_mask, query)
        if key_padding_mask is not None:
            key_padding_mask = as_mask(owner, key_padding_mask, query)
        if not batched:
            query, key, value = (x.unsqueeze(0) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        batch, length, embed = query.shape
        keys = key.shape[1]
        if key.shape != value.shape or key.shape[0] != batch:
            raise ValueError(f"{owner}: key {key.shape} and value {value.shape} must match each other and the query's batch size {batch}")
        heads, width = self.num_heads, self.head_dim
        if same:
            q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).split(embed, -1)
        else:
            projections = self.in_proj_weight.split(embed, 0)
            biases = self.in_proj_bias.split(embed, 0) if self.in_proj_bias is not None else (None,) * 3
            q, k, v = (F.linear(x, w, b) for x, w, b in zip((query, key, value), projections, biases))
        q = q.reshape(batch, length, heads, width).transpose(1, 2)
        k = k.reshape(batch, keys, heads, width).transpose(1, 2)
        v = v.reshape(batch, keys, heads, width).transpose(1, 2)
        masks = []
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape == (length, keys):
                masks.append((attn_mask, False))
            elif shape == (batch * heads, length, keys):
                masks.append((attn_mask.reshape(batch, heads, length, keys), False))
            else:
                raise ValueError(f"{owner}: attn_mask has shape {shape}; expected ({length}, {keys}) or ({batch * heads}, {length}, {keys})")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, keys):
                raise ValueError(f"{owner}: key_padding_mask has shape {tuple(key_padding_mask.shape)}; expected (N, S) = ({batch}, {keys})")
            masks.append((key_padding_mask.reshape(batch, 1, 1, keys), False))
        causal = bool(is_causal) and attn_mask is None
        attention = self.attention_dropout(attention_weights(owner, q, k, masks, causal))
        output = (attention @ v).transpose(1, 2).reshape(batch, length, embed)
        output = self.out_proj(output)
        if not batched:
            output = output.reshape(length, embed)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        if not need_weights:
            return output, None
        weights = attention.mean(axis=1) if average_attn_weights else attention
        return output, weights if batched else weights.reshape(weights.shape[1:])

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, batch_first={self.batch_first}"
