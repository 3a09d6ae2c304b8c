"""``Dropout``: the layer form of ``var.dropout(p)`` that follows its module's train/eval mode."""

from __future__ import annotations

import weakref

from typing import TypeVar, cast

from ..autograd import Var
from ..autograd.activation import Dropout as DropoutNode
from .._args import real
from ..autograd.variable import wrap
from .module import Module

_V = TypeVar("_V", bound=Var)


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the others by ``1/(1-p)`` while
    training; the identity in evaluation mode. Any shape in, the same shape out.

    Every call builds a dropout node (a fresh mask is drawn at each forward pass of the graph).
    The layer remembers the nodes it built (weakly: a graph that is dropped is not kept alive),
    and :meth:`train` / :meth:`eval` on the layer, on a module containing it or on the
    :class:`~neuronika.nn.ModelStatus` it is registered with switch them all, so graphs built
    once keep following the model's mode.

    >>> drop = nk.nn.Dropout(0.5).eval(); drop(nk.ones(3)).forward().numpy().tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5) -> None:
        p = real("Dropout", "probability p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be a number in [0, 1], got {p!r}")
        super().__init__()
        self.p = float(p)
        self._nodes: weakref.WeakSet[DropoutNode] = weakref.WeakSet()

    def forward(self, input: _V) -> _V:
        """The input with dropout applied (training) or unchanged (evaluation); shape kept."""
        node = DropoutNode(input._node, self.p)
        node.training = self.training
        self._nodes.add(node)
        return cast(_V, wrap(node))

    def _set_training(self, mode: bool) -> None:
        super()._set_training(mode)
        for node in list(self._nodes):
            node.set_training(mode)

    def extra_repr(self) -> str:
        return f"p={self.p}"
