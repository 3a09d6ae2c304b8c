"""neuronika.data: CSV loading (headers, delimiters, labels, shapes, fn, readers), every bad-CSV
error with the file and line, and the datasets' shuffle, batch, split and kfold on every backend."""

from __future__ import annotations

import io

import numpy as np
import pytest

import neuronika as nk
from neuronika.data import Batch, DataLoader, Dataset, KFold, LabeledDataLoader, LabeledDataset


def write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def host(device, array) -> np.ndarray:
    return np.asarray(nk.backends.get(device).to_host(array))


def table(n: int, features: int = 3) -> np.ndarray:
    """Row i is [i, 10 i, 20 i, ...]: every row is recognisable from any of its cells."""
    return np.arange(n, dtype=np.float64)[:, None] * np.array([1.0] + [10.0 * j for j in range(1, features)])


def labeled(n: int, device) -> LabeledDataset:
    """Records row i = [i, 10 i, 20 i], label i = [i, -i]."""
    ids = np.arange(n, dtype=np.float64)
    return LabeledDataset(table(n), np.stack([ids, -ids], axis=1), device=device)


IRIS = "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n"
SPECIES = {"setosa": 0, "versicolor": 1, "virginica": 2}


# --- loading ---------------------------------------------------------------------------------

def test_from_csv_skips_the_header_and_infers_the_record_shape(tmp_path, device):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    data = DataLoader().from_csv(path, device=device)
    assert isinstance(data, Dataset) and not isinstance(data, LabeledDataset)
    assert len(data) == 2 and not data.is_empty() and data.record_shape == (3,)
    records = data.records
    assert isinstance(records, nk.Var) and not isinstance(records, nk.VarDiff) and records.is_leaf
    assert records.shape == (2, 3) and records.dtype == nk.float32 and records.device == nk.backends.Device(device)
    np.testing.assert_array_equal(records.numpy(), [[1, 2, 3], [4, 5, 6]])


def test_without_headers_reads_the_first_row_as_data(tmp_path, device):
    path = write(tmp_path, "1,2\n3,4\n")
    data = DataLoader().without_headers().from_csv(path, device=device)
    np.testing.assert_array_equal(data.records.numpy(), [[1, 2], [3, 4]])


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_with_delimiter_splits_cells_on_it(tmp_path, device, delimiter):
    path = write(tmp_path, f"x{delimiter}y\n1.5{delimiter}-2\n3e2{delimiter}0.25\n")
    data = DataLoader().with_delimiter(delimiter).from_csv(path, device=device)
    np.testing.assert_array_equal(data.records.numpy(), [[1.5, -2], [300, 0.25]])


def test_quoting_crlf_blank_lines_and_a_byte_order_mark_are_handled_by_the_csv_module(tmp_path, device):
    path = tmp_path / "data.csv"
    path.write_bytes(b'\xef\xbb\xbf"a","b"\r\n"1","2"\r\n\r\n 3 , 4 \r\n\r\n')
    data = DataLoader().with_labels(["a"]).from_csv(path, device=device)
    np.testing.assert_array_equal(data.records.numpy(), [[2], [4]])
    np.testing.assert_array_equal(data.labels.numpy(), [[1], [3]])


def test_with_labels_takes_columns_in_the_given_order_and_leaves_the_rest_as_records(tmp_path, device):
    path = write(tmp_path, "a,b,c,d\n1,2,3,4\n5,6,7,8\n")
    data = DataLoader().with_labels([3, 0]).from_csv(path, device=device)
    assert isinstance(data, LabeledDataset)
    assert data.record_shape == (2,) and data.label_shape == (2,)
    np.testing.assert_array_equal(data.records.numpy(), [[2, 3], [6, 7]])
    np.testing.assert_array_equal(data.labels.numpy(), [[4, 1], [8, 5]])
    by_name = DataLoader().with_labels(["d", "a"]).from_csv(path, device=device)
    np.testing.assert_array_equal(by_name.labels.numpy(), [[4, 1], [8, 5]])
    from_end = DataLoader().with_labels(-1).from_csv(path, device=device)
    np.testing.assert_array_equal(from_end.labels.numpy(), [[4], [8]])
    np.testing.assert_array_equal(from_end.records.numpy(), [[1, 2, 3], [5, 6, 7]])


def test_shape_reshapes_each_record_and_label_shape_each_label(tmp_path, device):
    images = np.arange(3 * 64, dtype=np.float64).reshape(3, 64)
    classes = np.array([[7.0], [1.0], [4.0]])
    rows = np.concatenate([images, classes], axis=1)
    path = tmp_path / "digits.csv"
    np.savetxt(path, rows, delimiter=",", fmt="%g")
    loader = DataLoader().without_headers().with_labels([64])
    data = loader.from_csv(path, shape=(1, 8, 8), label_shape=(), device=device)
    assert data.records.shape == (3, 1, 8, 8) and data.labels.shape == (3,)
    np.testing.assert_array_equal(data.records.numpy(), images.reshape(3, 1, 8, 8))
    np.testing.assert_array_equal(data.labels.numpy(), [7, 1, 4])
    column = loader.from_csv(path, shape=64, label_shape=(1, 1), device=device)
    assert column.records.shape == (3, 64) and column.labels.shape == (3, 1, 1)


def test_fn_maps_the_raw_cells_of_each_row_to_numbers(tmp_path, device):
    path = write(tmp_path, IRIS)
    seen = []

    def encode(cells: list[str]) -> list[float]:
        seen.append(cells)
        return [float(cells[0]), float(cells[1]), SPECIES[cells[2]]]

    data = DataLoader().with_labels([2]).from_csv(path, label_shape=(), fn=encode, device=device)
    assert seen[0] == ["5.1", "1.4", "setosa"] and len(seen) == 4
    np.testing.assert_array_equal(data.labels.numpy(), [0, 1, 2, 0])
    np.testing.assert_allclose(data.records.numpy(), [[5.1, 1.4], [7.0, 4.7], [6.3, 6.0], [4.9, 1.4]], rtol=1e-6)
    # fn may change the number of columns; label columns index the row that fn returns
    one_hot = DataLoader().with_labels([2, 3, 4]).from_csv(
        path, fn=lambda cells: [float(cells[0]), float(cells[1]), *np.eye(3)[SPECIES[cells[2]]]], device=device
    )
    np.testing.assert_array_equal(one_hot.labels.numpy(), np.eye(3)[[0, 1, 2, 0]])


def test_from_reader_takes_text_and_binary_readers_and_iterables_of_lines(device):
    text = "a,b\n1,2\n3,4\n"
    expected = [[1, 2], [3, 4]]
    for reader in (io.StringIO(text), io.BytesIO(text.encode()), text.splitlines(keepends=True)):
        data = DataLoader().from_reader(reader, device=device)
        np.testing.assert_array_equal(data.records.numpy(), expected)
    labeled_data = DataLoader().with_labels([1]).from_reader(io.StringIO(text), shape=(1,), device=device)
    np.testing.assert_array_equal(labeled_data.labels.numpy(), [[2], [4]])


def test_dtype_and_device_choose_where_the_arrays_live(tmp_path, device):
    path = write(tmp_path, "a,b\n0.1,2\n")
    data = DataLoader().with_labels([1]).from_csv(path, device=device, dtype="float64")
    assert data.dtype == nk.float64 and data.device == nk.backends.Device(device)
    assert data.records.dtype == nk.float64 and data.labels.dtype == nk.float64
    assert data.records.numpy()[0, 0] == 0.1  # exact in float64
    backend = nk.backends.get(device)
    for records, labels in data.batch(1):
        assert backend.owns(records) and backend.owns(labels)


def test_a_loader_is_immutable_so_one_base_serves_several_files(tmp_path, device):
    base = DataLoader()
    headerless = base.without_headers()
    semicolons = base.with_delimiter(";")
    assert base is not headerless and base is not semicolons
    path = write(tmp_path, "1,2\n3,4\n")
    assert len(base.from_csv(path, device=device)) == 1
    assert len(headerless.from_csv(path, device=device)) == 2
    labeled_loader = headerless.with_labels([0])
    assert isinstance(labeled_loader, LabeledDataLoader) and labeled_loader.labels == (0,)
    assert isinstance(labeled_loader.with_delimiter(","), LabeledDataLoader)


def test_datasets_are_built_from_arrays_of_any_kind(device):
    records = np.arange(6, dtype=np.float64).reshape(3, 2)
    data = LabeledDataset(records, [0, 1, 0], device=device)
    assert data.dtype == nk.float32 and data.label_shape == ()
    from_var = Dataset(nk.from_ndarray(records, device=device), device=device, dtype="float64")
    np.testing.assert_array_equal(from_var.records.numpy(), records)
    moved = Dataset(records, device="cpu").to(device)
    assert moved.device == nk.backends.Device(device)
    np.testing.assert_array_equal(moved.records.numpy(), records)
    with pytest.raises(ValueError, match="3 samples.*2"):
        LabeledDataset(records, [0, 1], device=device)
    with pytest.raises(ValueError, match="at least one axis"):
        Dataset(1.0, device=device)


# --- bad CSV ---------------------------------------------------------------------------------

def test_a_ragged_row_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "1,2,3\n4,5,6\n7,8\n", name="ragged.csv")
    with pytest.raises(ValueError, match=r"ragged\.csv, line 3: ragged row: 2 cells.*line 1 has 3"):
        DataLoader().without_headers().from_csv(path)
    with_header = write(tmp_path, "a,b\n1,2\n\n3,4,5\n", name="wide.csv")
    with pytest.raises(ValueError, match=r"wide\.csv, line 4: ragged row: 3 cells but the header on line 1 has 2"):
        DataLoader().from_csv(with_header)


def test_a_non_numeric_cell_names_the_file_the_line_and_the_cell(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,abc,6\n", name="text.csv")
    with pytest.raises(ValueError, match=r"text\.csv, line 3, column 1 \(0-based, 'b'\): cannot read 'abc' as a number; .*fn="):
        DataLoader().from_csv(path)
    missing = write(tmp_path, "1,,3\n", name="missing.csv")
    with pytest.raises(ValueError, match=r"missing\.csv, line 1, column 1 .*cannot read '' as a number"):
        DataLoader().without_headers().from_csv(missing)


def test_an_empty_file_or_a_header_alone_raises(tmp_path):
    empty = write(tmp_path, "", name="empty.csv")
    with pytest.raises(ValueError, match=r"empty\.csv: no data rows \(the file is empty\)"):
        DataLoader().from_csv(empty)
    blank = write(tmp_path, "\n\n", name="blank.csv")
    with pytest.raises(ValueError, match=r"blank\.csv: no data rows"):
        DataLoader().without_headers().from_csv(blank)
    header = write(tmp_path, "a,b\n", name="header.csv")
    with pytest.raises(ValueError, match=r"header\.csv: no data rows \(only a header row, on line 1; .*without_headers"):
        DataLoader().with_labels([0]).from_csv(header)


def test_a_label_column_that_does_not_exist_raises(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n", name="labels.csv")
    with pytest.raises(ValueError, match=r"label column 3 does not exist: .*labels\.csv \(first data row: line 2\) have 3 columns"):
        DataLoader().with_labels([3]).from_csv(path)
    with pytest.raises(ValueError, match=r"label column -4 does not exist"):
        DataLoader().with_labels([-4]).from_csv(path)
    with pytest.raises(ValueError, match=r"labels\.csv \(first data row: line 2\) has no column named 'd'; its header is \['a', 'b', 'c'\]"):
        DataLoader().with_labels(["d"]).from_csv(path)
    with pytest.raises(ValueError, match=r"column names \['a'\] need a header row.*labels\.csv"):
        DataLoader().without_headers().with_labels(["a"]).from_csv(path)
    with pytest.raises(ValueError, match=r"same column twice"):
        DataLoader().with_labels([2, -1]).from_csv(path)
    with pytest.raises(ValueError, match=r"every one of the 3 columns of .*labels\.csv.* is a label column"):
        DataLoader().with_labels([0, 1, 2]).from_csv(path)


def test_a_shape_that_does_not_hold_the_columns_raises(tmp_path):
    path = write(tmp_path, "a,b,c,d\n1,2,3,4\n", name="shape.csv")
    with pytest.raises(ValueError, match=r"from_csv: shape=\(3, 2\) holds 6 values per record, but the rows of .*shape\.csv \(first data row: line 2\) have 4 feature columns"):
        DataLoader().from_csv(path, shape=(3, 2))
    with pytest.raises(ValueError, match=r"label_shape=\(2,\) holds 2 values per label, .*shape\.csv.*line 2.* 1 label columns"):
        DataLoader().with_labels([3]).from_csv(path, label_shape=2)
    with pytest.raises(ValueError, match=r"shape must be a positive int or a tuple of positive ints, got \(2, 0\)"):
        DataLoader().from_csv(path, shape=(2, 0))
    with pytest.raises(ValueError, match=r"label_shape=.*no labels; call with_labels"):
        DataLoader().from_csv(path, label_shape=(1,))


def test_fn_errors_and_ragged_fn_rows_name_the_file_and_the_line(tmp_path):
    path = write(tmp_path, IRIS + "5.0,1.5,unknown\n", name="iris.csv")
    encode = lambda cells: [float(cells[0]), float(cells[1]), SPECIES[cells[2]]]  # noqa: E731
    with pytest.raises(ValueError, match=r"iris\.csv, line 6: fn raised KeyError: 'unknown'") as caught:
        DataLoader().with_labels([2]).from_csv(path, fn=encode)
    assert isinstance(caught.value.__cause__, KeyError)
    varying = lambda cells: [1.0] * (2 if cells[2] == "setosa" else 3)  # noqa: E731
    with pytest.raises(ValueError, match=r"iris\.csv, line 3: ragged row: fn returned 3 values but line 2 has 2"):
        DataLoader().from_csv(path, fn=varying)
    with pytest.raises(TypeError, match=r"iris\.csv, line 2: fn must return a flat sequence of numbers"):
        DataLoader().from_csv(path, fn=lambda cells: cells)  # text is not a number (issue 12, item 7)


def test_malformed_quoting_names_the_line(tmp_path):
    path = write(tmp_path, 'a,b\n1,2\n"3"x,4\n', name="quotes.csv")
    with pytest.raises(ValueError, match=r"quotes\.csv, line 3: malformed CSV"):
        DataLoader().from_csv(path)


def test_a_reader_without_a_name_is_called_reader_and_text_is_not_a_reader():
    with pytest.raises(ValueError, match=r"<reader>, line 2, column 0"):
        DataLoader().from_reader(io.StringIO("a\nx\n"))
    with pytest.raises(TypeError, match="io.StringIO"):
        DataLoader().from_reader("a,b\n1,2\n")  # type: ignore[arg-type]


def test_loader_configuration_is_checked_when_given(tmp_path):
    with pytest.raises(ValueError, match="no label column"):
        DataLoader().with_labels([])
    with pytest.raises(ValueError, match="duplicated"):
        DataLoader().with_labels([1, 1])
    with pytest.raises(TypeError, match="int index or a header name"):
        DataLoader().with_labels([True])
    with pytest.raises(ValueError, match="one character"):
        DataLoader().with_delimiter(";;")
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        DataLoader().from_csv(tmp_path / "absent.csv")


# --- shuffle ---------------------------------------------------------------------------------

def test_shuffle_keeps_records_and_labels_paired_and_shuffles_in_place(device):
    data = labeled(50, device)
    assert data.shuffle(seed=3) is data
    records, labels = data.records.numpy(), data.labels.numpy()
    assert not np.array_equal(labels[:, 0], np.arange(50))
    np.testing.assert_array_equal(records[:, 0], labels[:, 0])
    np.testing.assert_array_equal(records[:, 2], 20 * labels[:, 0])
    np.testing.assert_array_equal(labels[:, 1], -labels[:, 0])
    np.testing.assert_array_equal(np.sort(labels[:, 0]), np.arange(50))


def test_shuffle_with_a_seed_is_reproducible_and_the_same_on_every_backend(device):
    first = labeled(30, device).shuffle(seed=7).labels.numpy()[:, 0]
    again = labeled(30, device).shuffle(seed=7).labels.numpy()[:, 0]
    other = labeled(30, device).shuffle(seed=8).labels.numpy()[:, 0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(first, np.random.default_rng(7).permutation(30))


def test_shuffle_without_a_seed_follows_manual_seed(device):
    nk.manual_seed(11)
    first = Dataset(table(20), device=device).shuffle().records.numpy()
    nk.manual_seed(11)
    again = Dataset(table(20), device=device).shuffle().records.numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, table(20))


# --- batch -----------------------------------------------------------------------------------

def test_batch_yields_consecutive_batches_the_last_one_smaller(device):
    data = labeled(10, device)
    batches = data.batch(4)
    assert isinstance(batches, Batch) and len(batches) == 3
    pairs = [(host(device, r), host(device, l)) for r, l in batches]
    assert [r.shape for r, _ in pairs] == [(4, 3), (4, 3), (2, 3)]
    assert [l.shape for _, l in pairs] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([r for r, _ in pairs]), table(10))
    np.testing.assert_array_equal(np.concatenate([l for _, l in pairs])[:, 0], np.arange(10))
    unlabeled = [host(device, r) for r in Dataset(table(10), device=device).batch(3)]
    assert [r.shape for r in unlabeled] == [(3, 3), (3, 3), (3, 3), (1, 3)]


def test_drop_last_drops_only_an_incomplete_last_batch(device):
    data = labeled(10, device)
    dropped = data.batch(4).drop_last()
    assert len(dropped) == 2 and [host(device, r).shape[0] for r, _ in dropped] == [4, 4]
    assert [host(device, r).shape[0] for r, _ in data.batch(5).drop_last()] == [5, 5]
    assert list(data.batch(11).drop_last()) == [] and len(list(data.batch(11))) == 1
    with pytest.raises(ValueError, match="positive int"):
        data.batch(0)


def test_batches_are_copies_and_each_pass_sees_the_dataset_as_it_is(device):
    data = labeled(6, device)
    batches = data.batch(6)
    records, _ = next(iter(batches))
    with nk.backends.get(device).scope():  # a raw CuPy array is written on its own GPU
        records[0, ...] = -1.0  # a batch is the caller's own array
    np.testing.assert_array_equal(data.records.numpy(), table(6))
    data.shuffle(seed=1)
    (_, labels), = list(batches)
    np.testing.assert_array_equal(host(device, labels)[:, 0], np.random.default_rng(1).permutation(6))


def test_batches_feed_a_graph_built_once_through_assign(device):
    data = labeled(8, device)
    x = nk.zeros((4, 3), device=device)
    w = nk.from_ndarray(np.array([[1.0], [0.5], [0.25]]), dtype="float32", device=device)
    y = x.mm(w)
    outputs = []
    for records, _ in data.batch(4).drop_last():
        x.assign(records)
        outputs.append(y.forward().numpy()[:, 0])
    np.testing.assert_allclose(np.concatenate(outputs), table(8) @ np.array([1.0, 0.5, 0.25]), rtol=1e-6)


# --- split and kfold -------------------------------------------------------------------------

def test_split_by_counts_partitions_the_data_in_order(device):
    data = labeled(10, device)
    parts = data.split([6, 0, 4])
    assert [len(p) for p in parts] == [6, 0, 4] and parts[1].is_empty()
    assert all(isinstance(p, LabeledDataset) and p.device == data.device for p in parts)
    np.testing.assert_array_equal(np.concatenate([p.records.numpy() for p in parts]), table(10))
    np.testing.assert_array_equal(np.concatenate([p.labels.numpy() for p in parts])[:, 0], np.arange(10))
    assert len(data) == 10  # the dataset itself is left whole
    assert list(parts[1].batch(2)) == []


def test_split_by_fractions_gives_leftovers_to_the_first_splits(device):
    data = Dataset(table(10), device=device)
    assert [len(p) for p in data.split([0.7, 0.3])] == [7, 3]
    thirds = data.split([1 / 3, 1 / 3, 1 / 3])
    assert [len(p) for p in thirds] == [4, 3, 3]
    np.testing.assert_array_equal(np.concatenate([p.records.numpy() for p in thirds]), table(10))


@pytest.mark.parametrize("lengths, error", [
    ([5, 4], ValueError), ([11, -1], ValueError), ([0.5, 0.4], ValueError),
    ([1.5, -0.5], ValueError), ([5, 0.5], TypeError), ([], ValueError),
])
def test_split_lengths_must_cover_the_dataset(device, lengths, error):
    with pytest.raises(error, match="split"):
        Dataset(table(10), device=device).split(lengths)


def test_kfold_tests_every_sample_exactly_once(device):
    data = labeled(10, device)
    folds = data.kfold(3)
    assert isinstance(folds, KFold) and len(folds) == 3
    pairs = list(folds)
    assert [len(test) for _, test in pairs] == [4, 3, 3]
    tested = np.concatenate([test.labels.numpy()[:, 0] for _, test in pairs])
    np.testing.assert_array_equal(tested, np.arange(10))
    for i, (train, test) in enumerate(pairs):
        start, stop = folds.fold_bounds(i)
        expected_train = np.r_[0:start, stop:10]
        np.testing.assert_array_equal(train.labels.numpy()[:, 0], expected_train)
        np.testing.assert_array_equal(train.records.numpy(), table(10)[expected_train])
        again_train, again_test = folds.compute_fold(i)
        np.testing.assert_array_equal(again_test.records.numpy(), test.records.numpy())
        np.testing.assert_array_equal(again_train.records.numpy(), train.records.numpy())


def test_kfold_matches_the_crate_on_its_own_example(device):
    rows = np.array([list(range(10)), list(range(9, -1, -1))] * 2 + [list(range(10))], dtype=np.float64)
    data = DataLoader().without_headers().from_reader(io.StringIO("\n".join(",".join(map(str, map(int, r))) for r in rows)), device=device)
    (train0, test0), (train1, test1) = data.kfold(2)
    np.testing.assert_array_equal(train0.records.numpy(), rows[3:])
    np.testing.assert_array_equal(test0.records.numpy(), rows[:3])
    np.testing.assert_array_equal(train1.records.numpy(), rows[:3])
    np.testing.assert_array_equal(test1.records.numpy(), rows[3:])
    assert isinstance(train0, Dataset) and not isinstance(train0, LabeledDataset)


def test_kfold_checks_k_and_the_fold_index(device):
    data = Dataset(table(4), device=device)
    for k in (1, 5, 2.0):
        with pytest.raises(ValueError, match="kfold"):
            data.kfold(k)  # type: ignore[arg-type]
    with pytest.raises(IndexError, match=r"\[0, 2\)"):
        data.kfold(2).compute_fold(2)
