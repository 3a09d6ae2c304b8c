"""Host-side NumPy helpers for file I/O and bookkeeping on the CPU.

The design lets host-side file I/O (``neuronika/data``, ``neuronika/io.py``) use NumPy to parse
and write files; those few NumPy calls live here, so that ``neuronika/backends/`` stays the only
package that imports an array library. Arrays produced here are host arrays; they reach a device
through ``Backend.asarray``.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any, BinaryIO, Iterable, Sequence

import numpy as np

# what reading a damaged archive can raise
ARCHIVE_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile)


def float64_matrix(rows: Sequence[Sequence[Any]]) -> Any:
    """A host float64 array from equal-length rows of numbers or numeric strings (as ``float()``
    reads them); raises ValueError for a cell that is not a number."""
    return np.array(rows, dtype=np.float64)


def float64_values(values: Any) -> Any:
    """A host float64 array of whatever ``values`` holds (TypeError/ValueError if not numbers)."""
    return np.asarray(values, dtype=np.float64)


def permutation(n: int, seed: int) -> list[int]:
    """A permutation of ``range(n)`` from a generator seeded with ``seed`` (the same everywhere)."""
    return np.random.default_rng(seed).permutation(n).tolist()


def generator_state(generator: Any) -> dict[str, Any]:
    """The state of a NumPy ``Generator`` as plain data: its bit generator's state dict (for
    PCG64, ``{"bit_generator": "PCG64", "state": {"state": int, "inc": int}, "has_uint32": int,
    "uinteger": int}``), ints and strings only, so it survives JSON."""
    return _plain(generator.bit_generator.state)


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


def write_npz(stream: BinaryIO, arrays: dict[str, Any]) -> None:
    """Write host arrays as an uncompressed ``.npz`` archive."""
    np.savez(stream, **arrays)


class NotAnArchive(ValueError):
    """The bytes are not an ``.npz`` archive at all."""


def read_npz(raw: bytes) -> dict[str, Any]:
    """Every array of an ``.npz`` archive held in ``raw``, read with ``allow_pickle=False`` (a
    pickled object array raises ValueError naming ``allow_pickle`` instead of being loaded).
    Raises :class:`NotAnArchive` for bytes that are no archive, one of ``ARCHIVE_ERRORS`` for a
    damaged one."""
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except ARCHIVE_ERRORS as error:
        raise NotAnArchive(f"not a readable .npz archive: {error}") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise NotAnArchive("a single .npy array, not an .npz archive")
    with archive:
        return {name: archive[name] for name in archive.files}


def kind(array: Any) -> str:
    """NumPy's dtype kind letter of a host array ('f' float, 'i' int, 'u' unsigned, 'b' bool, 'O' object …)."""
    return str(np.asarray(array).dtype.kind)
