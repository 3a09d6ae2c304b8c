"""Generic array-level kernels, written once against the Array API (``xp``).

They are the reference implementations: they run on every backend, including
``array_api_strict``, and a backend may register a faster override under the same name (see
``Backend.kernel``). Every override is tested against the generic kernel on the same inputs.
"""

from .convolution import conv_backward_input, conv_backward_weight, conv_forward, output_size
from .padding import PADDING_MODES, pad, pad_backward
from .special import erf
from .scatter import index_add

#: kernel name -> generic implementation (the names a backend's ``kernels`` dict may override).
#: One more name is a pure capability, without a generic kernel: ``einsum(xp, subscripts,
#: *arrays)``; where a backend lacks it, ``nk.einsum`` composes the contraction from
#: permute / reshape / matmul nodes (``autograd/contraction.py``).
GENERIC = {
    "conv_forward": conv_forward,
    "conv_backward_input": conv_backward_input,
    "conv_backward_weight": conv_backward_weight,
    "pad": pad,
    "pad_backward": pad_backward,
    "erf": erf,
    "index_add": index_add,
}

__all__ = [
    "GENERIC", "PADDING_MODES",
    "conv_backward_input", "conv_backward_weight", "conv_forward", "erf", "index_add", "output_size", "pad", "pad_backward",
]
