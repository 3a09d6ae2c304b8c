"""Testing helpers, public for backend authors: a gradient checker and backend parametrisation.

``gradcheck`` compares the gradients that back-propagation gives with central finite differences
(in float64). Small inputs are checked element by element; large ones along random directions
(as Chainer's ``check_backward``), which costs two forward passes per direction.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Sequence

from .autograd import Var, VarDiff, from_ndarray
from .backends import Device, available, get as get_backend

__all__ = ["gradcheck", "backend_names", "backend_params"]

ALL_BACKENDS = ("numpy", "array_api_strict", "cupy")


def backend_names() -> list[str]:
    """The built-in backends that can run on this machine."""
    usable = available()
    return [name for name in ALL_BACKENDS if name in usable]


def backend_params() -> list[Any]:
    """``pytest.param`` objects for every built-in backend; unusable ones are skipped with a reason.
    CuPy runs on ``cuda:0`` and, where there are two GPUs or more, also on ``cuda:1``.

    Use as ``@pytest.fixture(params=backend_params())`` to run a test on every backend.
    """
    import pytest  # test-time dependency only

    usable = set(available())
    params = []
    for name in ALL_BACKENDS:
        marks = []
        if name not in usable:
            reason = {
                "cupy": "no CUDA GPU with CuPy on this machine (install neuronika[cuda12] or [cuda13] on a GPU host)",
                "array_api_strict": "array_api_strict is not installed (pip install array-api-strict)",
            }.get(name, f"backend {name} is unavailable")
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(name, id=name, marks=marks))
        if name == "cupy" and not marks and _cuda_device_count() >= 2:
            # a second GPU: the placement rules only show when the device is not GPU 0
            params.append(pytest.param("cuda:1", id="cupy:1"))
    return params


def _cuda_device_count() -> int:
    from .backends.cupy import device_count

    return device_count()


def gradcheck(
    fn: Callable[..., Var],
    inputs: Sequence[Any],
    *,
    device: "str | Device | None" = None,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    directions: int = 3,
    max_elementwise: int = 64,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s back-propagated gradients against central finite differences.

    ``inputs`` are host arrays (or nested lists); each becomes a float64 differentiable leaf on
    ``device`` and ``fn(*leaves)`` must return the variable to check. The output is contracted with
    a random cotangent ``r`` (so every output element matters): the analytic gradient of
    ``Σ r·fn(x)`` is compared with ``Σ r·(fn(x + eps·d) - fn(x - eps·d)) / 2eps`` for every unit
    direction ``d`` of inputs with at most ``max_elementwise`` elements, and for ``directions``
    random directions of larger ones. Raises ``AssertionError`` naming the input and the worst
    element on a mismatch; returns True otherwise.

    >>> nk.testing.gradcheck(lambda x: (x * x).sum(), [[1.0, 2.0]])
    True
    """
    backend = get_backend(device)
    rng = backend_rng(seed)
    leaves: list[VarDiff] = [
        from_ndarray(value, dtype="float64", device=backend.device).requires_grad() for value in inputs
    ]
    out = fn(*leaves)
    if not isinstance(out, VarDiff):
        raise TypeError("gradcheck: fn must return a variable that depends on its inputs")
    out.forward()
    cotangent = rng.standard_normal(out.shape) if out.shape else rng.standard_normal()

    def evaluate() -> Any:
        out.forward()
        return out.numpy()

    for leaf in leaves:
        leaf._node.grad = None
    out.backward(backend.asarray(cotangent, leaves[0].dtype) if out.shape else float(cotangent))
    analytic = [leaf._node.backend.to_host(leaf.grad) for leaf in leaves]

    for position, (leaf, grad) in enumerate(zip(leaves, analytic)):
        base = leaf.numpy()
        size = base.size
        if size <= max_elementwise:
            probes: Iterator[Any] = (_unit(base, i) for i in range(size))
        else:
            probes = (rng.standard_normal(base.shape) for _ in range(directions))
        for index, direction in enumerate(probes):
            leaf.assign(base + eps * direction)
            upper = evaluate()
            leaf.assign(base - eps * direction)
            lower = evaluate()
            leaf.assign(base)
            # difference the outputs element-wise before contracting: large unrelated outputs
            # then cannot swamp a small change in floating point
            numeric = float(((upper - lower) * cotangent).sum()) / (2 * eps)
            expected = float((grad * direction).sum())
            if not math.isclose(expected, numeric, rel_tol=rtol, abs_tol=atol) or math.isnan(expected):
                where = f"element {index}" if size <= max_elementwise else f"random direction {index}"
                raise AssertionError(
                    f"gradcheck: input {position} (shape {tuple(base.shape)}), {where}: "
                    f"back-propagation gives {expected!r}, finite differences {numeric!r}"
                )
    out.forward()
    return True


def _unit(base: Any, index: int) -> Any:
    direction = base * 0.0
    direction.reshape(-1)[index] = 1.0
    return direction


def backend_rng(seed: int) -> Any:
    """A host random generator (NumPy's) for test probes; never used by graphs."""
    numpy_backend = get_backend("cpu")
    return numpy_backend.host_rng(seed)  # type: ignore[attr-defined]
