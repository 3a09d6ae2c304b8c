"""Kernel overrides of the CuPy backend (convolution: im2col + one cuBLAS GEMM)."""

from __future__ import annotations

from typing import Any, Callable

KERNELS: dict[str, Callable[..., Any]] = {}
