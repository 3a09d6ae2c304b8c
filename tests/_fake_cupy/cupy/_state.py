"""The stand-in's machine: how many GPUs, which one is current, which CUDA libraries load.

Configured by environment variables (read when the stand-in is imported) or by tests at run time:

* ``NEURONIKA_FAKE_CUPY_DEVICES`` — ``getDeviceCount()`` (2 by default; 0 models a driver without GPU);
* ``NEURONIKA_FAKE_CUPY_PEER=1`` — peer access between the GPUs: a kernel reading an array of
  another GPU then warns (``cupy._util.PerformanceWarning``) instead of raising ``ValueError``;
* ``NEURONIKA_FAKE_CUPY_MISSING=curand,nvrtc`` — CUDA libraries that fail to load, as on a host
  with the driver but no CUDA Toolkit (CuPy installed without ``[ctk]``).
"""

from __future__ import annotations

import os
import threading

DEVICE_COUNT = [int(os.environ.get("NEURONIKA_FAKE_CUPY_DEVICES", "2"))]
PEER_ACCESS = [os.environ.get("NEURONIKA_FAKE_CUPY_PEER", "0") == "1"]
MISSING_LIBRARIES: set[str] = {name for name in os.environ.get("NEURONIKA_FAKE_CUPY_MISSING", "").split(",") if name}

# the current device is per host thread, as CUDA's is
_local = threading.local()

# what CuPy 14.2 raises when a library of a CUDA Toolkit is absent (observed with the real wheel
# on a host without the toolkit)
_SONAMES = {"curand": "libcurand.so.11 or libcurand.so.10", "nvrtc": "libnvrtc.so.13 or libnvrtc.so.12",
            "cublas": "libcublas.so.13 or libcublas.so.12"}


class DynamicLibNotFoundError(RuntimeError):
    """cuda.pathfinder's error for a CUDA library that cannot be found (a RuntimeError)."""


def current() -> int:
    return getattr(_local, "device", 0)


def set_current(index: int) -> None:
    _local.device = index


def require_library(name: str) -> None:
    """Raise as CuPy does on first use of a CUDA library that is not installed."""
    if name in MISSING_LIBRARIES:
        message = f'Failure finding "{_SONAMES[name]}": No such file: {_SONAMES[name]}'
        if name == "curand":
            raise ImportError(message)
        raise DynamicLibNotFoundError(message)
