"""CSV files in any text encoding, with errors that name the file and line, loaded within a
memory budget (issue 12, item 19)."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest

import neuronika as nk


def test_a_non_utf8_csv_names_the_file_and_line_and_loads_with_its_encoding(device, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("x,y,caf\u00e9\n1,2,0\n3,4,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv: line 1 is not utf-8 text: invalid continuation byte .*encoding='latin-1'"):
        nk.data.DataLoader().from_csv(path, device=device)
    data = nk.data.DataLoader().with_labels(["caf\u00e9"]).from_csv(path, device=device, encoding="latin-1")
    np.testing.assert_array_equal(data.labels.numpy(), [[0.0], [1.0]])


def test_the_undecodable_line_is_found_far_into_the_file(tmp_path):
    path = tmp_path / "late.csv"
    rows = [f"{i},{i + 1}\n".encode() for i in range(30_000)]
    rows[25_000] = b"1,\xff\n"  # the header is line 1, so this row is line 25 002
    path.write_bytes(b"a,b\n" + b"".join(rows))
    with pytest.raises(ValueError, match=r"late\.csv: line 25002 is not utf-8 text"):
        nk.data.DataLoader().from_csv(path)


def test_other_encodings_and_readers(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,b\n1.5,2\n", encoding="utf-16")
    np.testing.assert_array_equal(nk.data.DataLoader().from_csv(path, encoding="utf-16").records.numpy(), [[1.5, 2.0]])
    reader = io.BytesIO("\u00e9,b\n1,2\n".encode("cp1252"))
    assert len(nk.data.DataLoader().from_reader(reader, encoding="cp1252")) == 1
    with pytest.raises(ValueError, match=r"<reader>: line 2 is not utf-8 text"):
        nk.data.DataLoader().from_reader(io.BytesIO(b"a,b\n1,\xe9\n"))
    with pytest.raises(ValueError, match="unknown text encoding 'klingon'"):
        nk.data.DataLoader().from_csv(path, encoding="klingon")


def test_loading_a_csv_peaks_within_three_times_the_dataset_plus_the_file(device, tmp_path):
    """Issue 12's budget (1M x 10 measured by bench/csv_memory.py: 2.0x the float32 output,
    against 23x before rows were streamed), checked here at 20 000 x 10."""
    path = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    table = rng.random((20_000, 10))
    np.savetxt(path, table, fmt="%.7g", delimiter=",")
    loader = nk.data.DataLoader().without_headers().with_labels([9])
    tracemalloc.start()
    try:
        data = loader.from_csv(path, device=device)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    output = 20_000 * 10 * 4
    assert peak <= 3 * output + path.stat().st_size, f"peak {peak} bytes for {output} bytes of float32"
    np.testing.assert_allclose(data.labels.numpy()[:, 0], table[:, 9].astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(data.records.numpy(), np.loadtxt(path, delimiter=",", dtype=np.float64)[:, :9].astype(np.float32))
