"""``cupy.fft`` of the stand-in (the functions in ``_signatures.py``)."""

import numpy as _np

from .. import _api
from .._signatures import SIGNATURES

for _qualified in SIGNATURES:
    _prefix, _, _name = _qualified.rpartition(".")
    if _prefix == "cupy.fft":
        globals()[_name] = _api.function(_qualified, getattr(_np.fft, _name))

__all__ = sorted(name for name in globals() if not name.startswith("_"))
