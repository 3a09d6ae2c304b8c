"""``cupy.cuda`` of the stand-in: devices, the runtime API subset, streams."""

from . import curand, runtime
from .device import Device, get_device_id
from .stream import Stream, get_current_stream

__all__ = ["Device", "curand", "Stream", "get_current_stream", "get_device_id", "runtime"]
