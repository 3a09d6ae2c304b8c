"""Host-side NumPy helpers for file I/O and bookkeeping on the CPU.

The design lets host-side file I/O (``neuronika/data``, ``neuronika/io.py``) use NumPy to parse
and write files; those few NumPy calls live here, so that ``neuronika/backends/`` stays the only
package that imports an array library. Arrays produced here are host arrays; they reach a device
through ``Backend.asarray``.
"""

from __future__ import annotations

import math
import zipfile
from typing import Any, BinaryIO, Iterable, Sequence

import numpy as np

def float64_matrix(rows: Sequence[Sequence[Any]], dtype: str = "float64") -> Any:
    """A host array of ``dtype`` from equal-length rows of numbers or numeric strings, each read
    as a float64 (as ``float()`` reads it) and then cast; ValueError for a cell that is not a
    number."""
    matrix = np.array(rows, dtype=np.float64)
    return matrix if dtype == "float64" else matrix.astype(dtype)


def concatenate_rows(blocks: Sequence[Any]) -> Any:
    """Host arrays of equal width stacked along the first axis."""
    return np.concatenate(blocks, axis=0)


def float64_values(values: Any) -> Any:
    """A host float64 array of whatever ``values`` holds (TypeError/ValueError if not numbers)."""
    return np.asarray(values, dtype=np.float64)


def permutation(n: int, seed: int) -> list[int]:
    """A permutation of ``range(n)`` from a generator seeded with ``seed`` (the same everywhere)."""
    order: list[int] = np.random.default_rng(seed).permutation(n).tolist()
    return order


def generator_state(generator: Any) -> dict[str, Any]:
    """The state of a NumPy ``Generator`` as plain data: its bit generator's state dict (for
    PCG64, ``{"bit_generator": "PCG64", "state": {"state": int, "inc": int}, "has_uint32": int,
    "uinteger": int}``), ints and strings only, so it survives JSON."""
    state: dict[str, Any] = _plain(generator.bit_generator.state)
    return state


def generator_from_state(state: Any, owner: str) -> Any:
    """A new NumPy ``Generator`` that continues from ``state`` (from :func:`generator_state`);
    ValueError naming ``owner`` when the state is not one."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    bit_generator = getattr(np.random, name, None) if isinstance(name, str) else None
    if bit_generator is None or not isinstance(bit_generator, type) or not issubclass(bit_generator, np.random.BitGenerator):
        raise ValueError(
            f"{owner}: not a random generator state (expected the dict get_rng_state() returns, "
            f"with a NumPy 'bit_generator' name), got {state!r:.200}"
        )
    try:
        generator = bit_generator()
        generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ValueError(f"{owner}: malformed {name} random generator state: {error}") from None
    return np.random.Generator(generator)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def index_array(order: Iterable[int]) -> Any:
    """A host int64 index array (for ``xp.take`` after ``Backend.asarray``)."""
    return np.asarray(list(order), dtype=np.int64)


def as_array(host: Any) -> Any:
    """``host`` (a host copy from ``Backend.to_host``) as a NumPy array."""
    return np.asarray(host)


def text_to_bytes_array(text: str) -> Any:
    """UTF-8 text as a uint8 array (to store a document inside an ``.npz`` archive)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def bytes_array_to_text(array: Any) -> str:
    return np.asarray(array).tobytes().decode("utf-8")


def storable(array: Any) -> Any:
    """``array`` (a host copy) as saved by :func:`write_npz`: native byte order; TypeError naming
    the dtype unless it is a float, int, unsigned or bool array (what :class:`NpzReader` reads)."""
    array = np.asarray(array)
    if array.dtype.kind not in STORED_KINDS or array.dtype.fields is not None:
        raise TypeError(f"a {array.dtype} array")
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


#: NumPy dtype kinds that checkpoints store: float, signed and unsigned int, bool
STORED_KINDS = "fiub"


def write_npz(stream: BinaryIO, arrays: dict[str, Any]) -> None:
    """Write host arrays as an uncompressed ``.npz`` archive (no pickles: object arrays raise)."""
    np.savez(stream, allow_pickle=False, **arrays)


class NotAnArchive(ValueError):
    """The bytes are not an ``.npz`` archive at all."""


class BadMember(ValueError):
    """A member of the archive that must not be decoded (the message says why)."""


_CHUNK = 1 << 20


class NpzReader:
    """Reads chosen arrays of an ``.npz`` archive, one at a time, checking each before decoding it.

    The archive is the zip that :func:`write_npz` writes: uncompressed (stored) ``.npy``
    members. A member is decoded only if it is stored uncompressed and unencrypted, its ``.npy``
    header declares a shape and dtype (of ``STORED_KINDS``) whose ``prod(shape) · itemsize``
    equals the bytes the zip directory says it stores, and those bytes lie inside the file. So
    decoding never allocates more than the file holds, and never unpickles anything.
    """

    def __init__(self, stream: BinaryIO, file_size: int) -> None:
        try:
            self._zip = zipfile.ZipFile(stream)
        except zipfile.BadZipFile as error:
            raise NotAnArchive(f"not a readable .npz archive: {error}") from None
        self._file_size = file_size
        self.members = {
            info.filename[: -len(".npy")]: info for info in self._zip.infolist() if info.filename.endswith(".npy")
        }

    def close(self) -> None:
        self._zip.close()

    def stored_size(self, name: str) -> int:
        """The bytes member ``name`` occupies in the file (KeyError if there is none)."""
        return int(self.members[name].compress_size)

    def read(self, name: str) -> Any:
        """Member ``name`` as a writable host array (KeyError if absent, :class:`BadMember` if it
        must not be decoded; a damaged one raises what ``zipfile`` raises, e.g. a bad CRC)."""
        info = self.members[name]
        if info.flag_bits & 0x1:
            raise BadMember(f"member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise BadMember(f"member {name!r} is compressed (zip method {info.compress_type}); nk.save stores members uncompressed")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > self._file_size:
            raise BadMember(
                f"member {name!r} declares {info.file_size} bytes stored as {info.compress_size} at offset "
                f"{info.header_offset}, which does not fit a {self._file_size}-byte file"
            )
        with self._zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise BadMember(f"member {name!r} has .npy format version {version}")
            if dtype.hasobject:
                raise BadMember(f"member {name!r} holds pickled Python objects")
            if dtype.kind not in STORED_KINDS or dtype.fields is not None:
                raise BadMember(f"member {name!r} has unsupported dtype {dtype}")
            if any(dim < 0 for dim in shape):
                raise BadMember(f"member {name!r} declares a negative size in shape {shape}")
            size = math.prod(shape) * dtype.itemsize
            header = member.tell()
            if header + size != info.file_size:
                raise BadMember(
                    f"member {name!r} declares shape {shape} of {dtype} ({size} bytes) but stores "
                    f"{info.file_size - header} bytes"
                )
            buffer = np.empty(size, dtype=np.uint8)
            position = 0
            while position < size:
                chunk = member.read(min(_CHUNK, size - position))
                if not chunk:
                    raise EOFError(f"member {name!r} ends after {position} of {size} bytes")
                buffer[position : position + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                position += len(chunk)
            member.read(1)  # reach the end of the member, where zipfile checks its CRC
        return np.ndarray(shape, dtype=dtype, buffer=buffer, order="F" if fortran else "C")


def kind(array: Any) -> str:
    """NumPy's dtype kind letter of a host array ('f' float, 'i' int, 'u' unsigned, 'b' bool, 'O' object …)."""
    return str(np.asarray(array).dtype.kind)


def contiguous(array: Any) -> Any:
    """``array`` (a host array) as a C-contiguous NumPy array (a copy only when it is not one)."""
    return np.ascontiguousarray(array)


def empty(shape: Sequence[int], like: Any) -> Any:
    """An uninitialised C-contiguous host array of ``shape`` with ``like``'s dtype."""
    return np.empty(tuple(shape), dtype=np.asarray(like).dtype)


class HostGenerator:
    """Random-number capabilities of a backend that draws from a NumPy ``Generator`` on the host
    (``self._rng``) — the NumPy and array_api_strict backends: permutations, and the generator's
    state as plain data (``get_rng_state`` / ``check_rng_state`` / ``set_rng_state``)."""

    _rng: Any
    device: Any

    def permutation(self, n: int) -> list[int]:
        order: list[int] = self._rng.permutation(n).tolist()
        return order

    def get_rng_state(self) -> dict[str, Any]:
        return generator_state(self._rng)

    def check_rng_state(self, state: Any) -> None:
        generator_from_state(state, f"set_rng_state: {self.device}")

    def set_rng_state(self, state: Any) -> None:
        self._rng = generator_from_state(state, f"set_rng_state: {self.device}")
