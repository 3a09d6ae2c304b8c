"""glibc's malloc, tuned once per process for a training loop's array-sized blocks.

A step allocates and frees the same large arrays over and over. With glibc's defaults, a block
above the mmap threshold (128 KiB at first, raised by each freed mmapped block up to 32 MiB) is
mapped fresh and unmapped when freed, and free memory at the top of the heap beyond the trim
threshold is given back to the system: either way the next step touches new pages, one page
fault per 4 KiB. Since a replayed graph releases its dead intermediates in the middle of a step
(``autograd/lifetimes.py``), that cost showed: W2 (the CNN step at batch 64) took 22.4 ms with
glibc's defaults against 12.0 ms with the thresholds below, and 16.4 / 13.1 ms with every
intermediate kept (interleaved in one process, one BLAS thread). Blocks under 64 MiB now come
from the heap and up to 256 MiB of free heap is kept for reuse; a step's peak is unchanged (the
memory is reused, not added), only what a process holds between steps may be higher.

Applied when a host backend (NumPy, array_api_strict) is first made, on glibc only, and never
when the process already chose: any of glibc's ``MALLOC_*`` tuning variables set, or
``NEURONIKA_MALLOC_TUNING=0`` (then nothing is changed).
"""

from __future__ import annotations

import os
import platform

#: ``mallopt`` parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: blocks under this size come from the heap
MMAP_THRESHOLD = 64 << 20
#: free memory at the top of the heap kept for reuse
TRIM_THRESHOLD = 256 << 20
#: glibc's own variables: a process that sets one has chosen its malloc settings
GLIBC_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_",
                   "GLIBC_TUNABLES")
#: ``[tried, applied]``
_STATE = [False, False]


def tune() -> bool:
    """Set the thresholds once per process (see the module docstring); returns whether they
    are in effect."""
    if _STATE[0]:
        return _STATE[1]
    _STATE[0] = True
    if os.environ.get("NEURONIKA_MALLOC_TUNING", "1") == "0" or any(name in os.environ for name in GLIBC_VARIABLES):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - a Linux without glibc's libc.so.6
        return False
    _STATE[1] = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _STATE[1]
