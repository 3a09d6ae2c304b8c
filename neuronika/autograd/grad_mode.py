"""Gradient mode: ``with nk.no_grad():`` and the per-graph switch behind ``VarDiff.no_grad()``.

Whether an op is differentiable is decided **when it is built**: inside a ``no_grad()`` block
(a ``ContextVar``, so it is local to the thread or asyncio task that entered it) every op built
is an ordinary :class:`~neuronika.Var`, whatever its operands, and nothing built there ever
receives or passes gradients. Leaves are not affected: a parameter created or promoted with
``requires_grad()`` inside the block stays differentiable, and graphs built outside the block on
the same parameters differentiate as usual.

``VarDiff.no_grad()`` / ``with_grad()`` (the crate's methods) switch the gradient computation of
the one graph they are called on: ``backward()`` from that variable then computes nothing. They
never change a leaf's own state, so other graphs sharing its parameters are unaffected.
"""

from __future__ import annotations

import contextlib
import weakref
from contextvars import ContextVar
from typing import Iterator

#: whether ops built now may be differentiable (see :func:`no_grad`)
GRAD_ENABLED: ContextVar[bool] = ContextVar("neuronika_grad_enabled", default=True)
#: root nodes whose graph had ``no_grad()`` called on it (weak: dropping the graph forgets it)
GRAPHS_WITHOUT_GRAD: "weakref.WeakSet[object]" = weakref.WeakSet()


def is_grad_enabled() -> bool:
    """Whether ops built now are differentiable (False inside a ``no_grad()`` block).

    >>> nk.is_grad_enabled()
    True
    """
    return GRAD_ENABLED.get()


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    token = GRAD_ENABLED.set(enabled)
    try:
        yield
    finally:
        GRAD_ENABLED.reset(token)


def no_grad() -> "contextlib.AbstractContextManager[None]":
    """``with nk.no_grad():`` builds ops that are not differentiable (evaluation, metrics,
    hand-written updates): no gradient flows through them into any parameter. Also usable as a
    decorator. Local to the current thread / asyncio task; restored on exit, even on error.

    >>> w = nk.ones(2).requires_grad()
    >>> with nk.no_grad():
    ...     type(w * 2.0).__name__, nk.is_grad_enabled()
    ('Var', False)
    """
    return _grad_mode(False)


def enable_grad() -> "contextlib.AbstractContextManager[None]":
    """``with nk.enable_grad():`` re-enables differentiable ops inside a ``no_grad()`` block.

    >>> w = nk.ones(2).requires_grad()
    >>> with nk.no_grad(), nk.enable_grad():
    ...     type(w * 2.0).__name__
    'VarDiff'
    """
    return _grad_mode(True)
