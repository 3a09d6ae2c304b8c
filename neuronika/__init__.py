"""neuronika: define-by-run computational graphs, reverse-mode automatic differentiation and
dynamic neural networks, on any Array API backend (NumPy on the CPU, CuPy on CUDA GPUs).

>>> import neuronika as nk
>>> x = nk.ones((2, 3))
>>> w = nk.ones((3, 1)).requires_grad()
>>> y = x.mm(w).sum()
>>> y.forward().item()
6.0
"""

from typing import TYPE_CHECKING

from . import backends
from .autograd import (
    Param,
    Var,
    VarDiff,
    broadcast_to,
    cat,
    ceil,
    cos,
    einsum,
    erf,
    expm1,
    flip,
    floor,
    log1p,
    log2,
    log10,
    matmul,
    outer,
    pad,
    permute,
    reciprocal,
    repeat_interleave,
    roll,
    round,
    rsqrt,
    sign,
    sin,
    split,
    square,
    squeeze,
    tan,
    tensordot,
    tile,
    transpose,
    eye,
    from_ndarray,
    full,
    geomspace,
    linspace,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logspace,
    maximum,
    minimum,
    one_hot,
    ones,
    rand,
    randn,
    range,
    stack,
    where,
    zeros,
)
from .backends import (
    Device,
    DType,
    bool_ as bool,
    default_device,
    float16,
    float32,
    float64,
    int32,
    int64,
    get_default_device,
    get_rng_state,
    manual_seed,
    set_default_device,
    set_rng_state,
)

__version__ = "0.2.0"

if TYPE_CHECKING:  # the lazy names below, with their real types for type checkers and IDEs
    from . import data, distributed, nn, optim, testing, viz
    from .autograd.anomaly import detect_anomaly
    from .autograd.convolution import convolution
    from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
    from .autograd.normalization import batch_norm, group_norm, layer_norm
    from .autograd.pooling import (
        adaptive_avg_pool1d,
        adaptive_avg_pool2d,
        adaptive_avg_pool3d,
        adaptive_max_pool2d,
        avg_pool1d,
        avg_pool2d,
        avg_pool3d,
        max_pool1d,
        max_pool2d,
        max_pool3d,
    )
    from .io import load, save

# Sub-packages and the names that live in them are imported on first use, so that
# ``import neuronika`` stays light and every part can be imported on its own.
_LAZY = {
    "nn": ("neuronika.nn", None),
    "optim": ("neuronika.optim", None),
    "data": ("neuronika.data", None),
    "distributed": ("neuronika.distributed", None),
    "testing": ("neuronika.testing", None),
    "viz": ("neuronika.viz", None),
    "convolution": ("neuronika.autograd.convolution", "convolution"),
    "save": ("neuronika.io", "save"),
    "load": ("neuronika.io", "load"),
    "detect_anomaly": ("neuronika.autograd.anomaly", "detect_anomaly"),
    "no_grad": ("neuronika.autograd.grad_mode", "no_grad"),
    "enable_grad": ("neuronika.autograd.grad_mode", "enable_grad"),
    "is_grad_enabled": ("neuronika.autograd.grad_mode", "is_grad_enabled"),
    "max_pool1d": ("neuronika.autograd.pooling", "max_pool1d"),
    "max_pool2d": ("neuronika.autograd.pooling", "max_pool2d"),
    "max_pool3d": ("neuronika.autograd.pooling", "max_pool3d"),
    "avg_pool1d": ("neuronika.autograd.pooling", "avg_pool1d"),
    "avg_pool2d": ("neuronika.autograd.pooling", "avg_pool2d"),
    "avg_pool3d": ("neuronika.autograd.pooling", "avg_pool3d"),
    "adaptive_avg_pool1d": ("neuronika.autograd.pooling", "adaptive_avg_pool1d"),
    "adaptive_avg_pool2d": ("neuronika.autograd.pooling", "adaptive_avg_pool2d"),
    "adaptive_avg_pool3d": ("neuronika.autograd.pooling", "adaptive_avg_pool3d"),
    "adaptive_max_pool2d": ("neuronika.autograd.pooling", "adaptive_max_pool2d"),
    "layer_norm": ("neuronika.autograd.normalization", "layer_norm"),
    "group_norm": ("neuronika.autograd.normalization", "group_norm"),
    "batch_norm": ("neuronika.autograd.normalization", "batch_norm"),
}


def __getattr__(name: str) -> object:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'neuronika' has no attribute {name!r}") from None
    import importlib

    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


__all__ = [
    "Device", "DType", "Param", "Var", "VarDiff",
    "backends", "bool", "cat", "default_device", "eye", "float16", "float32", "float64", "from_ndarray",
    "full", "geomspace", "get_default_device", "get_rng_state", "int32", "int64", "linspace", "logspace",
    "manual_seed", "ones", "rand", "randn", "range", "set_default_device", "set_rng_state", "stack", "zeros",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "one_hot", "where",
    "nn", "optim", "data", "distributed", "testing", "viz", "convolution", "save", "load", "detect_anomaly",
    "no_grad", "enable_grad", "is_grad_enabled",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
    "layer_norm", "group_norm", "batch_norm",
    # element-wise maths, shape, padding and linear algebra (docs/ops.md)
    "broadcast_to", "ceil", "cos", "einsum", "erf", "expm1", "flip", "floor", "log1p", "log2", "log10",
    "matmul", "outer", "pad", "permute", "reciprocal", "repeat_interleave", "roll", "round", "rsqrt",
    "sign", "sin", "split", "square", "squeeze", "tan", "tensordot", "tile", "transpose",
]
