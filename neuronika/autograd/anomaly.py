"""Anomaly detection: stop ``forward``/``backward`` at the first node that produces NaN or Inf.

``with nk.detect_anomaly():`` switches it on for the block. Ops built inside the block remember
the file and line of the user code that built them, so the error can point there; ops built
outside are still checked but reported without a location. Off by default and free when off:
the engines pick the checking loop once per call, not per node. The switch is a ``ContextVar``:
it holds for the thread (or async task) that entered the block, so another thread's graphs are
not checked, and overlapping blocks in different threads do not switch each other off.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator

from . import node as _node

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnomalyError(FloatingPointError):
    """A node produced a non-finite value or gradient while anomaly detection was on."""


def build_site() -> str | None:
    """``file:line`` of the innermost caller outside the neuronika package."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _describe(node: "_node.Node") -> str:
    where = f" built at {node.origin}" if node.origin else " (built outside detect_anomaly: no location recorded)"
    shapes = ", ".join(str(inp.shape) for inp in node.inputs) or "none"
    return f"{node.name}{where}, input shapes {shapes}, output shape {node.shape}"


def _finite(node: "_node.Node", array: Any) -> bool:
    return bool(node.xp.all(node.xp.isfinite(array)))


def check_value(node: "_node.Node") -> None:
    if not _finite(node, node.value):
        raise AnomalyError(f"detect_anomaly: forward of {_describe(node)} produced NaN or Inf")


def check_gradients(node: "_node.Node") -> None:
    for position, inp in enumerate(node.inputs):
        if inp.requires_grad and inp.grad is not None and not _finite(inp, inp.grad):
            raise AnomalyError(
                f"detect_anomaly: backward of {_describe(node)} produced a NaN or Inf gradient "
                f"for its input {position} (shape {inp.shape})"
            )


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Within the block, ``forward`` and ``backward`` raise :class:`AnomalyError` at the first op
    whose value or input gradient is not finite, naming the op, where it was built and the input
    shapes.

    >>> with nk.detect_anomaly():
    ...     nk.from_ndarray([float("inf")]).exp().forward()  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    AnomalyError: ...
    """
    token = _node.ANOMALY.set(True)
    try:
        yield
    finally:
        _node.ANOMALY.reset(token)
