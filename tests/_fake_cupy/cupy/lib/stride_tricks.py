"""``cupy.lib.stride_tricks`` of the stand-in: ``as_strided`` (a view; CuPy's has no ``writeable``)."""

from typing import Any

import numpy as _np

from .. import _api


def _as_strided(x: Any, shape: Any = None, strides: Any = None) -> Any:
    return _np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


as_strided = _api.function("cupy.lib.stride_tricks.as_strided", _as_strided)
