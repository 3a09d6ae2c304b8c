"""``Embedding``: a lookup table of learnable vectors, PyTorch's names, shapes and defaults."""

from __future__ import annotations

from typing import Any, cast

from .._args import integer
from ..autograd import Var, from_ndarray, randn
from ..autograd.embedding import embedding
from ..autograd.node import Leaf
from ..backends import DType
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """``weight (num_embeddings, embedding_dim)`` drawn from N(0, 1) (the ``padding_idx`` row
    zeroed), as PyTorch. ``forward(input)``: integer indices ``(*s)`` → ``(*s, embedding_dim)``,
    the rows of ``weight``; the gradient scatter-adds into the rows used (repeats accumulate) and
    the ``padding_idx`` row receives none. (PyTorch's ``max_norm``, ``scale_grad_by_freq`` and
    ``sparse`` are not provided.)

    >>> layer = nk.nn.Embedding(10, 3, padding_idx=0)
    >>> layer(nk.from_ndarray([[0, 4, 4]], dtype="int64")).shape
    (1, 3, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: "int | None" = None,
        max_norm: "float | None" = None,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        *,
        dtype: "DType | str | None" = None,
        device: Any = None,
    ) -> None:
        super().__init__()
        owner = "Embedding"
        self.num_embeddings = integer(owner, "num_embeddings", num_embeddings, 1)
        self.embedding_dim = integer(owner, "embedding_dim", embedding_dim, 1)
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError(f"{owner}: max_norm, scale_grad_by_freq and sparse are not provided")
        if padding_idx is not None:
            padding_idx = integer(owner, "padding_idx", padding_idx)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"{owner}: padding_idx must lie in [{-num_embeddings}, {num_embeddings - 1}], got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            weight = randn(shape, dtype=dtype, device=device)
            if padding_idx is not None:
                node = cast(Leaf, weight._node)
                xp = node.xp
                with node.backend.scope():  # on the table's device; no write in place (any backend)
                    rows = xp.reshape(xp.arange(shape[0], device=node.backend.native_device), (shape[0], 1))
                    node.set_value(xp.where(rows == padding_idx, xp.zeros_like(node.value), node.value))
        else:
            weight = _weight if isinstance(_weight, Var) else from_ndarray(_weight, dtype=dtype, device=device)
            if tuple(weight.shape) != shape:
                raise ValueError(f"{owner}: _weight has shape {tuple(weight.shape)}, expected {shape}")
            weight = from_ndarray(weight.numpy(), dtype=dtype or weight.dtype, device=device or weight.device)
        if _freeze:
            self.register_buffer("weight", weight)  # in the state dict, not trained
        else:
            self.weight = weight.requires_grad()

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: "int | None" = None, **kwargs: Any) -> "Embedding":
        """A layer holding a copy of ``embeddings (num, dim)``; ``freeze`` keeps it constant (a
        buffer-like plain variable, not a parameter), as PyTorch."""
        table = embeddings if isinstance(embeddings, Var) else from_ndarray(embeddings, dtype=kwargs.get("dtype"))
        if table.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got {table.shape}")
        return cls(table.shape[0], table.shape[1], padding_idx, _weight=table, _freeze=freeze, **kwargs)

    def forward(self, input: Var) -> Var:
        """The rows of ``weight`` at the integer indices ``input (*s)``: ``(*s, embedding_dim)``."""
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + ("" if self.padding_idx is None else f", padding_idx={self.padding_idx}")
