"""CSV text to a table of numbers, on the host: the standard ``csv`` module splits the cells,
NumPy (which reads text as Python's ``float`` does) or the user's ``fn`` turns them into
numbers, and every error names the source, the 1-based line and the offending cell.

Rows are streamed: every ``_CHUNK_CELLS`` cells, the text rows read so far become one float64
block, cast at once to the dtype the dataset will hold, and the text is dropped. Reading a file
therefore holds the table once in its final dtype (plus one block of text), not every cell as a
Python string; the blocks are joined at the end.
"""

from __future__ import annotations

import codecs
import csv
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..backends._values import inspect
from ..backends import host


__all__ = ["ENCODING_HINT", "RowFn", "read_table", "text_lines", "undecodable_line"]

#: ``fn(cells) -> numbers``: the raw text cells of one row to the numbers of that row
RowFn = Callable[[list[str]], Sequence[float]]
_FN_HINT = "fix the file, or pass fn= to turn text cells (e.g. class names) into numbers"


def text_lines(reader: Iterable[Any], source: str, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of a text or binary reader as ``str``: bytes are decoded line by line with
    ``encoding`` (an ASCII-compatible one: each line ends with a ``\\n`` byte), a UTF-8
    byte-order mark is dropped."""
    first = True
    for number, line in enumerate(reader, 1):
        if isinstance(line, (bytes, bytearray)):
            try:
                line = bytes(line).decode(encoding)
            except UnicodeDecodeError as error:
                raise ValueError(f"{source}: line {number} is not {encoding} text: {error}; {ENCODING_HINT}") from None
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        yield line


ENCODING_HINT = "pass the file's encoding, e.g. encoding='latin-1' or 'cp1252'"


def undecodable_line(path: str, encoding: str) -> tuple[int, str]:
    """The 1-based line of the first byte of the file at ``path`` that ``encoding`` cannot
    decode, and the decoder's reason (streams the file; used only after decoding failed)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 16):
            try:
                newlines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as error:
                good = codecs.getincrementaldecoder(encoding)(errors="ignore")
                newlines += good.decode(chunk[: error.start]).count("\n")
                return newlines + 1, f"{error.reason} (byte {chunk[error.start:error.start + 1]!r})"
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return newlines + 1, str(error.reason)
    return newlines + 1, "undecodable bytes"


_CHUNK_CELLS = 1 << 14


def read_table(
    lines: Iterable[str], source: str, delimiter: str, has_headers: bool, fn: RowFn | None,
    dtype: str = "float64",
) -> tuple[list[str] | None, Any, int]:
    """The header (or None), the numbers of every data row as a ``(rows, columns)`` host array
    of ``dtype`` (each cell read as a float64, then cast), and the line of the first data row.
    Blank lines are skipped; every other row must have the same number of cells."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    width_line, width = 0, -1  # the first row that set the width
    rows: list[list[Any]] = []  # the current block: text cells without fn, else fn's numbers
    row_lines: list[int] = []
    blocks: list[Any] = []
    block_rows = 0
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ValueError(f"{source}, line {reader.line_num}: malformed CSV: {error}") from None
        line, last_line = last_line + 1, reader.line_num
        if not cells:
            continue
        if has_headers and header is None:
            header, header_line = cells, line
            continue
        if header is not None and len(cells) != len(header):
            raise ValueError(
                f"{source}, line {line}: ragged row: {_cells(len(cells))} but the header on line "
                f"{header_line} has {len(header)}: {cells!r}"
            )
        values = cells if fn is None else _convert(cells, fn, source, line, header)
        if width < 0:
            width, width_line = len(values), line
            block_rows = max(1, _CHUNK_CELLS // max(width, 1))
        elif len(values) != width:
            what = f"fn returned {len(values)} values" if fn is not None else _cells(len(values))
            raise ValueError(f"{source}, line {line}: ragged row: {what} but line {width_line} has {width}: {cells!r}")
        rows.append(values)
        row_lines.append(line)
        if len(rows) == block_rows:
            blocks.append(_block(rows, row_lines, dtype, source, header))
            rows, row_lines = [], []
    if rows:
        blocks.append(_block(rows, row_lines, dtype, source, header))
    if not blocks:
        detail = "the file is empty" if header is None else (
            f"only a header row, on line {header_line}; if that row holds data, call without_headers()"
        )
        raise ValueError(f"{source}: no data rows ({detail})")
    if width == 0:
        raise ValueError(f"{source}, line {width_line}: fn returned no values for the row")
    table = blocks[0] if len(blocks) == 1 else host.concatenate_rows(blocks)
    return header, table, width_line


def _block(rows: list[list[Any]], row_lines: list[int], dtype: str, source: str, header: list[str] | None) -> Any:
    """One block of rows as a host array of ``dtype`` (errors name the first bad cell)."""
    try:
        return host.float64_matrix(rows, dtype)  # NumPy reads text as float() does
    except ValueError as error:
        for cells, line in zip(rows, row_lines):  # name the first cell that is not a number
            _convert(cells, None, source, line, header)
        raise ValueError(f"{source}: {error}") from error


def _cells(count: int) -> str:
    return f"{count} cell" if count == 1 else f"{count} cells"


def _convert(cells: list[str], fn: RowFn | None, source: str, line: int, header: list[str] | None) -> list[float]:
    if fn is None:
        try:
            return [float(cell) for cell in cells]
        except ValueError:
            for column, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    name = f", {header[column]!r}" if header is not None and column < len(header) else ""
                    raise ValueError(
                        f"{source}, line {line}, column {column} (0-based{name}): cannot read "
                        f"{cell!r} as a number; {_FN_HINT}"
                    ) from None
            raise  # unreachable: some cell failed above
    try:
        out = fn(list(cells))
    except Exception as error:
        raise ValueError(f"{source}, line {line}: fn raised {type(error).__name__}: {error} on the cells {cells!r}") from error
    try:
        inspect("fn", out)  # None, complex, text...: a TypeError, never a NaN or a dropped part
    except TypeError as error:
        raise TypeError(
            f"{source}, line {line}: fn must return a flat sequence of numbers, it returned {out!r} "
            f"for the cells {cells!r} ({str(error).partition('; ')[2] or error})"
        ) from None
    try:
        values = host.float64_values(out)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim > 1:
        raise ValueError(
            f"{source}, line {line}: fn must return a flat sequence of numbers, it returned {out!r} "
            f"for the cells {cells!r}"
        )
    return [float(v) for v in values.reshape(-1)]
