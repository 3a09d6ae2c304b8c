"""Conformance area ``kernels``: every named kernel, as the backend runs it, against the generic.

For each kernel name the backend runs ``backend.kernel(name, generic)``: its own override
(*provided*), or the generic Array API kernel, or on an immutable backend the generic kernel's
functional form (*fallback*). That is compared, on the same float64 inputs (float32 where the
backend has no float64), with the generic kernel run on the reference device. An override
registered under a name this table has no case for is reported as failed ("unchecked"), so a
backend never ships an override nobody compared. ``einsum``, a capability without a generic
kernel, is compared with the same contraction written in Array API functions.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .. import backends
from ..autograd.activation import relu_backward, relu_forward
from ..kernels import FUNCTIONAL, GENERIC
from ..kernels import pooling as pool
from ._common import assert_close, host, host_rng, tolerance
from ._report import Check, fallback, provided

#: every kernel name a backend may override, with its generic implementation
KERNELS: dict[str, Callable[..., Any]] = {**GENERIC, "relu_forward": relu_forward, "relu_backward": relu_backward}

# convolution cases: (x shape, w shape, stride, dilation, groups)
_CONV = [
    ((2, 4, 9), (6, 2, 3), (2,), (1,), 2),
    ((2, 3, 7, 6), (4, 3, 3, 2), (1, 2), (2, 1), 1),
    ((1, 2, 5, 4, 4), (2, 2, 2, 2, 2), (1, 1, 1), (1, 1, 1), 1),
]
# pooling cases: (x shape, kernel, stride, padding, dilation, ceil_mode)
_POOL = [
    ((2, 3, 7, 6), (3, 2), (2, 2), (1, 0), (1, 2), False),
    ((1, 2, 9), (3,), (2,), (1,), (1,), True),
    ((1, 1, 4, 5, 4), (2, 2, 2), (2, 1, 2), (0, 1, 0), (1, 1, 1), False),
]


def _conv_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    cases: dict[str, list[tuple[Any, ...]]] = {"conv_forward": [], "conv_backward_input": [], "conv_backward_weight": []}
    for x_shape, w_shape, stride, dilation, groups in _CONV:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        out = tuple((s - d * (k - 1) - 1) // t + 1 for s, k, t, d in zip(x_shape[2:], w_shape[2:], stride, dilation))
        grad = rng.standard_normal((x_shape[0], w_shape[0]) + out)
        cases["conv_forward"].append((x, w, stride, dilation, groups))
        cases["conv_backward_input"].append((grad, w, x_shape, stride, dilation, groups))
        cases["conv_backward_weight"].append((grad, x, w_shape, stride, dilation, groups))
    return cases


def _pad_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    x = rng.standard_normal((2, 3, 5, 6))
    grad = rng.standard_normal((2, 3, 9, 8))
    modes = ("zero", "constant", "reflective", "replicative")
    return {
        "pad": [(x, (2, 1), mode, 0.5) for mode in modes],
        "pad_backward": [(grad, (2, 1), mode) for mode in modes],
    }


def _pool_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    cases: dict[str, list[tuple[Any, ...]]] = {name: [] for name in ("max_pool_forward", "max_pool_backward", "window_sum", "window_sum_backward")}
    for x_shape, kernel, stride, padding, dilation, ceil in _POOL:
        spatial = x_shape[len(x_shape) - len(kernel):]
        plan = pool.make_plan(spatial, kernel, stride, padding, dilation, ceil)
        x = rng.standard_normal(x_shape)
        grad = rng.standard_normal(x_shape[: len(x_shape) - len(kernel)] + plan.out)
        winners = rng.integers(0, math.prod(kernel), size=grad.shape).astype("int32")
        cases["max_pool_forward"].append((x, plan))
        cases["max_pool_backward"].append((grad, _Int(winners), plan, x_shape))
        cases["window_sum"].append((x, plan))
        cases["window_sum_backward"].append((grad, plan, x_shape))
    return cases


def _relu_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    x = rng.standard_normal((4, 33))
    x[0, :4] = 0.0
    return {"relu_forward": [(x,)], "relu_backward": [(rng.standard_normal((4, 33)), x * (x > 0))]}


def _scatter_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    index = rng.integers(0, 5, size=12)
    index[:3] = 4  # repeated indices accumulate
    return {"index_add": [(rng.standard_normal((12, 3)), _Int(index), 6), (rng.standard_normal((7,)), _Int(index[:7]), 5)]}


def _erf_cases(rng: Any) -> dict[str, list[tuple[Any, ...]]]:
    x = rng.standard_normal((6, 7)) * 3.0
    x[0, :3] = (0.0, 1e-8, 7.0)
    return {"erf": [(x,)]}


# einsum has no generic kernel (without one, nk.einsum composes matmul nodes): each case is
# checked against the same contraction written with Array API functions on the reference
_EINSUM: list[tuple[str, tuple[tuple[int, ...], ...], Callable[..., Any]]] = [
    ("ij,jk->ik", ((3, 4), (4, 2)), lambda xp, a, b: xp.matmul(a, b)),
    ("bij,bkj->bik", ((2, 3, 4), (2, 5, 4)), lambda xp, a, b: xp.matmul(a, xp.permute_dims(b, (0, 2, 1)))),
    ("ij->j", ((3, 4),), lambda xp, a: xp.sum(a, axis=0)),
    ("i,j->ij", ((3,), (4,)), lambda xp, a, b: xp.reshape(a, (3, 1)) * xp.reshape(b, (1, 4))),
]


def _einsum(ctx: Check) -> tuple[str, str]:
    backend, reference = ctx.backend, backends.get(ctx.reference)
    override = backend.kernels.get("einsum")
    if override is None:
        return fallback("no einsum: nk.einsum composes permute/reshape/matmul nodes")
    dtype = backends.float64 if backend.has_dtype("float64") else backends.float32
    rtol, atol = tolerance(dtype.name)
    rng = host_rng(12)
    for subscripts, shapes, written in _EINSUM[:2] if ctx.quick else _EINSUM:
        values = [rng.standard_normal(shape) for shape in shapes]
        with reference.scope():
            expected = host(written(reference.xp, *(reference.asarray(v, dtype) for v in values)))
        with backend.scope():
            actual = host(override(backend.xp, subscripts, *(backend.asarray(v, dtype) for v in values)))
        assert_close(actual, expected, f"einsum {subscripts!r}", rtol, atol)
    return provided("override agrees with the Array API contraction")


class _Int:
    """An integer host array that goes to the device as it is (not converted to floating)."""

    def __init__(self, array: Any) -> None:
        self.array = array


def _on(backend: Any, args: tuple[Any, ...], dtype: Any) -> tuple[Any, ...]:
    cpu = backends.get("cpu")
    converted = []
    for arg in args:
        if isinstance(arg, _Int):
            converted.append(backend.asarray(arg.array))
        elif cpu.owns(arg) and hasattr(arg, "shape"):
            converted.append(backend.asarray(arg, dtype))
        else:
            converted.append(arg)
    return tuple(converted)


def _outputs(value: Any) -> list[Any]:
    return [host(v) for v in value] if isinstance(value, tuple) else [host(value)]


def _checker(name: str) -> Callable[[Check], tuple[str, str]]:
    generic = KERNELS[name]

    def check(ctx: Check) -> tuple[str, str]:
        backend, reference = ctx.backend, backends.get(ctx.reference)
        dtype = backends.float64 if backend.has_dtype("float64") else backends.float32
        rtol, atol = tolerance(dtype.name)
        chosen: Callable[..., Any] = backend.kernel(name, generic)
        rng = host_rng(11)
        cases = {**_conv_cases(rng), **_pad_cases(rng), **_pool_cases(rng), **_relu_cases(rng), **_erf_cases(rng),
                 **_scatter_cases(rng)}[name]
        for index, args in enumerate(cases[:1] if ctx.quick else cases):
            with reference.scope():
                expected = _outputs(generic(reference.xp, *_on(reference, args, dtype)))
            with backend.scope():
                actual = _outputs(chosen(backend.xp, *_on(backend, args, dtype)))
            for part, (a, e) in enumerate(zip(actual, expected)):
                assert_close(a, e, f"{name} case {index} output {part}", rtol, atol)
        if name in backend.kernels:
            return provided("override agrees with the generic kernel")
        if chosen is FUNCTIONAL.get(name):
            return fallback("generic kernel, functional form")
        return fallback("generic kernel")

    return check


def _unchecked(name: str) -> Callable[[Check], tuple[str, str]]:
    def check(ctx: Check) -> tuple[str, str]:
        raise AssertionError(f"override {name!r} has no conformance case (not a kernel name neuronika calls, or a new one)")

    return check


def checks(ctx: Check) -> list[tuple[str, Callable[[Check], Any]]]:
    """The area's checks on this backend: one per kernel name, and one failing entry per
    override under a name the table has no case for."""
    unknown = sorted(set(ctx.backend.kernels) - set(KERNELS) - {"einsum"})
    return [(name, _checker(name)) for name in KERNELS] + [("einsum", _einsum)] + [(name, _unchecked(name)) for name in unknown]


CHECKS = {"kernels": checks}
