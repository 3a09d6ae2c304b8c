"""``cupy.cuda.runtime`` of the stand-in: the CUDA runtime calls the project makes."""

from __future__ import annotations

from .. import _state


class CUDARuntimeError(RuntimeError):
    """CuPy's error for a failed CUDA runtime call (message ``cudaError...: text``)."""


def getDeviceCount() -> int:  # noqa: N802 - CUDA's name
    count = _state.DEVICE_COUNT[0]
    if count <= 0:
        raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    return count


def getDevice() -> int:  # noqa: N802
    return _state.current()


def setDevice(device: int) -> None:  # noqa: N802
    if not 0 <= int(device) < _state.DEVICE_COUNT[0]:
        raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
    _state.set_current(int(device))


def deviceCanAccessPeer(device: int, peer_device: int) -> int:  # noqa: N802
    return int(_state.PEER_ACCESS[0])
