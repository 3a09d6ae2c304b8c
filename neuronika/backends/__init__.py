"""Backend registry: the only door between neuronika and concrete array libraries.

A *backend* wraps one array library (NumPy, CuPy, array_api_strict, or a third party's) on one
device. It hands out the Array API namespace ``xp`` that the rest of the package calls, and the
capabilities the standard lacks: random numbers, host copies, and kernel overrides (a faster
implementation of a named kernel, e.g. ``conv_forward``).

Devices are written ``"cpu"`` (NumPy), ``"cuda"`` / ``"cuda:N"`` (CuPy) or ``"<backend>[:N]"``
for any registered backend. The default device comes from, in order: the innermost
``with default_device(...)`` block, :func:`set_default_device`, the ``NEURONIKA_DEVICE``
environment variable, and finally ``"cpu"``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from ._base import Backend, BackendUnavailableError, DType, bool_, float16, float32, float64, int32, int64, to_dtype

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "Device",
    "DType",
    "available",
    "default_device",
    "get",
    "get_default_device",
    "get_rng_state",
    "manual_seed",
    "owner",
    "register",
    "to_host",
    "resolve",
    "set_default_device",
    "set_rng_state",
    "float16",
    "float32",
    "float64",
    "int32",
    "int64",
    "bool_",
    "to_dtype",
]

# Device aliases: what users write -> the registered backend name.
_ALIASES = {"cpu": "numpy", "cuda": "cupy", "gpu": "cupy"}
# Canonical spellings when a device is printed back.
_DISPLAY = {"numpy": "cpu", "cupy": "cuda"}


class Device:
    """A place where arrays live: a registered backend and a device index.

    ``Device("cuda:1")`` parses a device string; ``str(device)`` prints it back (``"cpu"``,
    ``"cuda:1"``, ``"array_api_strict"``). Two devices are equal when their backend and index are.

    >>> nk.Device("cuda:1").backend_name, nk.Device("cuda:1").index, str(nk.Device("cpu"))
    ('cupy', 1, 'cpu')
    """

    __slots__ = ("backend_name", "index")
    backend_name: str
    index: int

    def __init__(self, spec: "str | Device") -> None:
        if isinstance(spec, Device):
            self.backend_name, self.index = spec.backend_name, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(
                f"device must be a string such as 'cpu', 'cuda:0' or 'array_api_strict', "
                f"or a neuronika Device; got {type(spec).__name__} {spec!r}"
            )
        written, colon, index = spec.strip().partition(":")
        name = _ALIASES.get(written.lower(), written.lower())
        if colon:
            # "cpu:" (no index) and "cuda:01" (a second spelling of cuda:1) are typos, not devices
            if not (index.isascii() and index.isdigit()) or (len(index) > 1 and index[0] == "0"):
                raise ValueError(
                    f"device {spec!r}: the index after ':' must be a non-negative integer written "
                    f"without leading zeros (e.g. {written}:0 or {written}:1), or leave out ':' for device 0"
                )
            idx = int(index)
        else:
            idx = 0
        if name not in _FACTORIES:
            raise ValueError(
                f"unknown device {spec!r}: registered backends are {sorted(_FACTORIES)} "
                f"(and the aliases 'cpu' for numpy, 'cuda[:N]' for cupy)"
            )
        self.backend_name, self.index = name, idx

    def __str__(self) -> str:
        shown = _DISPLAY.get(self.backend_name, self.backend_name)
        if self.backend_name == "numpy":
            return shown
        return f"{shown}:{self.index}" if self.index or self.backend_name == "cupy" else shown

    def __repr__(self) -> str:
        return f"Device({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return self.backend_name == other.backend_name and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.backend_name, self.index))


_FACTORIES: dict[str, Callable[[int], Backend]] = {}
_PROBES: dict[str, Callable[[], bool]] = {}
_INSTANCES: dict[tuple[str, int], Backend] = {}
_SEED: list[int | None] = [None]
# Guards the three tables above: two threads using a device for the first time must get the same
# instance (two instances of one device would refuse to combine their arrays), and a seed must
# reach every instance, including one being created at that moment.
_LOCK = threading.RLock()


def register(
    name: str,
    factory: Callable[[int], Backend],
    probe: Callable[[], bool] | None = None,
) -> None:
    """Register a backend under ``name``.

    ``factory(index)`` returns a :class:`Backend` for device ``index``; it is called lazily, the
    first time the device is used. ``probe()`` answers cheaply whether the backend can run on this
    machine (used by :func:`available`); without one, the factory is tried.
    """
    if not name.isidentifier():
        raise ValueError(f"backend name {name!r} must be a Python identifier")
    with _LOCK:
        _FACTORIES[name] = factory
        if probe is not None:
            _PROBES[name] = probe
        for key in [key for key in _INSTANCES if key[0] == name]:
            del _INSTANCES[key]


def available() -> list[str]:
    """The registered backends that can run on this machine, in registration order.

    >>> "numpy" in nk.backends.available()
    True
    """
    names = []
    for name in _FACTORIES:
        probe = _PROBES.get(name)
        try:
            ok = probe() if probe is not None else bool(get(name))
        except Exception:
            ok = False
        if ok:
            names.append(name)
    return names


def get(device: "str | Device | Backend | None" = None) -> Backend:
    """The backend instance for a device (``None``: the default device).

    Each device has exactly one instance per process, created on first use under a lock, so
    threads that start using a device at the same time share it.

    >>> str(nk.backends.get("cpu").device)
    'cpu'
    """
    if isinstance(device, Backend):
        return device
    dev = Device(device) if device is not None else get_default_device()
    key = (dev.backend_name, dev.index)
    backend = _INSTANCES.get(key)  # the common case: no lock once the instance exists
    if backend is None:
        with _LOCK:
            backend = _INSTANCES.get(key)
            if backend is None:
                backend = _FACTORIES[dev.backend_name](dev.index)
                backend.device = dev
                if _SEED[0] is not None:
                    backend.seed(_SEED[0])
                _INSTANCES[key] = backend
    return backend


resolve = get


def owner(array: object) -> Backend:
    """The backend (among those in use) that holds ``array``; raises TypeError for a foreign one."""
    for backend in list(_INSTANCES.values()):
        if backend.owns(array):
            return backend
    numpy_backend = get("numpy")
    if numpy_backend.owns(array):
        return numpy_backend
    raise TypeError(f"{type(array).__name__} is not an array of any neuronika backend in use")


def to_host(array: object) -> object:
    """A NumPy copy of an array of any backend in use.

    >>> nk.backends.to_host(nk.ones(2).data).tolist()
    [1.0, 1.0]
    """
    return owner(array).to_host(array)


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend, present and future, for reproducible runs.

    >>> nk.manual_seed(7); a = nk.rand(3).numpy(); nk.manual_seed(7); bool((a == nk.rand(3).numpy()).all())
    True
    """
    seed = int(seed)
    with _LOCK:
        _SEED[0] = seed
        for backend in _INSTANCES.values():
            backend.seed(seed)


def get_rng_state() -> dict[str, Any]:
    """The state of the random generator of every device in use (the default device included),
    as ``{device string: state}``.

    The states are plain data (dicts of ints and strings), so they go into a checkpoint with
    ``nk.save`` and come back with ``nk.load``; :func:`set_rng_state` restores them, in this
    process or a fresh one, and the random numbers that follow (``rand``, dropout masks,
    initialisers, ``shuffle()``) are those that would have followed here.

    >>> state = nk.get_rng_state(); a = nk.rand(2).numpy(); nk.set_rng_state(state); bool((a == nk.rand(2).numpy()).all())
    True
    """
    get()  # the default device is always part of the state
    with _LOCK:
        return {str(backend.device): backend.get_rng_state() for backend in _INSTANCES.values()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators from :func:`get_rng_state`'s dict (devices not in use yet are
    created). Devices it does not list keep their generators. Raises ValueError naming the
    device whose state does not fit its backend, before changing any generator.

    >>> state = nk.get_rng_state(); a = nk.randn(3).numpy(); nk.set_rng_state(state); bool((a == nk.randn(3).numpy()).all())
    True
    """
    if not isinstance(state, dict):
        raise TypeError(f"set_rng_state: expected the dict that get_rng_state() returns, got {type(state).__name__}")
    targets = [(get(device), device_state) for device, device_state in state.items()]
    with _LOCK:
        for backend, device_state in targets:
            backend.check_rng_state(device_state)
        for backend, device_state in targets:
            backend.set_rng_state(device_state)


# --- default device ------------------------------------------------------------------------------

_DEFAULT: ContextVar[Device | None] = ContextVar("neuronika_default_device", default=None)
_GLOBAL_DEFAULT: list[Device | None] = [None]


def get_default_device() -> Device:
    """The device that constructors use when given no ``device=``.

    >>> str(nk.get_default_device())
    'cpu'
    """
    dev = _DEFAULT.get()
    if dev is not None:
        return dev
    if _GLOBAL_DEFAULT[0] is None:
        _GLOBAL_DEFAULT[0] = Device(os.environ.get("NEURONIKA_DEVICE", "cpu") or "cpu")
    return _GLOBAL_DEFAULT[0]  # type: ignore[return-value]


def set_default_device(device: "str | Device") -> None:
    """Set the process-wide default device (a ``default_device`` block still takes precedence).

    >>> nk.set_default_device("array_api_strict"); str(nk.ones(1).device)
    'array_api_strict'
    >>> nk.set_default_device("cpu")
    """
    dev = Device(device)
    get(dev)  # fail now, with the install hint, rather than at the first constructor
    _GLOBAL_DEFAULT[0] = dev


@contextlib.contextmanager
def default_device(device: "str | Device") -> Iterator[Device]:
    """``with default_device("cuda"):`` makes constructors in the block use that device.

    >>> with nk.default_device("array_api_strict"):
    ...     str(nk.ones(1).device)
    'array_api_strict'
    """
    dev = Device(device)
    get(dev)
    token = _DEFAULT.set(dev)
    try:
        yield dev
    finally:
        _DEFAULT.reset(token)


# --- built-in backends ---------------------------------------------------------------------------

def _lazy(module: str) -> Callable[[int], Backend]:
    def factory(index: int) -> Backend:
        backend: Backend = importlib.import_module(f"{__name__}.{module}").create(index)
        return backend

    return factory


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cupy_probe() -> bool:
    """CuPy is installed, sees a GPU and loads its CUDA libraries (creating the cuda:0 backend
    checks them; the instance is kept)."""
    if not _installed("cupy"):
        return False
    if importlib.import_module(f"{__name__}.cupy").device_count() == 0:
        return False
    try:
        get("cupy")
    except BackendUnavailableError:
        return False
    return True


def _strict_factory(index: int) -> Backend:
    try:
        return _lazy("array_api_strict")(index)
    except ImportError as error:
        raise BackendUnavailableError(
            f"device 'array_api_strict:{index}' needs the array-api-strict package, which cannot be "
            f'imported here ({error}): pip install array-api-strict (or pip install "neuronika[test]")'
        ) from error


register("numpy", _lazy("numpy"), probe=lambda: True)
register("array_api_strict", _strict_factory, probe=lambda: _installed("array_api_strict"))
register("cupy", _lazy("cupy"), probe=_cupy_probe)

