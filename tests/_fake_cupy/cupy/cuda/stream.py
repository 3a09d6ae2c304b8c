"""``cupy.cuda.stream`` of the stand-in."""

from __future__ import annotations

from .. import _state


class Stream:
    """A CUDA stream; the stand-in runs every kernel synchronously, so synchronising does nothing."""

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False) -> None:
        self.device_id = _state.current()

    def synchronize(self) -> None:
        return None


Stream.null = Stream(null=True)  # type: ignore[attr-defined]


def get_current_stream(device_id: int = -1) -> Stream:
    return Stream.null  # type: ignore[attr-defined,no-any-return]
