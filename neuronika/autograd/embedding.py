"""``embedding``: rows of a table picked by an integer variable, with a scatter-add gradient.

``out[*i, :] = weight[index[*i], :]``: ``index (*s)`` integers in ``[0, num_embeddings)``,
``weight (num_embeddings, embedding_dim)`` → ``(*s, embedding_dim)``. Forward: one ``take``
along the rows. VJP: the backend's ``index_add`` kernel (repeated indices accumulate; NumPy and
CuPy override the generic sort-and-cumulative-sum form), the gradient rows of ``padding_idx``
lookups zeroed first (that row receives no gradient, as PyTorch; no array is written in place,
so immutable backends work too). The index may be re-assigned between replays: it is
checked on every forward (one min and one max; an out-of-range index raises IndexError).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..kernels.scatter import index_add as generic_index_add
from ._keys import checked_index
from .node import Node
from . import variable as _handles  # the handles; variable.py imports this family first

if TYPE_CHECKING:
    from .variable import Var


class Embedding(Node):
    """Rows ``weight[index]``; the gradient scatter-adds into the table, padding row left at 0."""

    __slots__ = ("padding_idx", "flat", "kernel")
    name = "embedding"
    kinds = "fi"  # a floating table, integer indices (checked below)

    def __init__(self, index: Node, weight: Node, padding_idx: "int | None") -> None:
        if index.dtype.kind != "i":
            raise TypeError(
                f"embedding: the indices must be an integer variable, got {index.dtype}; build them "
                f"with dtype='int64' (nk.from_ndarray(ids, dtype='int64')) or convert with .astype('int64')"
            )
        if len(weight.shape) != 2:
            raise ValueError(f"embedding: the weight must be a (num_embeddings, embedding_dim) table, got {weight.shape}")
        if index.backend is not weight.backend:
            raise ValueError(
                f"embedding: the indices live on {index.backend.device}, the weight on "
                f"{weight.backend.device}; move them with .to({str(weight.backend.device)!r})"
            )
        self._setup((weight, index), index.shape + (weight.shape[1],), weight.dtype, weight.backend)
        self.padding_idx = padding_idx
        self.flat = None
        self.kernel = self.backend.kernel("index_add", generic_index_add)

    def _forward(self) -> None:
        xp = self.xp
        weight, index = self.inputs
        flat = xp.reshape(index.value, (-1,))
        self.flat = checked_index(xp, flat, weight.shape[0], self.name, 0, False)
        self.value = xp.reshape(xp.take(weight.value, self.flat, axis=0), self.shape)

    def _backward(self) -> None:
        xp, weight = self.xp, self.inputs[0]
        rows = xp.reshape(self.grad, (math.prod(self.shape[:-1]), self.shape[-1]))
        if self.padding_idx is not None:  # the padding row's lookups pass nothing back (no write: any backend)
            rows = xp.where(xp.expand_dims(self.flat != self.padding_idx, axis=1), rows, 0.0)
        weight.add_grad(self.kernel(xp, rows, self.flat, weight.shape[0]))


def embedding(input: Var, weight: Var, padding_idx: "int | None" = None) -> Var:
    """The rows of ``weight (num_embeddings, embedding_dim)`` at the integer indices ``input``:
    ``(*s) → (*s, embedding_dim)`` (``torch.nn.functional.embedding``). The ``padding_idx`` row
    (negative counts from the end) receives no gradient.

    >>> table = nk.from_ndarray([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> nk.nn.functional.embedding(nk.from_ndarray([[2, 1]], dtype="int64"), table).forward().numpy().tolist()
    [[[3.0, 4.0], [1.0, 2.0]]]
    """
    for role, operand in (("input", input), ("weight", weight)):
        if not isinstance(operand, _handles.Var):
            raise TypeError(f"embedding: the {role} must be a neuronika variable, got {type(operand).__name__}")
    rows = weight.shape[0] if weight.ndim == 2 else 0
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx must be an int in [{-rows}, {rows - 1}], got {padding_idx!r}")
        padding_idx %= rows
    with weight._node.backend.scope():
        return _handles.wrap(Embedding(input._node, weight._node, padding_idx))
