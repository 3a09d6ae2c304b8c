"""Checkpoints: ``nk.save(obj, path)`` and ``nk.load(path, device=None)``.

A checkpoint is a ``.npz`` archive (a zip of uncompressed ``.npy`` arrays, written and read
without pickles, so loading can never execute code) holding the arrays of ``obj`` plus one JSON
document that records its structure: nested dicts, lists and tuples (at most ``MAX_DEPTH``
levels) of arrays (float, int, unsigned, bool), numbers, strings, booleans and None — a module's
``state_dict``, an optimizer's, ``nk.get_rng_state()``, or a dict of them with metadata such as
the epoch. ``save`` refuses, before touching the file, everything ``load`` would refuse.

Writes are atomic: the archive is written to a temporary ``.<name>.XXXXXXXX.partial`` file in
the destination folder, flushed and fsynced, then moved over the destination with
``os.replace``, so a crash mid-save leaves the previous checkpoint whole; the next successful save
of the same target removes the partial files such crashes left. Arrays are saved from any
backend and loaded onto any.

Loading reads only what the structure record references, checks every array's declared shape
and dtype against the bytes the file stores before allocating it (so a file never costs more
memory than its size), refuses what is not a regular file (a FIFO, a device) at once, and turns
every failure to read into a :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from typing import Any

from . import backends
from .backends import host

__all__ = ["CheckpointError", "MAX_DEPTH", "save", "load"]

_FORMAT = "neuronika-checkpoint"
_VERSION = 1
_META = "__neuronika__"
#: deepest nesting of dicts/lists/tuples a checkpoint holds (save refuses deeper, load too)
MAX_DEPTH = 100
#: integers are stored in the JSON record; beyond this many bits they are refused
_INT_BITS = 1024


_STORABLE = (
    "checkpoints hold arrays of floats, integers or booleans, variables, numbers, strings, None "
    "and dicts/lists/tuples of them"
)


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted, foreign or holds something it must not.

    >>> issubclass(nk.io.CheckpointError, ValueError)
    True
    """


class _Placement(Exception):
    """A stored array that the target device cannot hold (e.g. float16 on array_api_strict)."""


# --- save ----------------------------------------------------------------------------------------

def _encode(obj: Any, arrays: dict[str, Any], where: str, depth: int) -> Any:
    from .autograd.variable import Param, Var  # late: io sits beside the graph, not under it

    if isinstance(obj, (Var, Param)):
        obj = obj.data
    if isinstance(obj, int) and not isinstance(obj, bool) and obj.bit_length() > _INT_BITS:
        raise ValueError(f"save: the integer at {where} has {obj.bit_length()} bits; checkpoints store integers up to {_INT_BITS} bits")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, backends.DType):
        return {"dtype": obj.name}
    if isinstance(obj, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"save: {where} is nested deeper than {MAX_DEPTH} levels (does it contain itself?)")
        if isinstance(obj, dict):
            for key in obj:
                if not isinstance(key, str):
                    raise TypeError(f"save: dictionary keys must be strings, {where} has key {key!r}")
            return {"dict": [[key, _encode(value, arrays, f"{where}[{key!r}]", depth + 1)] for key, value in obj.items()]}
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(value, arrays, f"{where}[{i}]", depth + 1) for i, value in enumerate(obj)]}
    try:
        array = backends.to_host(obj)
    except TypeError:
        raise TypeError(f"save: cannot store {type(obj).__name__} at {where}: {_STORABLE}") from None
    try:
        array = host.storable(array)
    except TypeError as error:
        raise TypeError(f"save: cannot store {error} at {where}: {_STORABLE}") from None
    name = f"a{len(arrays)}"
    arrays[name] = array
    return {"array": name}


def save(obj: Any, path: "str | os.PathLike[str]") -> None:
    """Write ``obj`` (a state dict, or nested dicts/lists of arrays and plain values) to ``path``
    atomically.

    :raises TypeError: ``obj`` holds something a checkpoint cannot (an object, string, complex,
        datetime or structured array, an arbitrary object, a non-string key), naming where.
    :raises ValueError: nesting deeper than ``MAX_DEPTH`` (or a cycle), an integer beyond 1024 bits.
    :raises OSError: the file cannot be written (the message names ``path``).

    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> nk.save(nk.nn.Linear(2, 1).state_dict(), path); sorted(nk.load(path))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    arrays: dict[str, Any] = {}
    tree = _encode(obj, arrays, "obj", 0)
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": tree})
    arrays[_META] = host.text_to_bytes_array(meta)
    folder = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    try:
        handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=folder)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        started = os.fstat(handle).st_mtime_ns
        with os.fdopen(handle, "wb") as stream:
            host.write_npz(stream, arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _naming(error, path) from error
        raise
    _fsync_folder(folder)
    _remove_stale_partials(folder, prefix, started)


def _naming(error: OSError, path: str) -> OSError:
    """The same kind of OSError, naming the checkpoint instead of the temporary file."""
    reason = error.strerror or str(error)
    if error.errno is None:
        return OSError(f"save: cannot write the checkpoint {path!r}: {reason}")
    return type(error)(error.errno, f"save: cannot write the checkpoint: {reason}", path)


def _remove_stale_partials(folder: str, prefix: str, started: int) -> None:
    """Delete ``<prefix>XXXXXXXX.partial`` files of this target that a killed save left behind:
    those last written before this save began (a save still writing keeps its file newer)."""
    pattern = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}\.partial")
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime_ns < started:
                        os.unlink(entry.path)


# --- load ----------------------------------------------------------------------------------------

def load(path: "str | os.PathLike[str]", device: "str | backends.Device | None" = None) -> Any:
    """Read a checkpoint written by :func:`save`; arrays land on ``device`` (default: the
    default device). Raises :class:`CheckpointError` naming the file and what is wrong.

    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), "w.npz"); nk.save({"w": nk.ones(2).data}, path)
    >>> nk.load(path)["w"].tolist()
    [1.0, 1.0]
    """
    path = os.fspath(path)
    backend = backends.get(device)
    try:
        # non-blocking: opening a FIFO must not wait for a writer (it is refused just below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise CheckpointError(f"load: cannot read {path!r}: {error.strerror or error}") from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"load: {path!r} is not a regular file ({_file_kind(info.st_mode)}); checkpoints are files written by nk.save")
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        tree, host_arrays = _read(stream, info.st_size, path)
    try:
        return _decode(tree, host_arrays, backend, 0)
    except _Placement as error:
        raise CheckpointError(f"load: {path!r}: {error}; load it onto another device") from error
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as error:
        raise CheckpointError(f"load: {path!r} has an inconsistent structure record: {error!r}") from error


def _read(stream: Any, size: int, path: str) -> tuple[Any, dict[str, Any]]:
    """The structure record and the host arrays it references; every failure a CheckpointError."""
    try:
        reader = host.NpzReader(stream, size)
    except host.NotAnArchive as error:
        raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint ({error})") from error
    except Exception as error:  # anything zipfile raises on a damaged directory
        raise CheckpointError(f"load: {path!r} is corrupted or truncated: {type(error).__name__}: {error}") from error
    try:
        if _META not in reader.members:
            raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint (no {_META} record; was it written by nk.save?)")
        try:
            meta = json.loads(host.bytes_array_to_text(reader.read(_META)))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            if isinstance(error, host.BadMember):
                raise
            raise CheckpointError(f"load: {path!r} has a corrupted structure record: {error}") from error
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint (unknown format record)")
        if meta.get("version") != _VERSION:
            raise CheckpointError(f"load: {path!r} has format version {meta.get('version')!r}; this neuronika reads version {_VERSION}")
        tree = meta.get("tree")
        try:
            names = _references(tree, [], 0)
        except (TypeError, ValueError, RecursionError) as error:
            raise CheckpointError(f"load: {path!r} has an inconsistent structure record: {error!r}") from error
        missing = [name for name in names if name not in reader.members]
        if missing:
            raise CheckpointError(f"load: {path!r} has an inconsistent structure record: arrays {missing[:5]} are not in the file")
        if len(set(names)) != len(names):
            raise CheckpointError(f"load: {path!r} has an inconsistent structure record: an array is referenced twice")
        stored = sum(reader.stored_size(name) for name in names)
        if stored > size:
            raise CheckpointError(f"load: {path!r} is corrupted: its arrays claim {stored} bytes of a {size}-byte file")
        return tree, {name: reader.read(name) for name in names}
    except CheckpointError:
        raise
    except host.BadMember as error:
        if "pickled Python objects" in str(error):
            raise CheckpointError(
                f"load: {path!r} holds pickled Python objects, which neuronika never loads (they could execute code)"
            ) from error
        raise CheckpointError(f"load: {path!r} is corrupted or crafted: {error}") from error
    except Exception as error:  # zipfile / .npy header errors: bad CRC, truncation, unsupported zip features
        raise CheckpointError(f"load: {path!r} is corrupted or truncated: {type(error).__name__}: {error}") from error
    finally:
        reader.close()


def _references(node: Any, names: list[str], depth: int) -> list[str]:
    """The array names a structure record references, in order (checking its depth)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"the record is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed entry {node!r:.100}")
    ((kind, payload),) = node.items()
    if kind == "array":
        if not isinstance(payload, str):
            raise ValueError(f"malformed array reference {payload!r:.100}")
        names.append(payload)
    elif kind == "dict":
        for key, value in payload:
            _references(value, names, depth + 1)
    elif kind in ("list", "tuple"):
        for value in payload:
            _references(value, names, depth + 1)
    return names


def _decode(node: Any, arrays: dict[str, Any], backend: backends.Backend, depth: int) -> Any:
    ((kind, payload),) = node.items()  # shapes checked by _references
    if kind == "value":
        if payload is not None and not isinstance(payload, (bool, int, float, str)):
            raise ValueError(f"malformed value {payload!r:.100}")
        return payload
    if kind == "dtype":
        return backends.to_dtype(payload)
    if kind == "dict":
        return {str(key): _decode(value, arrays, backend, depth + 1) for key, value in payload}
    if kind == "list":
        return [_decode(value, arrays, backend, depth + 1) for value in payload]
    if kind == "tuple":
        return tuple(_decode(value, arrays, backend, depth + 1) for value in payload)
    if kind == "array":
        array = arrays[payload]
        try:
            return backend.asarray(array)
        except (TypeError, ValueError) as error:
            raise _Placement(f"its {array.dtype} array {payload} cannot go to device {backend.device}: {error}") from error
    raise ValueError(f"unknown entry kind {kind!r:.100}")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def _fsync_folder(folder: str) -> None:
    # make the rename itself durable (POSIX); harmless where folders cannot be opened
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
