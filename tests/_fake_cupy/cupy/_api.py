"""Builds the stand-in's functions and methods from CuPy's real signatures (``_signatures.py``).

Every call is first bound to CuPy 14's signature (so an argument CuPy does not take raises
``TypeError``, e.g. ``cupy.zeros(3, device=...)``), then run by NumPy under the device rules of
``_core``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from . import _core, _state
from ._signatures import SIGNATURES

# creation functions allocate on the current device and read no array (the *_like ones only
# read the prototype's shape and dtype)
CREATION = {"zeros", "ones", "full", "empty", "eye", "arange", "linspace", "zeros_like", "ones_like",
            "empty_like", "full_like"}
# dtype queries: no array data involved
# creation functions that only allocate or memset (no compiled kernel)
MEMSET = {"zeros", "empty", "zeros_like", "empty_like"}
# cuBLAS calls
BLAS = {"matmul", "dot", "tensordot", "einsum"}
META = {"finfo", "iinfo", "result_type", "can_cast", "issubdtype", "isdtype"}


def signature(qualified: str) -> tuple[str, inspect.Signature]:
    spec = SIGNATURES[qualified]
    kind, _, params = spec.partition("(")
    namespace: dict[str, Any] = {}
    exec(f"def f({params[:-1]}): pass", namespace)  # noqa: S102 - text generated from CuPy's own signatures
    return kind, inspect.signature(namespace["f"])


def _named(qualified: str, implementation: Callable[..., Any], sig: inspect.Signature) -> Callable[..., Any]:
    name = qualified.rsplit(".", 1)[-1]

    @functools.wraps(implementation)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{name}() {error}") from None
        return implementation(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__signature__ = sig  # type: ignore[attr-defined]
    wrapper.__doc__ = f"CuPy 14's ``{qualified}{sig}``, run by NumPy on the stand-in's current device."
    return wrapper


def _creation(np_function: Callable[..., Any], name: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        if name not in MEMSET:
            _state.require_library("nvrtc")  # a fill kernel, compiled at run time
        ignored: list[_core.ndarray] = []
        result = np_function(*_core._unwrap(args, ignored), **{k: _core._unwrap(v, ignored) for k, v in kwargs.items()})
        return _core._wrap(result, _state.current())

    return run


def _meta(np_function: Callable[..., Any]) -> Callable[..., Any]:
    def plain(obj: Any) -> Any:
        return obj.dtype if isinstance(obj, _core.ndarray) else obj

    return lambda *args, **kwargs: np_function(*map(plain, args), **{k: plain(v) for k, v in kwargs.items()})


def function(qualified: str, np_function: Callable[..., Any]) -> Callable[..., Any]:
    kind, sig = signature(qualified)
    name = qualified.rsplit(".", 1)[-1]
    if kind == "ufunc":
        implementation: Callable[..., Any] = lambda *args, **kwargs: _core.ufunc_call(np_function, args, kwargs)
    elif name in CREATION and qualified.count(".") == 1:
        implementation = _creation(np_function, name)
    elif name in META:
        implementation = _meta(np_function)
    else:
        implementation = lambda *args, **kwargs: _core.call(np_function, args, kwargs)
    if name in BLAS:
        plain = implementation

        def implementation(*args: Any, **kwargs: Any) -> Any:
            _state.require_library("cublas")
            return plain(*args, **kwargs)

    return _named(qualified, implementation, sig)


def method(qualified: str) -> Callable[..., Any]:
    """A generic ``ndarray`` method: NumPy's method of the same name under the device rules."""
    _, sig = signature(qualified)
    name = qualified.rsplit(".", 1)[-1]

    def implementation(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _core.call(lambda a, *rest, **options: getattr(a, name)(*rest, **options), (self, *args), kwargs)

    wrapped = _named(qualified, lambda *args, **kwargs: None, sig)

    def bound(self: Any, *args: Any, **kwargs: Any) -> Any:
        wrapped(*args, **kwargs)  # validates against CuPy's signature
        return implementation(self, *args, **kwargs)

    bound.__name__ = name
    return bound


def numpy_function(module: Any, name: str) -> Callable[..., Any]:
    renames = {"max": "amax", "min": "amin", "around": "round"}
    target = getattr(module, name, None) or getattr(module, renames.get(name, name))
    if name == "reshape":  # NumPy 2.1 renamed newshape to shape
        return lambda a, newshape=None, order="C", *, copy=None, **kw: np.reshape(a, kw.get("shape", newshape), order=order, copy=copy)
    return target  # type: ignore[no-any-return]


def install_methods() -> None:
    for qualified in SIGNATURES:
        prefix, _, name = qualified.rpartition(".")
        if prefix == "cupy.ndarray" and name not in vars(_core.ndarray):
            setattr(_core.ndarray, name, method(qualified))
