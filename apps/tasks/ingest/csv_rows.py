"""CSV bodies to rows: the header's checks, line numbers, invalid UTF-8 pinned to its line, rows
past the line limit."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from apps.tasks.ingest.jsontext import TooDeep, loads
from apps.tasks.ingest.limits import Limits, bounded_lines, too_long
from apps.tasks.ingest.rows import JSON_CELLS, KIND_FIELDS, Checked, Record, RowError

if TYPE_CHECKING:
    from apps.tasks.ingest.validation import RowValidator


# The csv module's own cap on one field, a backstop: `Limits.max_line_bytes` (lower by default)
# ends a row before it gets there.
MAX_CSV_FIELD = 16 << 20
csv.field_size_limit(MAX_CSV_FIELD)


class _RowTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _CsvLines:
    """A CSV body as decoded lines for csv.reader, with what the row loop needs to know.

    Invalid UTF-8 is pinned to its line in `bad_lines` and parsing goes on. `row_bytes` counts
    the bytes of the row being read (one line, or several inside quotes); the row loop resets
    it after each row, and a row past `max_bytes` raises _RowTooLong (through csv.reader)
    before more of it is read: the file ends there.
    """

    def __init__(self, stream: BinaryIO, max_bytes: int) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.bad_lines: list[int] = []
        self.row_bytes = 0

    def __iter__(self) -> Iterator[str]:
        max_bytes = self.max_bytes
        for number, raw in enumerate(bounded_lines(self.stream, max_bytes), start=1):
            if raw is None:
                raise _RowTooLong(number)
            self.row_bytes += len(raw)
            if self.row_bytes > max_bytes:
                raise _RowTooLong(number)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.append(number)
                yield raw.decode("utf-8", "replace")


def csv_records(stream: BinaryIO, item_kind: str, limits: Limits) -> Iterator[Record]:
    lines = _CsvLines(stream, limits.max_line_bytes)
    reader = csv.reader(lines, strict=True)
    header = yield from _csv_header(reader, lines, item_kind, limits, lambda error: error)
    if header is not None:
        yield from _csv_rows(reader, lines, header)


def csv_checked(stream: BinaryIO, validator: RowValidator, limits: Limits) -> Iterator[Checked]:
    lines = _CsvLines(stream, limits.max_line_bytes)
    reader = csv.reader(lines, strict=True)
    header = yield from _csv_header(reader, lines, validator.item_kind, limits, lambda e: e.error)
    if header is None:
        return
    fast = validator.csv_row_checker(header, lines.bad_lines)
    if fast is None:
        yield from map(validator.check, _csv_rows(reader, lines, header))
    else:
        yield from _csv_rows(reader, lines, header, fast, lambda record: record.error)


def _csv_header(
    reader: Any, lines: _CsvLines, item_kind: str, limits: Limits, out: Callable[[Record], Any]
) -> Generator[Any, None, list[str] | None]:
    """Yields the header's error (through `out`), if any; returns the usable header or None."""
    try:
        header = next(reader, None)
    except (csv.Error, _RowTooLong) as exc:
        line = exc.line if isinstance(exc, _RowTooLong) else reader.line_num
        message = too_long(limits.max_line_bytes) if isinstance(exc, _RowTooLong) else str(exc)
        yield out(Record(0, line, None, RowError(0, line, None, message)))
        return None
    if header is None:
        return None
    lines.row_bytes = 0
    header_error = check_header(header, item_kind, lines.bad_lines, limits.max_columns)
    if header_error:
        yield out(Record(0, 1, None, header_error))
        return None
    return [header[0].lstrip("\ufeff"), *header[1:]]


def _csv_rows(
    reader: Any,
    lines: _CsvLines,
    header: list[str],
    build: Callable[..., Any] | None = None,
    failed: Callable[[Record], Any] = lambda record: record,
) -> Iterator[Any]:
    """`build(row, line, cells)` for each row (a Record by default), `failed(Record)` on a
    CSV syntax error or a row over the byte limit, which ends the file."""
    width = len(header)
    json_cells = [(i, name) for i, name in enumerate(header) if name in JSON_CELLS]
    bad_lines = lines.bad_lines
    if build is None:

        def build(row: int, line: int, cells: list[str]) -> Record:
            return csv_record(row, line, cells, header, width, json_cells, bad_lines)

    row = 0
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader, None)
        except (csv.Error, _RowTooLong) as exc:
            row += 1
            if isinstance(exc, _RowTooLong):
                error = RowError(row, last_line + 1, None, too_long(lines.max_bytes))
            else:
                error = RowError(row, reader.line_num, None, str(exc))
            yield failed(Record(row, error.line, None, error))
            return
        if cells is None:
            return
        lines.row_bytes = 0
        first_line, last_line = last_line + 1, reader.line_num
        if not cells:
            continue
        row += 1
        yield build(row, first_line, cells)


def csv_record(
    row: int,
    line: int,
    cells: list[str],
    header: list[str],
    width: int,
    json_cells: list[tuple[int, str]],
    bad_lines: list[int],
) -> Record:
    if bad_lines and bad_lines[-1] >= line:
        return Record(row, line, None, RowError(row, bad_lines[-1], None, "Invalid UTF-8."))
    if len(cells) != width:
        message = f"The row has {len(cells)} cells, the header has {width} columns."
        return Record(row, line, None, RowError(row, line, None, message))
    data: dict[str, Any] = dict(zip(header, cells, strict=True))
    for index, name in json_cells:
        if not cells[index].strip():
            del data[name]  # e.g. an image row with an image_url and no pixels
            continue
        try:
            data[name] = loads(cells[index])
        except TooDeep as exc:
            return Record(row, line, None, RowError(row, line, name, f"JSON {exc}."))
        except ValueError:
            return Record(row, line, None, RowError(row, line, name, "Not a JSON list."))
    return Record(row, line, data)


def check_header(
    header: list[str], item_kind: str, bad_lines: list[int], max_columns: int
) -> RowError | None:
    """Linear in the header's width (a 50k-column header once took 18 s here)."""
    if bad_lines:
        return RowError(0, 1, None, "Invalid UTF-8 in the header.")
    if not header:
        return RowError(0, 1, None, "The first line, the header, is empty.")
    if len(header) > max_columns:
        message = (
            f"The header has {len(header)} columns: at most {max_columns} (UPLOAD_MAX_COLUMNS)."
        )
        return RowError(0, 1, None, message)
    names = [header[0].lstrip("\ufeff"), *header[1:]]
    if any(not name.strip() for name in names):
        return RowError(0, 1, None, "The header has an empty column name.")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        return RowError(0, 1, duplicates[0], f"Column {duplicates[0]!r} appears twice.")
    present = set(names)
    if "payload" in present:
        return RowError(0, 1, "payload", "A CSV has no 'payload' column: one column per field.")
    if "external_id" not in present:
        return RowError(0, 1, "external_id", "Missing column 'external_id'.")
    needed = KIND_FIELDS.get(item_kind, ())
    if needed and present.isdisjoint(needed):
        wanted = " or ".join(repr(n) for n in needed)
        return RowError(0, 1, needed[0], f"Missing column {wanted} for {item_kind} items.")
    return None
