"""``cupy.cuda.device`` of the stand-in."""

from __future__ import annotations

from typing import Any

from .. import _state
from . import runtime


class Device:
    """``cupy.cuda.Device(device=None)``: a GPU; as a context manager it makes that GPU current.

    As in CuPy the index is not checked on construction; entering a device that does not exist
    raises ``CUDARuntimeError`` (``cudaErrorInvalidDevice``).
    """

    def __init__(self, device: Any = None) -> None:
        self.id = _state.current() if device is None else int(device)
        self._previous: list[int] = []

    def __int__(self) -> int:
        return self.id

    def __enter__(self) -> "Device":
        previous = runtime.getDevice()
        self._previous.append(previous)
        if previous != self.id:
            runtime.setDevice(self.id)
        return self

    def __exit__(self, *exc: object) -> None:
        _state.set_current(self._previous.pop())

    def use(self) -> None:
        runtime.setDevice(self.id)

    def synchronize(self) -> None:
        return None  # kernels of the stand-in complete when they return

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Device):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


def get_device_id() -> int:
    return _state.current()
