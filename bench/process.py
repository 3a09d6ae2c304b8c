"""Process settings shared by the benchmarks; call them before NumPy (and so OpenBLAS) loads.

Both change only the benchmark's own process, and the scripts print that they did.
"""

from __future__ import annotations

import os

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def unset_openblas_overrides(keep: bool) -> list[str]:
    """Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they make OpenBLAS pick slow kernels on some
    machines) unless ``keep``; returns the names that were set and are now unset."""
    if keep:
        return []
    return [name for name in OPENBLAS_OVERRIDES if os.environ.pop(name, None) is not None]


def keep_freed_memory(skip: bool) -> bool:
    """Tell glibc's malloc to keep freed memory (trim and mmap thresholds to 1 GiB), because
    first-touch page faults on fresh large buffers are slow in some VMs and swing timings by 2x.
    Returns whether it took effect (False off glibc, or when ``skip``)."""
    if skip:
        return False
    # neuronika's own, smaller tuning (neuronika/backends/_malloc.py) must not undo this one
    os.environ["NEURONIKA_MALLOC_TUNING"] = "0"
    try:  # M_TRIM_THRESHOLD is -1, M_MMAP_THRESHOLD -3
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-1, 1 << 30) and libc.mallopt(-3, 1 << 30))
    except OSError:
        return False
