"""The Backend interface that every array library plugs into, and neuronika's dtypes."""

from __future__ import annotations

import abc
import contextlib
from typing import Any, Callable, ContextManager, Sequence


class BackendUnavailableError(RuntimeError):
    """A backend was asked for on a machine that cannot run it (message carries the fix)."""


class DType:
    """An element type, independent of any array library.

    Floating: ``nk.float32``, ``nk.float64``, ``nk.float16``; integer: ``nk.int32``,
    ``nk.int64``; and ``nk.bool``. Compares equal to its name (``nk.float32 == "float32"``).
    ``kind`` is ``"f"``, ``"i"`` or ``"b"``; only floating variables can be differentiable.

    >>> nk.float32 == "float32", nk.float64.itemsize, nk.int64.kind
    (True, 8, 'i')
    """

    __slots__ = ("name", "itemsize", "kind")

    def __init__(self, name: str, itemsize: int, kind: str = "f") -> None:
        self.name = name
        self.itemsize = itemsize
        self.kind = kind

    @property
    def is_floating(self) -> bool:
        return self.kind == "f"

    def __repr__(self) -> str:
        return f"neuronika.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (to_dtype, (self.name,))


#: the capabilities the standard lacks that a backend provides by registering a kernel of that name
_CAPABILITY_KERNELS = frozenset({"einsum", "erf", "index_add"})

float16 = DType("float16", 2)
float32 = DType("float32", 4)
float64 = DType("float64", 8)
int32 = DType("int32", 4, "i")
int64 = DType("int64", 8, "i")
bool_ = DType("bool", 1, "b")
_DTYPES = {d.name: d for d in (float16, float32, float64, int32, int64, bool_)}
#: words for the kinds an op accepts, used in error messages
KIND_NAMES = {"f": "floating", "i": "integer", "b": "bool"}


def to_dtype(dtype: "DType | str | Any") -> DType:
    """Normalise ``nk.float32``, ``"float32"``, a library's dtype object (``np.dtype("float32")``,
    ``cupy.float32``, ``array_api_strict.float32``) or a NumPy scalar type (``np.float32``) to a
    :class:`DType`, by name."""
    if isinstance(dtype, DType):
        return dtype
    if isinstance(dtype, str):
        name = dtype
    elif isinstance(dtype, type):
        name = dtype.__name__  # np.float64 is a class; its ``name`` attribute is a descriptor
    else:
        found = getattr(dtype, "name", None)
        name = found if isinstance(found, str) else str(dtype)
    name = name.rsplit(".", 1)[-1]
    try:
        return _DTYPES[name]
    except KeyError:
        raise TypeError(
            f"unsupported dtype {dtype!r}: neuronika variables hold one of {sorted(_DTYPES)}"
        ) from None


class Backend(abc.ABC):
    """One array library on one device.

    Subclasses set ``name`` and ``xp`` (an Array API namespace) and implement the capabilities
    below; everything else in neuronika calls only ``xp`` and these methods. A subclass may add
    faster implementations of named kernels to ``kernels`` (see :meth:`kernel`).
    """

    name: str = "?"
    xp: Any = None
    #: the library's own device object, passed as ``device=`` to ``xp`` creation functions
    native_device: Any = None
    #: whether ``xp``'s element-wise functions take ``out=`` (write into an existing array):
    #: NumPy and CuPy do, the Array API standard (array_api_strict) does not
    supports_out: bool = False
    #: kernel overrides, name -> callable with the generic kernel's signature
    kernels: dict[str, Callable[..., Any]]
    #: the neuronika Device (set by the registry)
    device: Any = None

    # capability declarations: where array libraries legitimately differ ------------------------
    #: whether arrays can be written in place (``a[key] = v``, ``a += b`` on the same buffer).
    #: An immutable backend (JAX) sets False: kernels that write into a buffer then take their
    #: functional form (:meth:`kernel`), optimizers keep the arrays their updates return, and
    #: the engine never relies on a write being seen through another reference.
    mutable_arrays: bool = True
    #: the dtypes the backend really computes in (None: every neuronika dtype, float16/32/64,
    #: int32/64 and bool, that ``xp`` names). A library that names a dtype it silently demotes
    #: (JAX without x64) lists the ones it keeps.
    dtypes: tuple[str, ...] | None = None
    #: whether ``a[i:j:-k]`` works (the standard allows negative steps; PyTorch tensors refuse
    #: them). Without it ``x[key]`` with a negative step raises when it is built, saying to flip.
    negative_slice_steps: bool = True
    #: operations the library runs natively, beyond the Array API standard, that are not kernel
    #: overrides (e.g. ``"fft"``). The capabilities that *are* kernels (``"einsum"``, ``"erf"``,
    #: ``"index_add"``, the scatter-add) are native exactly when ``kernels`` has them; without them the op
    #: takes neuronika's generic Array API form. Reported by :meth:`capabilities`.
    native_ops: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.kernels = {}
        names = _DTYPES if self.dtypes is None else self.dtypes
        self._xp_dtypes = {
            name: getattr(self.xp, name) for name in names if name in _DTYPES and hasattr(self.xp, name)
        }

    def __repr__(self) -> str:
        return f"<neuronika backend {self.name} on {self.device}>"

    # dtypes ----------------------------------------------------------------------------------
    def dtype(self, dtype: DType) -> Any:
        """The namespace's dtype object for a neuronika dtype."""
        try:
            return self._xp_dtypes[dtype.name]
        except KeyError:
            raise TypeError(
                f"the {self.name} backend has no {dtype.name} (its dtypes are "
                f"{sorted(self._xp_dtypes)}); choose one of those"
            ) from None

    def dtype_of(self, array: Any) -> DType | None:
        """The neuronika dtype of an array, or None when neuronika has no such dtype."""
        dtype = array.dtype
        name = getattr(dtype, "name", None) or str(dtype)
        return _DTYPES.get(str(name).rsplit(".", 1)[-1])

    # arrays ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        """An array of this backend holding ``obj`` (array of any library, nested lists, scalar)."""

    def asarray_copy(self, obj: Any, dtype: DType) -> Any:
        """Like :meth:`asarray`, but the result never shares memory with ``obj`` (what the
        doors for user values use: a later write on either side is not seen by the other).
        The generic version copies the converted array; a backend may copy only once. On an
        immutable backend an array it already owns is shared, not copied: neither side can
        write into it."""
        if not self.mutable_arrays and self.owns(obj):
            return self.asarray(obj, dtype)
        with self.scope():
            return self.xp.asarray(self.asarray(obj, dtype), copy=True)

    @abc.abstractmethod
    def to_host(self, array: Any) -> Any:
        """A NumPy copy of ``array`` on the host."""

    @abc.abstractmethod
    def owns(self, array: Any) -> bool:
        """Whether ``array`` is an array of this backend on this backend's device."""

    def scope(self) -> ContextManager[Any]:
        """A context in which kernels run on this backend's device (CuPy: the current GPU)."""
        return contextlib.nullcontext()

    # random numbers --------------------------------------------------------------------------
    @abc.abstractmethod
    def seed(self, seed: int) -> None:
        """Re-seed this backend's random generator."""

    @abc.abstractmethod
    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        """Samples of U[low, high)."""

    @abc.abstractmethod
    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        """Samples of N(mean, std²)."""

    @abc.abstractmethod
    def permutation(self, n: int) -> Any:
        """A random permutation of ``range(n)`` as a host list of ints."""

    def get_rng_state(self) -> Any:
        """The generator's state as plain data (dicts, lists, ints, strings: what ``nk.save``
        stores); a backend that cannot capture it says so (RNG state is a capability)."""
        raise NotImplementedError(f"the {self.name} backend cannot capture its random generator's state")

    def check_rng_state(self, state: Any) -> None:
        """Raise ValueError unless ``state`` is a state :meth:`set_rng_state` accepts."""
        raise NotImplementedError(f"the {self.name} backend cannot restore its random generator's state")

    def set_rng_state(self, state: Any) -> None:
        """Make the generator continue from ``state`` (from :meth:`get_rng_state`)."""
        raise NotImplementedError(f"the {self.name} backend cannot restore its random generator's state")

    # collective communication (neuronika.distributed) ------------------------------------------
    def host_view(self, array: Any) -> Any | None:
        """A writable, C-contiguous host buffer that *is* ``array`` (so MPI can reduce into it in
        place), or None when the array does not live in host memory as one (the caller then goes
        through :meth:`to_host` and :meth:`asarray`)."""
        return None

    def communicator(self, world: Any) -> Any | None:
        """A device-side communicator for this backend's arrays over the processes of ``world``
        (an mpi4py communicator), e.g. NCCL for CuPy; None: the arrays take the host MPI
        communicator. See ``neuronika.distributed`` for the interface."""
        return None

    # kernels ---------------------------------------------------------------------------------
    def kernel(self, name: str, generic: Callable[..., Any]) -> Callable[..., Any]:
        """The override registered under ``name``, or else the generic kernel: ``generic`` on a
        mutable backend, its functional form (``neuronika.kernels.FUNCTIONAL``: no write into
        an array) on an immutable one."""
        found = self.kernels.get(name)
        if found is not None:
            return found
        if not self.mutable_arrays:
            from ..kernels import FUNCTIONAL

            return FUNCTIONAL.get(name, generic)
        return generic

    # capabilities ----------------------------------------------------------------------------
    def has_dtype(self, dtype: "DType | str") -> bool:
        """Whether this backend computes in ``dtype``."""
        return to_dtype(dtype).name in self._xp_dtypes

    def native(self, op: str) -> bool:
        """Whether ``op`` (``"einsum"``, ``"erf"``, ``"fft"``, ``"index_add"``, or a kernel
        name) runs natively on this backend rather than through neuronika's generic form."""
        return op in self.native_ops or op in self.kernels

    def capabilities(self) -> dict[str, Any]:
        """The backend's declarations as plain data (what the conformance report prints)."""
        return {
            "mutable_arrays": self.mutable_arrays,
            "negative_slice_steps": self.negative_slice_steps,
            "dtypes": sorted(self._xp_dtypes),
            "float_dtypes": sorted(name for name in self._xp_dtypes if _DTYPES[name].kind == "f"),
            "native_ops": sorted(self.native_ops | (_CAPABILITY_KERNELS & set(self.kernels))),
            "kernel_overrides": sorted(self.kernels),
            "rng_state": type(self).get_rng_state is not Backend.get_rng_state,
        }
