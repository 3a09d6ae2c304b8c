"""Kernel overrides of the NumPy backend (filled in by the kernels that have a faster NumPy form)."""

from __future__ import annotations

from typing import Any, Callable

KERNELS: dict[str, Callable[..., Any]] = {}
