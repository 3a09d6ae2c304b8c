"""Conformance area ``capabilities``: what the Array API standard lacks, and the declarations."""

from __future__ import annotations

from typing import Any

from .. import backends
from ..autograd import from_ndarray, rand, randn
from ._common import assert_close, host, host_rng
from ._report import Check, Skip, fallback, provided


def _declared_mutability(check: Check) -> tuple[str, str]:
    """``mutable_arrays`` tells the truth: a mutable backend's arrays take ``a[key] = v``; an
    immutable one gets the generic kernels' functional forms."""
    backend = check.backend
    with backend.scope():
        array = backend.xp.zeros((3,), dtype=backend.dtype(backends.float32), device=backend.native_device)
        if backend.mutable_arrays:
            array[1:2] = 5.0
            assert_close(host(array), backends.get("cpu").asarray([0.0, 5.0, 0.0]), "a[1:2] = 5 on a mutable array")
            return provided("mutable: writes in place")
    from ..kernels import FUNCTIONAL, GENERIC

    for name, generic in GENERIC.items():
        chosen = backend.kernel(name, generic)
        if name not in backend.kernels and chosen is generic and name in FUNCTIONAL:
            raise AssertionError(f"immutable backend, but kernel {name} is the in-place generic form")
    return fallback("immutable: the generic kernels take their functional forms")


def _dtypes(check: Check) -> tuple[str, str]:
    backend = check.backend
    declared = backend.capabilities()["dtypes"]
    if "float32" not in declared:
        raise AssertionError(f"float32 (neuronika's default dtype) is missing; declared {declared}")
    for name in declared:
        var = from_ndarray([1.0, 0.0] if name == "bool" else [1.0, -2.0], dtype=name, device=check.device)
        if str(var.dtype) != name or backend.dtype_of(var.data) != name:
            raise AssertionError(f"a {name} variable holds {var.data.dtype}")
    return provided(", ".join(declared))


def _asarray_host(check: Check) -> tuple[str, str]:
    backend = check.backend
    values = host_rng(1).standard_normal((3, 4))
    for source in (values, values.tolist()):
        array = backend.asarray(source, backends.float64 if backend.has_dtype("float64") else backends.float32)
        if not backend.owns(array):
            raise AssertionError(f"asarray({type(source).__name__}) gave an array the backend does not own")
        assert_close(host(array), values, f"asarray({type(source).__name__})", 1e-6, 1e-6)
    copy = backend.asarray_copy(values, backends.float32)
    values[0, 0] = 1e6
    if float(host(copy)[0, 0]) == 1e6:
        raise AssertionError("asarray_copy shares memory with the host array")
    return provided()


def _asarray_dlpack(check: Check) -> tuple[str, str]:
    """An array of another library (array_api_strict or NumPy), handed over through DLPack."""
    backend = check.backend
    usable = backends.available()
    others = [d for d in ("array_api_strict", "cpu") if backends.Device(d).backend_name in usable and backends.Device(d) != backend.device]
    if not others:
        raise Skip("no second library to import from")
    other = others[0]
    values = host_rng(2).standard_normal((2, 5))
    foreign = backends.get(other).asarray(values, backends.float32)
    if not hasattr(foreign, "__dlpack__"):
        raise Skip(f"{other} arrays do not export DLPack")
    array = backend.asarray(foreign, backends.float32)
    if not backend.owns(array):
        raise AssertionError(f"asarray of a {other} array gave an array the backend does not own")
    assert_close(host(array), values.astype("float32"), f"asarray of a {other} array", 1e-6, 1e-6)
    return provided(f"from {other}")


def _to_host(check: Check) -> tuple[str, str]:
    backend = check.backend
    values = host_rng(3).standard_normal(6)
    array = backend.asarray(values, backends.float32)
    first = backend.to_host(array)
    if not backends.get("cpu").owns(first):
        raise AssertionError(f"to_host returned {type(first).__name__}, not a NumPy array")
    first[0] = 1e6
    assert_close(backend.to_host(array), values.astype("float32"), "to_host after writing into an earlier host copy", 1e-6, 1e-6)
    return provided()


def _owns(check: Check) -> tuple[str, str]:
    backend = check.backend
    mine = backend.asarray([1.0, 2.0], backends.float32)
    if not backend.owns(mine):
        raise AssertionError("owns(its own array) is False")
    if backend.owns([1.0, 2.0]):
        raise AssertionError("owns(a list) is True")
    other = "array_api_strict" if backend.device == backends.Device("cpu") else "cpu"
    if backends.Device(other).backend_name in backends.available() and backend.owns(backends.get(other).asarray([1.0], backends.float32)):
        raise AssertionError(f"owns(an array of {other}) is True")
    if backends.owner(mine) is not backend:
        raise AssertionError("nk.backends.owner(array) does not find the backend")
    return provided()


def _scope(check: Check) -> tuple[str, str]:
    backend = check.backend
    with backend.scope():
        made = backend.xp.ones((2,), dtype=backend.dtype(backends.float32), device=backend.native_device)
        total = made + made
    if not backend.owns(total):
        raise AssertionError("an array made inside scope() is not on the backend's device")
    return provided()


def _random(check: Check) -> tuple[str, str]:
    backend = check.backend
    for name in backend.capabilities()["float_dtypes"]:
        dtype = backends.to_dtype(name)
        sample = host(backend.uniform((2000,), dtype, -2.0, 3.0))
        if sample.shape != (2000,) or not (sample.min() >= -2.0 and sample.max() <= 3.0):
            raise AssertionError(f"uniform({name}) outside [-2, 3) or of shape {sample.shape}")
        if backend.dtype_of(backend.uniform((2,), dtype)) != name or backend.dtype_of(backend.normal((2,), dtype)) != name:
            raise AssertionError(f"uniform/normal ignore dtype {name}")
    normal = host(backend.normal((4000,), backends.float32, 1.0, 2.0)).astype("float64")
    if abs(normal.mean() - 1.0) > 0.15 or abs(normal.std() - 2.0) > 0.15:
        raise AssertionError(f"normal(1, 2): sample mean {normal.mean():.3f}, std {normal.std():.3f}")
    order = backend.permutation(50)
    if sorted(order) != list(range(50)) or not all(type(i) is int for i in order):
        raise AssertionError("permutation(50) is not a list of the ints 0..49")
    return provided()


def _draws(device: str) -> list[Any]:
    return [rand((5,), device=device).numpy(), randn((3,), device=device).numpy(),
            backends.get(device).permutation(10)]


def _same(a: list[Any], b: list[Any]) -> bool:
    return all((x == y).all() if hasattr(x, "all") else x == y for x, y in zip(a, b))


def _manual_seed(check: Check) -> tuple[str, str]:
    backends.manual_seed(7)
    first = _draws(check.device)
    backends.manual_seed(7)
    if not _same(first, _draws(check.device)):
        raise AssertionError("manual_seed(7) twice gives different draws")
    backends.manual_seed(8)
    if _same(first, _draws(check.device)):
        raise AssertionError("manual_seed(7) and manual_seed(8) give the same draws")
    return provided()


def _rng_state(check: Check) -> tuple[str, str]:
    backend = check.backend
    try:
        state = backend.get_rng_state()
    except NotImplementedError as error:
        raise Skip(f"capability not provided ({error}); checkpoints do not resume random streams exactly")
    _plain(state)
    after = _draws(check.device)
    backends.set_rng_state({check.device: state})
    if not _same(after, _draws(check.device)):
        raise AssertionError("set_rng_state(get_rng_state()) does not repeat the draws")
    try:
        backend.check_rng_state({"not": "a state"})
    except ValueError:
        return provided()
    raise AssertionError("check_rng_state accepted a state that is not one")


def _plain(value: Any) -> None:
    """Raise unless ``value`` is plain data (what ``nk.save`` stores)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AssertionError(f"get_rng_state: key {key!r} is not a string")
            _plain(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _plain(item)
    elif not isinstance(value, (int, float, str, bool, type(None))):
        raise AssertionError(f"get_rng_state holds a {type(value).__name__}, not plain data")


CHECKS = {
    "capabilities": [
        ("mutability declared", _declared_mutability),
        ("dtypes", _dtypes),
        ("asarray from host", _asarray_host),
        ("asarray from DLPack", _asarray_dlpack),
        ("to_host", _to_host),
        ("owns", _owns),
        ("scope", _scope),
        ("random numbers", _random),
        ("manual_seed reproducible", _manual_seed),
        ("get/set_rng_state", _rng_state),
    ],
}
