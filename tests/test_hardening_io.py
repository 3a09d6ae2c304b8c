"""Checkpoints that cannot lose data or take the process down (issue 12, items 12 to 15): save
refuses before touching the file what load would refuse; load decodes only what the record
references, never more bytes than the file holds, never blocks on a FIFO, and fails with one
error type; errors name the target; stale partial files are cleaned."""

from __future__ import annotations

import errno
import io
import json
import os
import random
import struct
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import neuronika as nk
from neuronika.backends import host as host_module
from neuronika.io import MAX_DEPTH, CheckpointError


def good_checkpoint(path, device: str) -> bytes:
    nk.save({"model": {"w": nk.rand((3, 4), device=device), "b": nk.zeros(4, device=device).data},
             "step": 3, "rng": nk.get_rng_state()}, path)
    return path.read_bytes()


# --- item 12: save refuses what load refuses, before touching the file -------------------------

def _unstorable(device: str) -> dict:
    backend = nk.backends.get(device)
    with backend.scope():
        complex_on_device = backend.xp.asarray([1 + 2j, 3j], device=backend.native_device)
    cycle: list = []
    cycle.append(cycle)
    deep: object = 1.0
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    return {
        "object array": (np.array([{"a": 1}], dtype=object), TypeError, "object array"),
        "str array": (np.array(["a", "bc"]), TypeError, "<U2 array"),
        "bytes array": (np.array([b"a"]), TypeError, "|S1 array"),
        "complex array": (np.array([1 + 1j]), TypeError, "complex128 array"),
        "complex array on the device": (complex_on_device, TypeError, "complex128 array"),
        "datetime array": (np.array(["2024-01-01"], dtype="datetime64[D]"), TypeError, "datetime64"),
        "timedelta array": (np.array([1], dtype="timedelta64[s]"), TypeError, "timedelta64"),
        "structured array": (np.zeros(2, dtype=[("x", "f4"), ("y", "i4")]), TypeError, "array"),
        "complex number": (1 + 2j, TypeError, "complex"),
        "set": ({1, 2}, TypeError, "set"),
        "cycle": (cycle, ValueError, "nested deeper than"),
        "deep nesting": (deep, ValueError, "nested deeper than"),
        "huge integer": (1 << 2000, ValueError, "2001 bits"),
    }


@pytest.mark.parametrize("case", list(_unstorable("cpu")))
def test_save_refuses_what_load_refuses_naming_where_and_keeps_the_old_file(device, tmp_path, case):
    value, error, what = _unstorable(device)[case]
    path = tmp_path / "ckpt.npz"
    before = good_checkpoint(path, device)
    with pytest.raises(error, match=r"save: .*" + "obj\\['model'\\]\\['bad'\\]" if error is TypeError else "save: "):
        nk.save({"model": {"w": nk.ones(2, device=device), "bad": value}}, path)
    with pytest.raises(error, match=what.replace("[", r"\[").replace("|", r"\|")):
        nk.save({"model": {"bad": value}}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


def test_every_array_kind_save_accepts_load_reads_back(device, tmp_path):
    host_arrays = {
        **{name: np.arange(6, dtype=name).reshape(2, 3) for name in
           ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")},
        "bool": np.array([True, False]),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 3)),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big-endian": np.arange(4, dtype=">f8"),
        "non-finite": np.array([np.nan, np.inf, -np.inf]),
    }
    deep: object = "leaf"
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    obj = {"host": host_arrays, "device": nk.rand((2, 2), device=device), "int128": (1 << 127) + 5,
           "deep": deep, "text": "é\ud800", "nan": float("nan")}
    nk.save(obj, tmp_path / "a.npz")
    back = nk.load(tmp_path / "a.npz", device="cpu")
    for name, array in host_arrays.items():
        assert back["host"][name].dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(back["host"][name], array)
        assert back["host"][name].flags.writeable
    np.testing.assert_array_equal(back["device"], obj["device"].numpy())
    assert back["int128"] == (1 << 127) + 5 and back["deep"] == deep and back["text"] == "é\ud800"
    assert np.isnan(back["nan"])


def test_an_array_the_target_device_cannot_hold_is_a_checkpoint_error_naming_it(tmp_path):
    nk.save({"w": np.ones(2, dtype=np.float16)}, tmp_path / "half.npz")
    with pytest.raises(CheckpointError, match=r"half\.npz'?: its float16 array a0 cannot go to device array_api_strict"):
        nk.load(tmp_path / "half.npz", device="array_api_strict")
    assert nk.load(tmp_path / "half.npz", device="cpu")["w"].dtype == np.float16


def test_save_writes_no_pickles(tmp_path, monkeypatch):
    calls = []
    original = np.savez

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "savez", spy)
    nk.save({"w": nk.ones(2)}, tmp_path / "a.npz")
    assert calls == [False]


# --- crafted archives ----------------------------------------------------------------------

def npy_bytes(array: np.ndarray, shape: tuple | None = None) -> bytes:
    """The .npy encoding of ``array``, its header declaring ``shape`` when given."""
    buffer = io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    np.lib.format.write_array_header_1_0(buffer, header)
    buffer.write(array.tobytes())
    return buffer.getvalue()


def meta_bytes(tree: dict) -> bytes:
    text = json.dumps({"format": "neuronika-checkpoint", "version": 1, "tree": tree}).encode()
    return npy_bytes(np.frombuffer(text, dtype=np.uint8))


def write_archive(path, members: dict, compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)


ONE_ARRAY = {"dict": [["w", {"array": "a0"}]]}


# --- item 13: resource limits --------------------------------------------------------------

def test_a_declared_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    write_archive(path, {"__neuronika__": meta_bytes(ONE_ARRAY), "a0": npy_bytes(np.zeros(4), shape=(2**40,))})
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"huge\.npz.*declares shape \(1099511627776,\) of float64 .* stores 32 bytes"):
            nk.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_an_unreferenced_zip_bomb_member_is_never_decoded(tmp_path):
    path = tmp_path / "bomb.npz"
    bomb = npy_bytes(np.zeros(8 << 20))  # 64 MiB of zeros, about 64 KiB deflated
    write_archive(path, {"__neuronika__": meta_bytes(ONE_ARRAY), "a0": npy_bytes(np.ones(3))})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junk.npy", bomb)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        np.testing.assert_array_equal(nk.load(path)["w"], np.ones(3))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20


def test_a_referenced_compressed_member_is_refused(tmp_path):
    path = tmp_path / "deflated.npz"
    write_archive(path, {"__neuronika__": meta_bytes(ONE_ARRAY), "a0": npy_bytes(np.zeros(8 << 20))},
                  compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match=r"deflated\.npz.*compressed"):
        nk.load(path)


def test_one_member_referenced_many_times_is_refused(tmp_path):
    path = tmp_path / "repeat.npz"
    tree = {"list": [{"array": "a0"}] * 1000}
    write_archive(path, {"__neuronika__": meta_bytes(tree), "a0": npy_bytes(np.zeros(1000))})
    with pytest.raises(CheckpointError, match="referenced twice"):
        nk.load(path)


def test_a_fifo_is_refused_at_once(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_error_of(lambda: nk.load(path))), daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():  # unblock the reader the test failed to protect
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("load blocked on a FIFO")
    assert isinstance(outcome[0], CheckpointError)
    assert "pipe.npz' is not a regular file (a FIFO)" in str(outcome[0])


@pytest.mark.parametrize("special", ["/dev/zero", "directory"])
def test_device_files_and_directories_are_refused(tmp_path, special):
    path = tmp_path if special == "directory" else special
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"is not a regular file \((a character device|a directory)\)"):
        nk.load(path)
    assert time.perf_counter() - start < 5


def _error_of(action):
    try:
        action()
    except BaseException as error:  # the test inspects whatever came out
        return error
    return None


# --- item 14: one error type for every failure to read -------------------------------------

def _patch_local_and_central(data: bytes, name: bytes, patch) -> bytes:
    """Apply ``patch(buffer, offset, central)`` to the local header and central-directory entry of
    member ``name``."""
    out = bytearray(data)
    for signature, central in ((b"PK\x03\x04", False), (b"PK\x01\x02", True)):
        start = 0
        while (offset := out.find(signature, start)) >= 0:
            name_at = offset + (46 if central else 30)
            if out[name_at : name_at + len(name)] == name:
                patch(out, offset, central)
            start = offset + 4
    return bytes(out)


def _set_method(method: int):
    def patch(buffer, offset, central):
        struct.pack_into("<H", buffer, offset + (10 if central else 8), method)
    return patch


def _set_encrypted(buffer, offset, central):
    at = offset + (8 if central else 6)
    struct.pack_into("<H", buffer, at, struct.unpack_from("<H", buffer, at)[0] | 1)


def _set_version(buffer, offset, central):
    struct.pack_into("<H", buffer, offset + (6 if central else 4), 99)  # version needed: 9.9


@pytest.mark.parametrize("damage", ["unknown compression method", "encrypted flag", "zip version 9.9"])
def test_unsupported_zip_features_are_checkpoint_errors(tmp_path, damage):
    path = tmp_path / "a.npz"
    nk.save({"w": nk.ones(3)}, path)
    patch = {"unknown compression method": _set_method(99), "encrypted flag": _set_encrypted,
             "zip version 9.9": _set_version}[damage]
    path.write_bytes(_patch_local_and_central(path.read_bytes(), b"a0.npy", patch))
    with pytest.raises(CheckpointError, match=r"a\.npz"):
        nk.load(path)


@pytest.mark.parametrize("depth", [600, 100_000])  # 100 000: deeper than the JSON parser recurses
def test_a_record_nested_600_deep_is_a_checkpoint_error(tmp_path, depth):
    tree = '{"list": [' * depth + '{"value": 1}' + "]}" * depth
    text = '{"format": "neuronika-checkpoint", "version": 1, "tree": ' + tree + "}"
    path = tmp_path / "deep.npz"
    write_archive(path, {"__neuronika__": npy_bytes(np.frombuffer(text.encode(), dtype=np.uint8))})
    with pytest.raises(CheckpointError, match=r"deep\.npz.*(nested deeper than 100|structure record)"):
        nk.load(path)


def _mutations(rng: random.Random, data: bytes, meta: str, arrays: dict) -> bytes:
    """One mutated checkpoint: raw byte damage, or a well-formed zip around a damaged record or
    .npy header."""
    kind = rng.randrange(6)
    if kind == 0:  # flip bytes anywhere
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 1:  # truncate or append
        cut = rng.randrange(len(data))
        return data[:cut] if rng.random() < 0.7 else data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    if kind == 2:  # duplicate or delete a slice
        a, b = sorted(rng.randrange(len(data)) for _ in range(2))
        return data[:a] + data[a:b] * rng.randint(0, 3) + data[b:]
    buffer = io.BytesIO()
    members = {"__neuronika__": meta.encode(), **{k: v.tobytes() for k, v in arrays.items()}}
    if kind == 3:  # damage the JSON record
        text = list(meta)
        for _ in range(rng.randint(1, 4)):
            text[rng.randrange(len(text))] = rng.choice('{}[]",:0123456789aex-. ')
        members["__neuronika__"] = "".join(text).encode()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            if name == "__neuronika__":
                npy = npy_bytes(np.frombuffer(payload, dtype=np.uint8))
            else:
                npy = npy_bytes(arrays[name])
            if kind == 4 and name != "__neuronika__":  # damage the .npy header
                header_end = npy.index(b"\n") + 1
                header = bytearray(npy[:header_end])
                for _ in range(rng.randint(1, 3)):
                    header[rng.randrange(len(header))] = rng.randrange(32, 127)
                npy = bytes(header) + npy[header_end:]
            if kind == 5 and name != "__neuronika__":  # declare another shape or dtype
                npy = npy_bytes(arrays[name], shape=rng.choice([(2**40,), (0,), (7,), (3, 4), (-1,), ()]))
            archive.writestr(f"{name}.npy", npy)
    return buffer.getvalue()


def test_fuzzed_checkpoints_load_or_raise_checkpoint_error(tmp_path):
    path = tmp_path / "fuzz.npz"
    state = {"model": {"w": np.arange(12.0).reshape(3, 4), "b": np.arange(4, dtype=np.float32)},
             "mask": np.array([True, False]), "step": 7, "name": "run", "betas": (0.9, 0.999)}
    nk.save(state, path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        meta = host_module.bytes_array_to_text(np.load(io.BytesIO(archive.read("__neuronika__.npy"))))
        arrays = {name[:-4]: np.load(io.BytesIO(archive.read(name))) for name in archive.namelist() if name != "__neuronika__.npy"}
    rng = random.Random(12)
    outcomes = {"loaded": 0, "refused": 0}
    start = time.perf_counter()
    for case in range(400):
        path.write_bytes(_mutations(rng, data, meta, arrays))
        try:
            nk.load(path)
            outcomes["loaded"] += 1
        except CheckpointError as error:
            assert "fuzz.npz" in str(error)
            outcomes["refused"] += 1
        except Exception as error:  # pragma: no cover - the failure this test exists to catch
            pytest.fail(f"case {case}: load raised {type(error).__name__}: {error}")
    assert outcomes["refused"] > 200
    assert time.perf_counter() - start < 60


# --- item 15: errors name the target; stale partial files are cleaned ----------------------

def test_a_missing_folder_is_reported_with_the_target_path(tmp_path):
    target = tmp_path / "missing" / "ckpt.npz"
    with pytest.raises(FileNotFoundError) as caught:
        nk.save({"w": nk.ones(2)}, target)
    assert caught.value.filename == str(target)
    assert ".partial" not in str(caught.value) and "ckpt.npz" in str(caught.value)


def test_a_failed_write_names_the_target_and_leaves_no_partial_file(tmp_path, monkeypatch):
    def full_disk(stream, arrays):
        raise OSError(errno.ENOSPC, "No space left on device", stream.name)

    path = tmp_path / "ckpt.npz"
    before = good_checkpoint(path, "cpu")
    monkeypatch.setattr(host_module, "write_npz", full_disk)
    with pytest.raises(OSError, match="No space left on device") as caught:
        nk.save({"w": nk.ones(2)}, path)
    assert caught.value.filename == str(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.npz"]


def test_stale_partials_of_the_same_target_are_removed_by_the_next_save(tmp_path):
    old = time.time() - 3600
    stale = [tmp_path / ".ckpt.npz.k3j_9x0a.partial", tmp_path / ".ckpt.npz.aaaaaaaa.partial"]
    kept = [tmp_path / ".other.npz.k3j_9x0a.partial", tmp_path / ".ckpt.npz.x.partial", tmp_path / "notes.txt"]
    in_progress = tmp_path / ".ckpt.npz.zzzzzzzz.partial"  # another save still writing it
    for file in stale + kept + [in_progress]:
        file.write_bytes(b"\0" * 1024)
        os.utime(file, (old, old))
    future = time.time() + 3600
    os.utime(in_progress, (future, future))
    nk.save({"w": nk.ones(2)}, tmp_path / "ckpt.npz")
    assert not any(file.exists() for file in stale)
    assert all(file.exists() for file in kept + [in_progress])
    np.testing.assert_array_equal(nk.load(tmp_path / "ckpt.npz")["w"], np.ones(2))
