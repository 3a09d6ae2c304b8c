"""Scaled dot-product attention, composed from graph ops (batched ``@``, ``where``, softmax,
dropout), shared by ``nn.functional.scaled_dot_product_attention`` and ``MultiheadAttention``.

``weights = softmax(q·kᵀ·scale + masks)`` along the key axis, ``output = weights·v``. A boolean
mask selects with ``nk.where`` (a disallowed score becomes -inf, so its weight is exactly 0 and
passes no gradient); a floating mask is added. Masks may be variables (re-assigned per batch in a
graph built once) or arrays (made constants on the query's device).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..autograd import Var, from_ndarray
from ..autograd.node import Leaf
from ..autograd.selection import where

NEG_INF = float("-inf")


def as_mask(op: str, mask: Any, like: Var) -> Var:
    """``mask`` as a variable beside ``like``: bool stays bool (nested lists of Python bools
    too), floats take ``like``'s dtype."""
    if not isinstance(mask, Var):
        first = mask
        while isinstance(first, (list, tuple)) and first:
            first = first[0]
        mask = from_ndarray(mask, dtype="bool" if isinstance(first, bool) else None, device=like.device)
        if mask.dtype.name not in ("bool", like.dtype.name):
            mask = mask.astype(like.dtype)
    if mask.device != like.device:
        raise ValueError(f"{op}: the mask lives on {mask.device}, the attention on {like.device}; move it with .to({str(like.device)!r})")
    if mask.dtype.name not in ("bool", like.dtype.name):
        raise TypeError(f"{op}: a mask must be bool or {like.dtype} (the query's dtype), got {mask.dtype}; convert it with .astype()")
    checked: Var = mask
    return checked


def causal_mask(like: Var, queries: int, keys: int) -> Var:
    """The additive causal mask ``(L, S)``: 0 where key ``j ≤ i`` (the query's position), -inf
    after, as ``torch.ones(L, S).tril()``; a constant built once on ``like``'s device."""
    node = like._node
    backend, xp = node.backend, node.xp
    with backend.scope():
        rows = xp.reshape(xp.arange(queries, device=backend.native_device), (queries, 1))
        cols = xp.reshape(xp.arange(keys, device=backend.native_device), (1, keys))
        zero = xp.zeros((queries, keys), dtype=backend.dtype(node.dtype), device=backend.native_device)
        values = xp.where(cols <= rows, zero, xp.full_like(zero, NEG_INF))
    return Var(Leaf(values, backend, node.dtype))


def attention_weights(
    op: str, query: Var, key: Var, masks: Sequence[tuple[Any, bool]] = (), is_causal: bool = False, scale: "float | None" = None
) -> Var:
    """``softmax(query·keyᵀ·scale + masks)`` over the last axis: ``(..., L, E)`` and ``(..., S, E)``
    give ``(..., L, S)``. ``masks`` holds ``(mask, true_means_keep)`` pairs: a bool mask keeps
    the scores where it equals ``true_means_keep`` (-inf elsewhere); a float mask is added."""
    if query.ndim < 2 or key.ndim < 2 or query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{op}: query {query.shape} and key {key.shape} must be (..., L, E) and (..., S, E) with the same E"
        )
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * factor
    if is_causal:
        scores = scores + causal_mask(query, query.shape[-2], key.shape[-2])
    for mask, keep in masks:
        if mask is None:
            continue
        mask = as_mask(op, mask, scores)
        if mask.dtype.name == "bool":
            scores = where(mask, scores, NEG_INF) if keep else where(mask, NEG_INF, scores)
        else:
            scores = scores + mask
    return scores.softmax(-1)


def scaled_dot_product_attention(
    query: Var,
    key: Var,
    value: Var,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: "float | None" = None,
) -> Var:
    """``softmax(q·kᵀ·scale + mask)·v`` as ``torch.nn.functional.scaled_dot_product_attention``:
    ``query (..., L, E)``, ``key (..., S, E)``, ``value (..., S, Ev)`` → ``(..., L, Ev)``;
    ``scale`` defaults to ``1/√E``. ``attn_mask`` broadcasts to ``(..., L, S)``: bool (True =
    the key takes part, as PyTorch) or floating (added to the scores). ``is_causal`` masks the
    keys after each query position (``attn_mask`` must then be None). ``dropout_p`` drops
    attention weights (a dropout node: it follows ``.train()`` / ``.eval()`` of the graph).
    A query whose keys are all masked gets NaN (0/0), as PyTorch before 2.5.
    """
    op = "scaled_dot_product_attention"
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: give attn_mask or is_causal=True, not both")
    if key.shape[-2:-1] != value.shape[-2:-1]:
        raise ValueError(f"{op}: key {key.shape} and value {value.shape} must have as many entries (axis -2)")
    weights = attention_weights(op, query, key, [(attn_mask, True)], is_causal, scale)
    if dropout_p:
        weights = weights.dropout(dropout_p)
    return weights @ value


