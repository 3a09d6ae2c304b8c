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


def contiguous(array: Any) -> Any:
    """``array`` (a host array) as a C-contiguous NumPy array (a copy only when it is not one)."""
    return np.ascontiguousarray(array)


def empty(shape: Sequence[int], like: Any) -> Any:
    """An uninitialised C-contiguous host array of ``shape`` with ``like``'s dtype."""
    return np.empty(tuple(shape), dtype=np.asarray(like).dtype)
