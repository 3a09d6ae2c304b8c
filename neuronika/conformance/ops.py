"""Conformance area ``ops``: a representative table of ops, values and gradients.

Each op runs on the backend and on the reference device from the same host inputs; the values
must agree, and ``neuronika.testing.gradcheck`` (float64, finite differences) must pass on the
backend. Inputs are drawn per op from a domain where the op is smooth (``pos``: [0.5, 2),
``nonzero``: ±[0.5, 2), ``any``: standard normal).
"""

from __future__ import annotations

from typing import Any, Callable

from .. import autograd as ag
from ..autograd import from_ndarray
from ..autograd import pooling, normalization
from ..autograd.convolution import convolution
from ..nn import loss
from ..testing import gradcheck
from ._common import assert_close, host_rng, tolerance
from ._report import Check, Skip, passed

Op = Callable[..., Any]


def _target(x: Any, values: list[Any]) -> Any:
    return from_ndarray(values, dtype=x.dtype, device=x.device)


#: name -> (function of the input variables, input shapes, domain); names of the form
#: ``family:variant`` group variants in the report
OPS: dict[str, tuple[Op, tuple[tuple[int, ...], ...], str]] = {
    "add (broadcast)": (lambda a, b: a + b, ((3, 4), (4,)), "any"),
    "sub": (lambda a, b: a - b, ((3, 4), (3, 4)), "any"),
    "mul (broadcast)": (lambda a, b: a * b, ((2, 3, 4), (3, 1)), "any"),
    "div": (lambda a, b: a / b, ((3, 4), (3, 4)), "nonzero"),
    "neg": (lambda a: -a, ((5,),), "any"),
    "pow": (lambda a: a.pow(3.0), ((5,),), "pos"),
    "exp": (lambda a: a.exp(), ((2, 3),), "any"),
    "ln": (lambda a: a.ln(), ((2, 3),), "pos"),
    "sqrt": (lambda a: a.sqrt(), ((2, 3),), "pos"),
    "abs": (lambda a: a.abs(), ((2, 3),), "nonzero"),
    "tanh": (lambda a: a.tanh(), ((2, 3),), "any"),
    "sigmoid": (lambda a: a.sigmoid(), ((2, 3),), "any"),
    "relu": (lambda a: a.relu(), ((2, 3),), "nonzero"),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), ((2, 3),), "nonzero"),
    "softplus": (lambda a: a.softplus(), ((2, 3),), "any"),
    "softmax": (lambda a: a.softmax(1), ((3, 4),), "any"),
    "log_softmax": (lambda a: a.log_softmax(0), ((3, 4),), "any"),
    "mm": (lambda a, b: a.mm(b), ((3, 4), (4, 2)), "any"),
    "mm_t": (lambda a, b: a.mm_t(b), ((3, 4), (2, 4)), "any"),
    "mv": (lambda a, b: a.mv(b), ((3, 4), (4,)), "any"),
    "vv": (lambda a, b: a.vv(b), ((4,), (4,)), "any"),
    "matmul (@)": (lambda a, b: a @ b, ((3, 4), (4,)), "any"),
    "t": (lambda a: a.t(), ((3, 4),), "any"),
    "sum (axis)": (lambda a: a.sum(1), ((3, 4),), "any"),
    "mean (keepdims)": (lambda a: a.mean(0, keepdims=True), ((3, 4),), "any"),
    "reshape": (lambda a: a.reshape(4, 3), ((3, 4),), "any"),
    "flatten": (lambda a: a.flatten(), ((2, 3, 2),), "any"),
    "unsqueeze": (lambda a: a.unsqueeze(1), ((3, 4),), "any"),
    "cat": (lambda a, b: ag.cat([a, b], axis=1), ((2, 3), (2, 2)), "any"),
    "stack": (lambda a, b: ag.stack([a, b], axis=0), ((2, 3), (2, 3)), "any"),
    "chunks": (lambda a: a.chunks((2, 2))[1] * 2.0, ((4, 4),), "any"),
    "conv2d (padding, stride, groups)": (
        lambda x, w: convolution(x, w, stride=(2, 1), padding=1, groups=2), ((2, 4, 5, 4), (2, 2, 3, 2)), "any"),
    "conv1d (reflective, dilation)": (
        lambda x, w: convolution(x, w, dilation=2, padding=2, padding_mode="reflective"), ((1, 2, 7), (3, 2, 2)), "any"),
    "max_pool2d": (lambda x: pooling.max_pool2d(x, 2, padding=1), ((1, 2, 5, 4),), "any"),
    "avg_pool2d": (lambda x: pooling.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), ((1, 2, 5, 5),), "any"),
    "adaptive_avg_pool2d": (lambda x: pooling.adaptive_avg_pool2d(x, (2, 3)), ((1, 2, 5, 5),), "any"),
    "layer_norm": (lambda x, w, b: normalization.layer_norm(x, 4, w, b), ((3, 4), (4,), (4,)), "any"),
    "group_norm": (lambda x: normalization.group_norm(x, 2), ((2, 4, 3),), "any"),
    "batch_norm (training)": (lambda x: normalization.batch_norm(x, None, None, training=True), ((4, 3, 2),), "any"),
    "erf": (lambda a: a.erf(), ((3, 4),), "any"),
    "gelu": (lambda a: a.gelu(), ((3, 4),), "any"),
    "silu / mish / elu": (lambda a: a.silu() + a.mish() + a.elu(), ((3, 4),), "nonzero"),
    "log1p / expm1 / sin": (lambda a: a.log1p() + a.expm1() + a.sin(), ((3, 4),), "pos"),
    "einsum 'bij,bkj->bik'": (lambda a, b: ag.einsum("bij,bkj->bik", a, b), ((2, 3, 4), (2, 5, 4)), "any"),
    "einsum 'ii->i' (composed)": (lambda a: ag.einsum("ii->i", a), ((3, 3),), "any"),
    "tensordot / outer": (lambda a, b: ag.outer(ag.tensordot(a, b, 1).sum(0), a.sum(0)), ((2, 3), (3, 4)), "any"),
    "pad (replicative pairs)": (lambda a: ag.pad(a, [(0, 0), (1, 2), (0, 1)], mode="replicative"), ((2, 3, 4),), "any"),
    "roll / flip / permute": (lambda a: ag.roll(a, 1, 0).flip(1).permute(2, 0, 1), ((3, 4, 2),), "any"),
    "tile / repeat_interleave": (lambda a: a.tile((2, 1)).repeat_interleave(2, 1), ((2, 3),), "any"),
    "split / squeeze / transpose": (lambda a: a.split(1, 0)[1].squeeze(0).transpose(0, 1), ((3, 2, 4),), "any"),
    "indexing x[key] (repeats)": (lambda a: a[[0, 2, 0]] * 2.0, ((3, 4),), "any"),
    "indexing x[key] (slices, ints, steps)": (lambda a: a[1:, [0, 2]].sum(0) + a[0, ::2] + a[-1, 1:3], ((3, 4, 4),), "any"),
    "indexing x[key] (negative steps)": (lambda a: a[0, ::-2] + a[-1, 2:0:-1, ::-1], ((3, 4, 4),), "any"),
    "gather / index_select": (lambda a: a.gather(1, [[0, 0, 1], [2, 1, 1]]) + a.index_select(1, [2, 0, 2]), ((2, 3),), "any"),
    "mse_loss": (lambda x: loss.mse_loss(x, _target(x, [[0.5, -1.0, 2.0]] * 2)), ((2, 3),), "any"),
    "nll_loss": (lambda x: loss.nll_loss(x.log_softmax(1), [2, 0, 1]), ((3, 4),), "any"),
    "bce_with_logits_loss": (lambda x: loss.bce_with_logits_loss(x, _target(x, [[1.0, 0.0, 0.5]])), ((1, 3),), "any"),
}


def _inputs(shapes: tuple[tuple[int, ...], ...], domain: str, seed: int) -> list[Any]:
    rng = host_rng(seed)
    values = []
    for shape in shapes:
        if domain == "any":
            values.append(rng.standard_normal(shape))
        else:
            magnitude = rng.uniform(0.5, 2.0, size=shape)
            values.append(magnitude if domain == "pos" else magnitude * rng.choice([-1.0, 1.0], size=shape))
    return values


#: ops that need a declared capability: name -> (Backend attribute, why the op is skipped without it)
REQUIRES = {
    "indexing x[key] (negative steps)": ("negative_slice_steps", "negative_slice_steps = False: the arrays take no "
                                         "negative slice step; x[key] with one raises at build (errors area)"),
}


def _checker(name: str, op: Op, shapes: tuple[tuple[int, ...], ...], domain: str) -> Callable[[Check], tuple[str, str]]:
    def check(ctx: Check) -> tuple[str, str]:
        backend = ctx.backend
        if name in REQUIRES and not getattr(backend, REQUIRES[name][0]):
            raise Skip(REQUIRES[name][1])
        dtype = "float64" if backend.has_dtype("float64") else "float32"
        values = _inputs(shapes, domain, seed=sum(map(ord, name)))
        expected = op(*(from_ndarray(v, dtype=dtype, device=ctx.reference) for v in values)).forward()
        actual = op(*(from_ndarray(v, dtype=dtype, device=ctx.device) for v in values)).forward()
        rtol, atol = tolerance(dtype)
        assert_close(actual.numpy(), expected.numpy(), f"{name} value", rtol * 10, atol * 10)
        if dtype != "float64":
            return passed("values only: no float64 on this backend for a gradient check")
        # quick: inputs of more than 4 elements are probed along 3 random directions
        gradcheck(op, values, device=ctx.device, max_elementwise=4 if ctx.quick else 64)
        return passed()

    return check


CHECKS = {"ops": [(name, _checker(name, *entry)) for name, entry in OPS.items()]}
__all__ = ["CHECKS", "OPS", "Skip"]
