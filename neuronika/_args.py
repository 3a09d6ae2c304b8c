"""Checks of plain arguments (sizes, counts, axes, probabilities, flags), shared by every part.

One rule everywhere: an integer argument is any ``numbers.Integral`` (a Python int or a NumPy
integer scalar) but never a bool; a real argument is any ``numbers.Real`` (Python or NumPy
scalars) but never a bool or a string; a flag is a bool (Python or NumPy). Anything else raises a
``TypeError`` naming the function, the argument and what was passed, so ``reshape(2.7, 3)``,
``dropout("0.5")`` or ``Linear(3, 2, bias="no")`` fail at the user's line instead of being
truncated, compared as strings or read as true.

These run when an object or op is built, never on the forward/backward path.
"""

from __future__ import annotations

import numbers
from typing import Any


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer scalar (Python or NumPy), bools excluded."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real scalar (Python or NumPy), bools excluded."""
    return isinstance(value, numbers.Real) and not _is_bool(value)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def integer(op: str, name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as a Python int, or a TypeError (not an integer) / ValueError (below ``minimum``)."""
    if not is_integer(value):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} {_shown(value)}")
    result = int(value)
    if minimum is not None and result < minimum:
        bound = "non-negative" if minimum == 0 else "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{op}: {name} must be {bound}, got {result}")
    return result


def integers(op: str, name: str, values: Any, minimum: int | None = None) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of Python ints (each checked as :func:`integer`)."""
    if is_integer(values):
        return (integer(op, name, values, minimum),)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {type(values).__name__} {_shown(values)}")
    return tuple(integer(op, name, value, minimum) for value in values)


def real(op: str, name: str, value: Any) -> float:
    """``value`` as a Python float, or a TypeError when it is not a real number (bools and
    strings included)."""
    if not is_real(value):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__} {_shown(value)}")
    return float(value)


def boolean(op: str, name: str, value: Any) -> bool:
    """``value`` as a Python bool, or a TypeError for anything else (``"no"`` is not false)."""
    if not _is_bool(value):
        raise TypeError(f"{op}: {name} must be True or False, got {type(value).__name__} {_shown(value)}")
    return bool(value)
