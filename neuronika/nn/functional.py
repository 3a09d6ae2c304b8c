"""``neuronika.nn.functional``: the functional forms of the layers, losses and activations,
with ``torch.nn.functional``'s names and argument names (``dim`` where PyTorch says dim), so
``import neuronika.nn.functional as F`` reads as in PyTorch.

Each is a thin wrapper of the op or loss that already exists (nothing here is a new node):

>>> import neuronika.nn.functional as F
>>> x = nk.ones((2, 3))
>>> F.linear(x, nk.ones((4, 3)), nk.zeros(4)).forward().numpy().tolist()
[[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
>>> F.softmax(nk.zeros((1, 2)), dim=1).forward().numpy().tolist()
[[0.5, 0.5]]
"""

from __future__ import annotations

from typing import Any, Sequence

from ..autograd import Var
from ..autograd.convolution import convolution
from ..autograd.linalg import affine
from ..autograd.padding import pad as nk_pad
from ..autograd.normalization import batch_norm, group_norm, layer_norm
from ..autograd.pooling import (
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool2d,
    avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d, max_pool2d, max_pool3d,
)
from ..autograd.embedding import embedding
from ..autograd.indexing import one_hot as _one_hot
from ..autograd.variable import wrap
from ..autograd.selection import where as _where
from . import loss as _loss
from ._attention import scaled_dot_product_attention

__all__ = [
    "linear", "conv1d", "conv2d", "conv3d",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
    "batch_norm", "layer_norm", "group_norm", "dropout", "embedding", "one_hot", "scaled_dot_product_attention",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "silu", "elu", "mish",
    "gelu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign", "logsigmoid", "pad",
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "huber_loss", "smooth_l1_loss", "kl_div",
]


# --- layers -----------------------------------------------------------------------------------
def linear(input: Var, weight: Var, bias: "Var | None" = None) -> Var:
    """``input · weightᵀ + bias``: ``(*, in) · (out, in)ᵀ + (out,) → (*, out)``; a matrix or a
    vector with a bias is one fused node (GEMM, bias added in place)."""
    shape = input.shape
    if not shape or shape[-1] != weight.shape[-1] or len(weight.shape) != 2:
        raise ValueError(
            f"linear: input of shape {shape} does not end with in_features={weight.shape[-1]} of the "
            f"weight {weight.shape} (out_features, in_features)"
        )
    out_features, in_features = weight.shape
    if bias is not None and len(shape) <= 2:
        return wrap(affine(input._node, weight._node, bias._node))
    if bias is not None:
        flat = wrap(affine(input.reshape(-1, in_features)._node, weight._node, bias._node))
        return flat.reshape(shape[:-1] + (out_features,))
    if len(shape) == 2:
        return input.mm_t(weight)
    if len(shape) == 1:
        return weight.mv(input)
    return input.reshape(-1, in_features).mm_t(weight).reshape(shape[:-1] + (out_features,))


def _conv(dims: int, input: Var, weight: Var, bias: "Var | None", stride: Any, padding: Any, dilation: Any, groups: int) -> Var:
    op = f"conv{dims}d"
    if input.ndim != dims + 2 or weight.ndim != dims + 2:
        raise ValueError(
            f"{op}: input {input.shape} and weight {weight.shape} must both be {dims + 2}-d: "
            f"(N, C_in, {dims} spatial) and (C_out, C_in / groups, {dims} kernel sizes)"
        )
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            rates = (dilation,) * dims if isinstance(dilation, int) else tuple(dilation)
            totals = [rate * (size - 1) for rate, size in zip(rates, weight.shape[2:])]
            if any(total % 2 for total in totals) or stride not in (1, (1,) * dims):
                raise ValueError(f"{op}: padding='same' needs stride 1 and an even dilation·(kernel_size - 1) here (symmetric padding)")
            padding = tuple(total // 2 for total in totals)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    output = convolution(input, weight, stride, dilation, padding, "zero", groups)
    if bias is None:
        return output
    return output + bias.reshape((1, weight.shape[0]) + (1,) * dims)


def conv1d(input: Var, weight: Var, bias: "Var | None" = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Var:
    """1-d convolution (cross-correlation): ``(N, C_in, L) ⋆ (C_out, C_in/groups, k) → (N, C_out, L_out)``,
    zero padding (an int, a tuple, ``"valid"`` or ``"same"``), as ``torch.nn.functional.conv1d``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Var, weight: Var, bias: "Var | None" = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Var:
    """2-d convolution: ``(N, C_in, H, W) ⋆ (C_out, C_in/groups, kH, kW) → (N, C_out, H_out, W_out)``."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Var, weight: Var, bias: "Var | None" = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Var:
    """3-d convolution: ``(N, C_in, D, H, W) ⋆ (C_out, C_in/groups, kD, kH, kW) → (N, C_out, ...)``."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def dropout(input: Var, p: float = 0.5, training: bool = True) -> Var:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` when
    ``training``; the input itself otherwise. (A dropout node built with ``training=True``
    follows ``.train()`` / ``.eval()`` of the graph afterwards.)"""
    return input.dropout(p) if training else input


# --- activations --------------------------------------------------------------------------------
def relu(input: Var) -> Var:
    """``max(x, 0)``."""
    return input.relu()


def leaky_relu(input: Var, negative_slope: float = 0.01) -> Var:
    """``x`` where positive, ``negative_slope·x`` elsewhere."""
    return input.leaky_relu(negative_slope)


def sigmoid(input: Var) -> Var:
    """``1 / (1 + e^-x)``."""
    return input.sigmoid()


def tanh(input: Var) -> Var:
    """``tanh(x)``."""
    return input.tanh()


def softmax(input: Var, dim: int) -> Var:
    """``e^x / Σ e^x`` along ``dim`` (stable)."""
    return input.softmax(dim)


def log_softmax(input: Var, dim: int) -> Var:
    """``x - log Σ e^x`` along ``dim`` (stable)."""
    return input.log_softmax(dim)


def softplus(input: Var, beta: float = 1.0, threshold: float = 20.0) -> Var:
    """``log(1 + e^x)`` (stable), and ``x`` itself where ``x > threshold`` (gradient 1 there), as
    PyTorch's ``F.softplus``; only ``beta=1`` is provided (scale the input and output instead).

    >>> nk.nn.functional.softplus(nk.from_ndarray([0.0, 2.0], dtype="float64"), threshold=1.0).forward().numpy().round(4).tolist()
    [0.6931, 2.0]
    """
    if beta != 1.0:
        raise ValueError(f"softplus: only beta=1 is provided, got {beta!r}; scale the input and output instead")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"softplus: threshold must be a number, got {threshold!r}")
    return _where(input > float(threshold), input, input.softplus())


def silu(input: Var) -> Var:
    """``x·σ(x)``."""
    return input.silu()


def elu(input: Var, alpha: float = 1.0) -> Var:
    """``x`` for ``x > 0``, ``α·(e^x - 1)`` otherwise."""
    return input.elu(alpha)


def mish(input: Var) -> Var:
    """``x·tanh(softplus(x))``."""
    return input.mish()


def gelu(input: Var, approximate: str = "none") -> Var:
    """``x·Φ(x)`` (``approximate="tanh"``: the tanh approximation), as ``torch.nn.functional.gelu``."""
    return input.gelu(approximate)


def selu(input: Var) -> Var:
    """``scale·elu(x, α)`` with PyTorch's constants."""
    return input.selu()


def celu(input: Var, alpha: float = 1.0) -> Var:
    """``max(0, x) + min(0, α·(e^(x/α) - 1))``."""
    return input.celu(alpha)


def hardtanh(input: Var, min_val: float = -1.0, max_val: float = 1.0) -> Var:
    """``clip(x, min_val, max_val)``."""
    return input.hardtanh(min_val, max_val)


def relu6(input: Var) -> Var:
    """``clip(x, 0, 6)``."""
    return input.relu6()


def hardsigmoid(input: Var) -> Var:
    """``clip(x/6 + 1/2, 0, 1)``."""
    return input.hardsigmoid()


def hardswish(input: Var) -> Var:
    """``x·hardsigmoid(x)``."""
    return input.hardswish()


def softsign(input: Var) -> Var:
    """``x / (1 + |x|)``."""
    return input.softsign()


def logsigmoid(input: Var) -> Var:
    """``log σ(x)`` (stable)."""
    return input.log_sigmoid()


def one_hot(tensor: Var, num_classes: int = -1) -> Var:
    """One-hot int64 encoding ``(*s) → (*s, num_classes)`` of an integer variable (``nk.one_hot``).
    ``num_classes`` must be given: PyTorch's default -1 reads it from the data, but shapes here
    are fixed when the graph is built."""
    if num_classes == -1:
        raise ValueError("one_hot: give num_classes (the output's shape must be known when the graph is built)")
    return _one_hot(tensor, num_classes)


# --- tensors --------------------------------------------------------------------------------------
_PAD_MODES = {"constant": "constant", "reflect": "reflective", "replicate": "replicative"}


def pad(input: Var, pad: Sequence[int], mode: str = "constant", value: "float | None" = None) -> Var:
    """PyTorch's ``F.pad``: ``pad = (left, right)`` for the last axis, then ``(top, bottom)`` for
    the one before, and so on (an even number of widths, at most two per axis); modes
    ``"constant"`` (``value``, default 0), ``"reflect"``, ``"replicate"`` (``nk.pad``'s
    ``"reflective"`` and ``"replicative"``). ``"circular"`` is not provided.

    >>> nk.nn.functional.pad(nk.ones((1, 2)), (1, 2)).forward().numpy().tolist()
    [[0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    widths = list(pad)
    if len(widths) % 2 or len(widths) // 2 > input.ndim:
        raise ValueError(f"pad: pad {tuple(widths)} must hold (before, after) pairs for at most {input.ndim} trailing axes of the {input.shape} input")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)} (circular is not provided), got {mode!r}")
    pairs = [(widths[i], widths[i + 1]) for i in range(0, len(widths), 2)][::-1]
    pairs = [(0, 0)] * (input.ndim - len(pairs)) + pairs
    return nk_pad(input, pairs, _PAD_MODES[mode], 0.0 if value is None else float(value))


# --- losses (PyTorch's argument order) --------------------------------------------------------------
def cross_entropy(
    input: Var, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
) -> Var:
    """:func:`neuronika.nn.loss.cross_entropy_loss` (fused log-softmax + NLL of logits)."""
    return _loss.cross_entropy_loss(input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input: Var, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> Var:
    """:func:`neuronika.nn.loss.nll_loss` with PyTorch's argument order."""
    return _loss.nll_loss(input, target, reduction, weight=weight, ignore_index=ignore_index)


def mse_loss(input: Var, target: Any, reduction: str = "mean") -> Var:
    """Mean squared error (:func:`neuronika.nn.loss.mse_loss`)."""
    return _loss.mse_loss(input, target, reduction)


def l1_loss(input: Var, target: Any, reduction: str = "mean") -> Var:
    """Mean absolute error (:func:`neuronika.nn.loss.mae_loss`)."""
    return _loss.mae_loss(input, target, reduction)


def binary_cross_entropy(input: Var, target: Any, weight: Any = None, reduction: str = "mean") -> Var:
    """Binary cross-entropy of probabilities (:func:`neuronika.nn.loss.bce_loss`), each
    element's loss rescaled by ``weight`` when given."""
    return _loss.bce_loss(input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(
    input: Var, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> Var:
    """Binary cross-entropy of logits (:func:`neuronika.nn.loss.bce_with_logits_loss`), with
    PyTorch's ``weight`` (per element) and ``pos_weight`` (the positive term)."""
    return _loss.bce_with_logits_loss(input, target, reduction, pos_weight=pos_weight, weight=weight)


def huber_loss(input: Var, target: Any, reduction: str = "mean", delta: float = 1.0) -> Var:
    """Huber loss (:func:`neuronika.nn.loss.huber_loss`)."""
    return _loss.huber_loss(input, target, reduction, delta)


def smooth_l1_loss(input: Var, target: Any, reduction: str = "mean", beta: float = 1.0) -> Var:
    """Smooth L1 loss (:func:`neuronika.nn.loss.smooth_l1_loss`)."""
    return _loss.smooth_l1_loss(input, target, reduction, beta)


def kl_div(input: Var, target: Any, reduction: str = "mean") -> Var:
    """KL divergence of log-probabilities from probabilities, PyTorch's reductions:
    ``"batchmean"`` (the crate's "mean", divides by the batch size), ``"mean"`` (divides by the
    number of elements), ``"sum"``, ``"none"``."""
    if reduction == "batchmean":
        return _loss.kldiv_loss(input, target, "mean")
    if reduction == "mean":
        return _loss.kldiv_loss(input, target, "none").mean()
    return _loss.kldiv_loss(input, target, reduction)
