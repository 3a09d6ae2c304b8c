"""Checkpoints: ``nk.save(obj, path)`` and ``nk.load(path, device=None)``.

A checkpoint is a ``.npz`` archive (a zip of ``.npy`` arrays, read back with
``allow_pickle=False``, so loading can never execute code) holding the arrays of ``obj`` plus
one JSON document that records its structure: nested dicts, lists and tuples of arrays, numbers,
strings, booleans and None — a module's ``state_dict``, an optimizer's, or a dict of both with
metadata such as the epoch.

Writes are atomic: the archive is written to a temporary file in the destination folder,
flushed and fsynced, then moved over the destination with ``os.replace``, so a crash mid-save
leaves the previous checkpoint whole. Arrays are saved from any backend and loaded onto any.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from . import backends
from .backends import host

__all__ = ["CheckpointError", "save", "load"]

_FORMAT = "neuronika-checkpoint"
_VERSION = 1
_META = "__neuronika__"


class CheckpointError(ValueError):
    """A checkpoint file is truncated, corrupted, foreign or holds something it must not.

    >>> issubclass(nk.io.CheckpointError, ValueError)
    True
    """


def _encode(obj: Any, arrays: dict[str, Any], where: str) -> Any:
    from .autograd.variable import Param, Var  # late: io sits beside the graph, not under it

    if isinstance(obj, (Var, Param)):
        obj = obj.data
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, backends.DType):
        return {"dtype": obj.name}
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"save: dictionary keys must be strings, {where} has key {key!r}")
        return {"dict": [[key, _encode(value, arrays, f"{where}[{key!r}]")] for key, value in obj.items()]}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(value, arrays, f"{where}[{i}]") for i, value in enumerate(obj)]}
    try:
        array = host.as_array(backends.to_host(obj))
    except TypeError:
        raise TypeError(
            f"save: cannot store {type(obj).__name__} at {where}: checkpoints hold arrays, "
            f"variables, numbers, strings, booleans, None and dicts/lists/tuples of them"
        ) from None
    name = f"a{len(arrays)}"
    arrays[name] = array
    return {"array": name}


def save(obj: Any, path: "str | os.PathLike[str]") -> None:
    """Write ``obj`` (a state dict, or nested dicts/lists of arrays and plain values) to ``path``
    atomically.

    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> nk.save(nk.nn.Linear(2, 1).state_dict(), path); sorted(nk.load(path))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    arrays: dict[str, Any] = {}
    tree = _encode(obj, arrays, "obj")
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": tree})
    arrays[_META] = host.text_to_bytes_array(meta)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            host.write_npz(stream, arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


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
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as error:
        raise CheckpointError(f"load: cannot read {path!r}: {error.strerror or error}") from error
    try:
        host_arrays = host.read_npz(raw)
    except host.NotAnArchive as error:
        raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint ({error})") from error
    except host.ARCHIVE_ERRORS as error:
        if "allow_pickle" in str(error):
            raise CheckpointError(
                f"load: {path!r} holds pickled Python objects, which neuronika never loads "
                f"(they could execute code)"
            ) from error
        raise CheckpointError(f"load: {path!r} is corrupted or truncated: {error}") from error
    if _META not in host_arrays:
        raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint (no {_META} record; was it written by nk.save?)")
    try:
        meta = json.loads(host.bytes_array_to_text(host_arrays.pop(_META)))
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"load: {path!r} has a corrupted structure record: {error}") from error
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CheckpointError(f"load: {path!r} is not a neuronika checkpoint (unknown format record)")
    if meta.get("version") != _VERSION:
        raise CheckpointError(f"load: {path!r} has format version {meta.get('version')!r}; this neuronika reads version {_VERSION}")
    try:
        return _decode(meta["tree"], host_arrays, backend)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise CheckpointError(f"load: {path!r} has an inconsistent structure record: {error!r}") from error


def _decode(node: Any, arrays: dict[str, Any], backend: backends.Backend) -> Any:
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed entry {node!r}")
    ((kind, payload),) = node.items()
    if kind == "value":
        if payload is not None and not isinstance(payload, (bool, int, float, str)):
            raise ValueError(f"malformed value {payload!r}")
        return payload
    if kind == "dtype":
        return backends.to_dtype(payload)
    if kind == "dict":
        return {str(key): _decode(value, arrays, backend) for key, value in payload}
    if kind == "list":
        return [_decode(value, arrays, backend) for value in payload]
    if kind == "tuple":
        return tuple(_decode(value, arrays, backend) for value in payload)
    if kind == "array":
        array = arrays[payload]
        if host.kind(array) not in "fiub":
            raise ValueError(f"array {payload} has unsupported dtype {array.dtype}")
        return backend.asarray(array)
    raise ValueError(f"unknown entry kind {kind!r}")


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
