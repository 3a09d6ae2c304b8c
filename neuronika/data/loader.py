"""``DataLoader``: CSV files and readers into datasets.

The text is parsed on the host by the standard ``csv`` module (quoting, escaped delimiters and
``\\r\\n`` line ends handled there), the cells are converted to numbers with Python's ``float``
(or the user's ``fn``), and the table goes to the chosen device once, as a
:class:`~neuronika.data.Dataset` or :class:`~neuronika.data.LabeledDataset`.

Configuration follows the crate: ``DataLoader()`` expects a header row and ``,`` as the
delimiter; ``without_headers()``, ``with_delimiter(c)`` and ``with_labels(columns)`` change that.
A loader is immutable: each of these methods returns a new loader, so one base loader can be
specialised several ways.
"""

from __future__ import annotations

import codecs
import math
import os
from typing import Any, Iterable, Sequence, TypeVar, Union, cast

from ..backends import Device, DType, float32, to_dtype
from ._csv import ENCODING_HINT, RowFn, read_table, text_lines, undecodable_line
from .dataset import Dataset, LabeledDataset

__all__ = ["DataLoader", "LabeledDataLoader"]

Shape = Union[int, Sequence[int]]
Column = Union[int, str]
_L = TypeVar("_L", bound="DataLoader")


class DataLoader:
    """Loads unlabeled records from CSV (see the module docstring for the defaults).

    >>> import io, neuronika as nk
    >>> data = nk.data.DataLoader().from_reader(io.StringIO("a,b\\n1,2\\n3,4\\n"))
    >>> len(data), data.record_shape
    (2, (2,))
    """

    def __init__(self) -> None:
        self._has_headers = True
        self._delimiter = ","

    def _copy(self: _L, **changes: Any) -> _L:
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.__dict__.update(changes)
        return other

    # --- configuration ------------------------------------------------------------------------
    def without_headers(self: _L) -> _L:
        """A loader that reads the first row as data (by default it is a header, skipped)."""
        return self._copy(_has_headers=False)

    def with_delimiter(self: _L, delimiter: str) -> _L:
        """A loader that splits cells on ``delimiter``, one character (e.g. ``";"``, ``"\\t"``)."""
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
            raise ValueError(
                f"with_delimiter: the delimiter must be one character other than a quote or a line "
                f"break, got {delimiter!r}"
            )
        return self._copy(_delimiter=delimiter)

    def with_labels(self, columns: "Column | Sequence[Column]") -> "LabeledDataLoader":
        """A loader of labeled data whose labels are the given columns.

        ``columns`` holds column indices (0-based; negative ones count from the end, ``-1`` is
        the last column) or header names. Label ``j`` of a sample is column ``columns[j]``, in
        the order given; the other columns, in file order, form the record.
        """
        if isinstance(columns, (int, str)):
            columns = [columns]
        columns = list(columns)
        if not columns:
            raise ValueError("with_labels: no label column given; pass e.g. with_labels([4]) or with_labels(['species'])")
        for column in columns:
            if isinstance(column, bool) or not isinstance(column, (int, str)):
                raise TypeError(f"with_labels: a label column is an int index or a header name, got {column!r}")
        if len(set(columns)) != len(columns):
            raise ValueError(f"with_labels: duplicated label columns in {columns}")
        loader = LabeledDataLoader()
        loader.__dict__.update(self.__dict__)
        loader._labels = tuple(columns)
        return loader

    # --- loading ------------------------------------------------------------------------------
    def from_csv(
        self,
        path: "str | os.PathLike[str]",
        shape: Shape | None = None,
        label_shape: Shape | None = None,
        fn: RowFn | None = None,
        device: "str | Device | None" = None,
        dtype: "DType | str | None" = None,
        encoding: str = "utf-8",
    ) -> Dataset:
        """Load the CSV file at ``path``.

        :param shape: the shape of one record; records are ``(N, *shape)``. Default:
            ``(features,)``, one axis holding every non-label column. ``prod(shape)`` must equal
            the number of feature columns (e.g. 64 pixels with ``shape=(1, 8, 8)``).
        :param label_shape: the shape of one label (labeled loaders only); labels are
            ``(N, *label_shape)``, by default ``(N, len(columns))``; ``()`` gives ``(N,)`` for
            one label column (class indices for ``nll_loss``).
        :param fn: maps the text cells of each row (a ``list[str]``) to its numbers; label
            columns then index the row that ``fn`` returns. Without it, every cell must parse
            as a ``float``.
        :param device: where the arrays go (default: the default device).
        :param dtype: their dtype (default ``float32``).
        :param encoding: the file's text encoding (default UTF-8, with or without a byte-order
            mark), any of Python's codecs (``"latin-1"``, ``"cp1252"``, ``"utf-16"``, ...).
        :raises ValueError: ragged rows or cells that are not numbers (naming the file, the
            line and the cell), bytes that are not text in ``encoding`` (naming the file and
            the line), an empty file, a missing label column, a shape that does not hold the
            number of columns.

        The rows are streamed into blocks of the final dtype, so loading needs about twice the
        dataset's size in memory (the blocks, then the joined table), not the file's text.
        """
        return cast(Dataset, self._from_path("from_csv", path, shape, label_shape, fn, device, dtype, encoding=encoding))

    def from_reader(
        self,
        reader: Iterable[Any],
        shape: Shape | None = None,
        label_shape: Shape | None = None,
        fn: RowFn | None = None,
        device: "str | Device | None" = None,
        dtype: "DType | str | None" = None,
        encoding: str = "utf-8",
    ) -> Dataset:
        """Load CSV text from a file object (text or binary, e.g. ``io.StringIO``,
        ``io.BytesIO``) or any iterable of lines; arguments as :meth:`from_csv`. Errors name
        the reader's ``name`` (an open file's path) or ``<reader>``. Lines of bytes are decoded
        one by one with ``encoding``, which must then be ASCII-compatible (UTF-8, Latin-1,
        cp1252, ...); for UTF-16 text, pass a text reader or use :meth:`from_csv`."""
        return cast(Dataset, self._from_reader("from_reader", reader, shape, label_shape, fn, device, dtype, encoding=encoding))

    def _from_path(self, op: str, path: Any, *args: Any, encoding: str = "utf-8") -> Any:
        source = os.fspath(path)
        _check_shapes(op, args[0], args[1], self._labeled)
        codec = _codec(op, encoding)
        try:
            with open(source, newline="", encoding="utf-8-sig" if codec == "utf-8" else encoding) as file:
                return self._load(op, file, str(source), *args)
        except UnicodeDecodeError:
            line, reason = undecodable_line(source, encoding)
            raise ValueError(f"{source}: line {line} is not {encoding} text: {reason}; {ENCODING_HINT}") from None

    def _from_reader(self, op: str, reader: Any, *args: Any, encoding: str = "utf-8") -> Any:
        if isinstance(reader, (str, bytes, bytearray)):
            raise TypeError(
                f"{op}: got {type(reader).__name__} text, not a reader; wrap it as io.StringIO(text) "
                f"(or io.BytesIO(data)), or pass a path to from_csv"
            )
        _check_shapes(op, args[0], args[1], self._labeled)
        _codec(op, encoding)
        name = getattr(reader, "name", None)
        source = str(name) if isinstance(name, (str, os.PathLike)) else "<reader>"
        return self._load(op, text_lines(reader, source, encoding), source, *args)

    _labeled = False

    def _load(
        self, op: str, lines: Iterable[str], source: str, shape: Any, label_shape: Any,
        fn: RowFn | None, device: Any, dtype: Any,
    ) -> Any:
        self._check_columns(source)
        storage = to_dtype(dtype).name if dtype is not None else float32.name  # the dataset's dtype
        header, table, first = read_table(lines, source, self._delimiter, self._has_headers, fn, storage)
        where = f"{source} (first data row: line {first})"
        return self._build(op, where, header, table, _as_shape(shape), _as_shape(label_shape), device, dtype)

    def _check_columns(self, source: str) -> None:
        """Checks of the label columns that need no data (before the file is read)."""

    def _build(
        self, op: str, source: str, header: list[str] | None, table: Any,
        shape: tuple[int, ...] | None, label_shape: tuple[int, ...] | None, device: Any, dtype: Any,
    ) -> Any:
        records = _reshape(op, "shape", "record", table, shape, source, "feature columns")
        return Dataset(records, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(headers={self._has_headers}, delimiter={self._delimiter!r})"


class LabeledDataLoader(DataLoader):
    """Loads labeled records from CSV; made by :meth:`DataLoader.with_labels`.

    ``from_csv`` / ``from_reader`` take the same arguments as ``DataLoader``'s and return a
    :class:`~neuronika.data.LabeledDataset`.

    >>> import io; data = nk.data.DataLoader().with_labels([2]).from_reader(io.StringIO("a,b,y\\n1,2,0\\n")); data.labels.shape
    (1, 1)
    """

    _labeled = True
    _labels: tuple[Column, ...] = ()

    @property
    def labels(self) -> tuple[Column, ...]:
        """The label columns, as given to ``with_labels``."""
        return self._labels

    def from_csv(
        self,
        path: "str | os.PathLike[str]",
        shape: Shape | None = None,
        label_shape: Shape | None = None,
        fn: RowFn | None = None,
        device: "str | Device | None" = None,
        dtype: "DType | str | None" = None,
        encoding: str = "utf-8",
    ) -> LabeledDataset:
        """Load the CSV file at ``path`` into records and labels (see :meth:`DataLoader.from_csv`)."""
        return cast(LabeledDataset, self._from_path("from_csv", path, shape, label_shape, fn, device, dtype, encoding=encoding))

    def from_reader(
        self,
        reader: Iterable[Any],
        shape: Shape | None = None,
        label_shape: Shape | None = None,
        fn: RowFn | None = None,
        device: "str | Device | None" = None,
        dtype: "DType | str | None" = None,
        encoding: str = "utf-8",
    ) -> LabeledDataset:
        """Load CSV text from a reader into records and labels (see :meth:`DataLoader.from_reader`)."""
        return cast(LabeledDataset, self._from_reader("from_reader", reader, shape, label_shape, fn, device, dtype, encoding=encoding))

    def _check_columns(self, source: str) -> None:
        names = [column for column in self._labels if isinstance(column, str)]
        if names and not self._has_headers:
            raise ValueError(
                f"with_labels: column names {names} need a header row, but the loader reads "
                f"{source} without_headers(); give column indices instead"
            )

    def _build(
        self, op: str, source: str, header: list[str] | None, table: Any,
        shape: tuple[int, ...] | None, label_shape: tuple[int, ...] | None, device: Any, dtype: Any,
    ) -> Any:
        width = table.shape[1]
        label_index = _resolve_columns(self._labels, width, header, source)
        if len(label_index) == width:
            raise ValueError(
                f"with_labels: every one of the {width} columns of {source} is a label column, "
                f"which leaves no feature for the records"
            )
        chosen = set(label_index)
        feature_index = [j for j in range(width) if j not in chosen]
        records = _reshape(op, "shape", "record", table[:, feature_index], shape, source, "feature columns")
        labels = _reshape(op, "label_shape", "label", table[:, label_index], label_shape, source, "label columns")
        return LabeledDataset(records, labels, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, labels={list(self._labels)})"


def _codec(op: str, encoding: Any) -> str:
    """The canonical name of ``encoding`` (LookupError/TypeError become a clear ValueError)."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(f"{op}: unknown text encoding {encoding!r}; use a Python codec name such as 'utf-8' or 'latin-1'") from None


# --- label columns -------------------------------------------------------------------------

def _resolve_columns(columns: Sequence[Column], width: int, header: list[str] | None, source: str) -> list[int]:
    """Label columns (indices or header names) as indices in ``[0, width)``."""
    resolved = []
    for column in columns:
        if isinstance(column, str):
            if header is None or column not in header:
                raise ValueError(f"with_labels: {source} has no column named {column!r}; its header is {header}")
            if len(header) != width:
                raise ValueError(
                    f"with_labels: column name {column!r} refers to the file's {len(header)} columns, "
                    f"but fn returns {width} values per row; give column indices into fn's row instead"
                )
            index = header.index(column)
        else:
            index = column + width if column < 0 else column
            if not 0 <= index < width:
                raise ValueError(
                    f"with_labels: label column {column} does not exist: the rows of {source} have "
                    f"{width} columns (indices 0 to {width - 1}, or -{width} to -1)"
                )
        resolved.append(index)
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"with_labels: the label columns {list(columns)} name the same column twice")
    return resolved


# --- shapes ----------------------------------------------------------------------------------

def _as_shape(shape: Shape | None) -> tuple[int, ...] | None:
    if shape is None:
        return None
    return (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)


def _check_shapes(op: str, shape: Any, label_shape: Any, labeled: bool) -> None:
    """Type checks of ``shape`` / ``label_shape``, before the file is read."""
    if label_shape is not None and not labeled:
        raise ValueError(
            f"{op}: label_shape={label_shape!r} given, but this loader has no labels; "
            f"call with_labels([...]) first"
        )
    for name, value in (("shape", shape), ("label_shape", label_shape)):
        if value is None:
            continue
        dims = (value,) if isinstance(value, int) else value
        try:
            dims = tuple(dims)
        except TypeError:
            dims = (None,)
        if any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in dims):
            raise ValueError(f"{op}: {name} must be a positive int or a tuple of positive ints, got {value!r}")


def _reshape(op: str, argument: str, what: str, table: Any, shape: tuple[int, ...] | None, source: str, columns: str) -> Any:
    count = table.shape[1]
    if shape is None:
        return table
    if math.prod(shape) != count:
        raise ValueError(
            f"{op}: {argument}={shape} holds {math.prod(shape)} values per {what}, but the rows of "
            f"{source} have {count} {columns}; give a shape whose sizes multiply to {count}"
        )
    return table.reshape((table.shape[0], *shape))
