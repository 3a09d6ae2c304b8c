"""``cupyx`` of the CuPy stand-in: ``cupyx.distributed`` (see its docstring),
``cupyx.scipy.special.erf`` (registered as the ``erf`` override in
``neuronika/backends/_cupy_kernels.py``) and ``scatter_add`` (CuPy 14's
``cupyx.scatter_add(a, slices, value)``: ``a[slices] += value`` unbuffered, repeated indices
accumulating), run by NumPy's ``add.at`` on the current device under the stand-in's rules."""

from __future__ import annotations

from typing import Any

import numpy as np
from cupy import _api


def _scatter_add(a: Any, slices: Any, value: Any) -> None:
    np.add.at(a, slices, value)


scatter_add = _api.function("cupyx.scatter_add", _scatter_add)
