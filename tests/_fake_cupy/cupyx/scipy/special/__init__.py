"""The stand-in's ``cupyx.scipy.special``: ``erf``, an element-wise kernel under the stand-in's
device rules (``cupy._core.ufunc_call``). NumPy has no erf: the values come from SciPy where it is
installed, else from ``math.erf`` element by element (the stand-in proves placement and API use,
not numerics or speed)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from cupy import _api, _core

try:
    from scipy.special import erf as _host_erf
except ImportError:  # pragma: no cover - depends on the environment
    _host_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf(*args: Any, **kwargs: Any) -> Any:
    return _core.ufunc_call(_host_erf, args, kwargs)


erf = _api._named("cupyx.scipy.special.erf", _erf, _api.signature("cupyx.scipy.special.erf")[1])
