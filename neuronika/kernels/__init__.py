"""Generic array-level kernels, written once against the Array API (``xp``).

They are the reference implementations: they run on every backend, including
``array_api_strict``, and a backend may register a faster override under the same name (see
``Backend.kernel``). Every override is tested against the generic kernel on the same inputs.
"""

from typing import Any, Callable

from . import pooling as _pooling
from .convolution import (
    conv_backward_input, conv_backward_input_functional, conv_backward_weight, conv_forward, output_size,
)
from .padding import PADDING_MODES, pad, pad_backward, pad_backward_functional, pad_functional
from .special import erf
from .scatter import index_add

#: kernel name -> generic implementation (the names a backend's ``kernels`` dict may override).
#: One more name is a pure capability, without a generic kernel: ``einsum(xp, subscripts,
#: *arrays)``; where a backend lacks it, ``nk.einsum`` composes the contraction from
#: permute / reshape / matmul nodes (``autograd/contraction.py``).
GENERIC: dict[str, Callable[..., Any]] = {
    "conv_forward": conv_forward,
    "conv_backward_input": conv_backward_input,
    "conv_backward_weight": conv_backward_weight,
    "pad": pad,
    "pad_backward": pad_backward,
    "erf": erf,
    "index_add": index_add,
    "max_pool_forward": _pooling.max_pool_forward,
    "max_pool_backward": _pooling.max_pool_backward,
    "window_sum": _pooling.window_sum,
    "window_sum_backward": _pooling.window_sum_backward,
}

#: kernel name -> the generic kernel's functional form (no write into an array), which
#: ``Backend.kernel`` hands to backends that declare ``mutable_arrays = False``
FUNCTIONAL: dict[str, Callable[..., Any]] = {
    "conv_backward_input": conv_backward_input_functional,
    "pad": pad_functional,
    "pad_backward": pad_backward_functional,
    "max_pool_forward": _pooling.max_pool_forward_functional,
    "max_pool_backward": _pooling.max_pool_backward_functional,
    "window_sum": _pooling.window_sum_functional,
    "window_sum_backward": _pooling.window_sum_backward_functional,
}

__all__ = [
    "FUNCTIONAL", "GENERIC", "PADDING_MODES",
    "conv_backward_input", "conv_backward_weight", "conv_forward", "erf", "index_add", "output_size", "pad", "pad_backward",
]
