"""Streaming parsing and row validation for batch uploads (CSV, JSON array, JSON lines).

Pure: the standard library only, no ORM. The service (`apps.tasks.services.batches`) feeds the
rows this module yields into a staging table; nothing here holds a whole file in memory.

Row rules (the same for every format):
- Reserved keys/columns: ``external_id`` (required), ``prediction``, ``confidence``,
  ``gold_label``, ``model_version`` and, in JSON rows only, ``payload``. The result columns of
  an export (``EXPORT_ONLY_COLUMNS``, ``p_<label>``) are ignored, so an export uploads as is.
- The payload: in JSON rows the ``payload`` object if present (then no other non-reserved key
  is allowed), else every non-reserved key. In CSV every non-reserved column, values as strings,
  except ``features`` and ``pixels`` cells, which hold a JSON list and are parsed as JSON (an
  empty one is left out). A CSV may not have a ``payload`` column.
- The payload must fit the project's item kind: text needs a ``text`` string; image needs
  ``pixels`` (a list of numbers) or ``image_url`` (an http(s) URL); vector needs ``features``
  (a list of numbers).
- ``prediction`` and ``gold_label`` must be in the project's label set; ``confidence`` a number
  in [0, 1] and only next to a prediction. A row with ``gold_label`` is a gold item.
- Routing: a non-gold row whose confidence is at or above the threshold is auto-labeled;
  every other row waits for people.
- Text the database cannot hold is a row error, never a database error: NUL characters and
  lone surrogates (a JSON ``"\\ud800"`` escape decodes to one; UTF-8 cannot encode it, so the
  COPY into the staging table would fail), in any key or value; and numbers a double cannot
  hold (``1e400`` parses as infinity; JSON has no infinity).
- Limits (`Limits`, set from the settings by the service): a JSON value nested deeper than
  ``MAX_JSON_DEPTH``, a line (a CSV row, a JSON array element) longer than
  ``max_line_bytes``, a CSV header wider than ``max_columns``: each a row error, found
  without reading more than the limit into memory.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, BinaryIO, NamedTuple

RESERVED = frozenset({"external_id", "prediction", "confidence", "gold_label", "model_version"})
# The result columns an export adds (apps.tasks.exports), plus a `p_<label>` column per label in
# CSV: an upload ignores them, so an export is a valid upload file for a new project.
EXPORT_ONLY_COLUMNS = (
    "state",
    "final_label",
    "label_source",
    "final_confidence",
    "posterior",
    "batch",
    "is_gold",
)
POSTERIOR_PREFIX = "p_"
JSON_CELLS = frozenset({"features", "pixels"})
KIND_FIELDS = {"text": ("text",), "image": ("pixels", "image_url"), "vector": ("features",)}
MAX_ERRORS = 100
MAX_EXTERNAL_ID = 255
MAX_MODEL_VERSION = 100
FORMATS = ("csv", "json", "jsonl")
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
}
EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
READ_CHUNK = 1 << 20
# The csv module's own cap on one field, a backstop: `Limits.max_line_bytes` (lower by default)
# ends a row before it gets there.
MAX_CSV_FIELD = 16 << 20
# Row objects are level 1. Python's parser would go ~900 levels deep before a RecursionError,
# and every later reader of the payload (jsonb, the ORM, templates) recurses too.
MAX_JSON_DEPTH = 64
AUTO_LABELED = "auto_labeled"
WAITING = "waiting"

csv.field_size_limit(MAX_CSV_FIELD)
# What PostgreSQL text cannot hold besides NUL: UTF-16 surrogates, which UTF-8 cannot encode.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# An escaped NUL in JSON text: "\u0000" after an even number of backslashes (an odd number
# means the backslash itself is escaped and the text is a literal backslash-u-0-0-0-0).
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_MAX_DOUBLE = 1.7976931348623157e308


class Limits(NamedTuple):
    """Per-upload parsing limits; the service fills them from the settings."""

    max_line_bytes: int = 4 << 20  # UPLOAD_MAX_LINE_BYTES
    max_columns: int = 1_000  # UPLOAD_MAX_COLUMNS


DEFAULT_LIMITS = Limits()


def storable(text: str) -> bool:
    """True when PostgreSQL text (and UTF-8) can hold `text`: no NUL, no lone surrogate."""
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def printable(text: str) -> str:
    """`text` with NULs and lone surrogates spelled as escapes, to echo in an error safely."""
    if storable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def check_model_version(value: str) -> str | None:
    """The error message for a batch-level model version, or None when it is fine."""
    try:
        _model_version(value)
    except _FieldError as exc:
        return exc.message
    return None


class FormatUnknown(ValueError):
    """The upload's format could not be told from the parameter, content type or file name."""


class BodyTooLarge(Exception):
    """The body passed the byte limit while being read."""


class BodyUnreadable(Exception):
    """The body could not be read to its end: the client went away or framed it wrongly."""


# NamedTuples, not dataclasses: a million of them are built per upload, and CleanRow is
# written to the staging table as it is (its field order is the staging table's column order).
class RowError(NamedTuple):
    row: int
    line: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The error as stored and returned; a field named by the upload is echoed safely."""
        field = self.field if self.field is None else printable(self.field)
        return {"row": self.row, "line": self.line, "field": field, "message": self.message}


class Record(NamedTuple):
    """One parsed row before validation: `data` is None when the row could not be parsed."""

    row: int
    line: int
    data: dict[str, Any] | None
    error: RowError | None = None


class CleanRow(NamedTuple):
    row: int
    line: int
    external_id: str
    payload_json: str
    prediction: str
    confidence: float | None
    model_version: str
    gold_label: str
    is_gold: bool
    state: str


Checked = CleanRow | RowError


def detect_format(*, fmt: str | None, content_type: str = "", file_name: str = "") -> str:
    """The explicit parameter wins, then the content type, then the file's extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt == "ndjson":
            return "jsonl"
        if fmt not in FORMATS:
            raise FormatUnknown(f"Unknown format {fmt!r}: use csv, json or jsonl.")
        return fmt
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in CONTENT_TYPES:
        return CONTENT_TYPES[media_type]
    for extension, name in EXTENSIONS.items():
        if file_name.lower().endswith(extension):
            return name
    raise FormatUnknown(
        "Cannot tell the format: send Content-Type text/csv, application/json or "
        "application/x-ndjson, a file named .csv/.json/.jsonl, or ?format=csv|json|jsonl."
    )


class LimitedReader(io.RawIOBase):
    """Reads a stream once, hashing it and raising BodyTooLarge past `max_bytes`.

    BodyUnreadable when the stream fails (a reset connection, bad chunk framing) or ends before
    the `declared_bytes` its Content-Length promised: a server may hand on a cut body as if it
    were whole, and a cut file must not be imported as a shorter one.
    """

    def __init__(
        self, stream: BinaryIO, *, max_bytes: int, declared_bytes: int | None = None
    ) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._declared_bytes = declared_bytes
        self._sha = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except Exception as exc:  # whatever the server's stream raises for a broken body
            raise BodyUnreadable(f"The body could not be read: {exc}") from exc
        if not data:
            if self._declared_bytes is not None and self.bytes_read < self._declared_bytes:
                raise BodyUnreadable(
                    f"The body ended after {self.bytes_read} of its "
                    f"{self._declared_bytes} bytes (Content-Length)."
                )
            return 0
        self.bytes_read += len(data)
        if self.bytes_read > self._max_bytes:
            raise BodyTooLarge(f"The body is larger than {self._max_bytes} bytes.")
        self._sha.update(data)
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()

    def drain(self) -> str:
        """Read to the end (hashing) and return the SHA-256 of everything read."""
        while self.read(READ_CHUNK):
            pass
        return self.hexdigest()


def open_body(
    stream: BinaryIO, *, max_bytes: int, declared_bytes: int | None = None
) -> tuple[LimitedReader, io.BufferedReader]:
    raw = LimitedReader(stream, max_bytes=max_bytes, declared_bytes=declared_bytes)
    return raw, io.BufferedReader(raw, buffer_size=READ_CHUNK)


def iter_records(
    stream: BinaryIO, fmt: str, *, item_kind: str, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """Parsed rows, numbered from 1; a file-level problem comes as a Record with row 0."""
    if fmt == "csv":
        return _csv_records(stream, item_kind, limits)
    if fmt == "jsonl":
        return _jsonl_records(stream, limits)
    return _json_array_records(stream, limits)


def iter_checked(
    stream: BinaryIO, fmt: str, validator: RowValidator, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Checked]:
    """`validator.check` of every row of `iter_records`, the same results, faster.

    CSV rows of text items and JSON lines skip the Record (and, for CSV, the dict) on the way:
    a row the fast path is not sure about goes through `validator.check` as it is.
    """
    if fmt == "csv":
        return _csv_checked(stream, validator, limits)
    if fmt == "jsonl":
        return _jsonl_checked(stream, validator, limits)
    return map(validator.check, _json_array_records(stream, limits))


def _bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """The stream's lines; None for a line over `max_bytes`, whose rest is read and dropped
    (never held whole)."""
    readline = stream.readline
    while True:
        raw = readline(max_bytes + 1)
        if not raw:
            return
        if len(raw) <= max_bytes:
            yield raw
            continue
        while not raw.endswith(b"\n"):
            raw = readline(READ_CHUNK)
            if not raw:
                break
        yield None


def _too_long(max_bytes: int) -> str:
    return f"The row is longer than {max_bytes} bytes (UPLOAD_MAX_LINE_BYTES)."


# --- CSV ----------------------------------------------------------------------------------


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
        for number, raw in enumerate(_bounded_lines(self.stream, max_bytes), start=1):
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


def _csv_records(stream: BinaryIO, item_kind: str, limits: Limits) -> Iterator[Record]:
    lines = _CsvLines(stream, limits.max_line_bytes)
    reader = csv.reader(lines, strict=True)
    header = yield from _csv_header(reader, lines, item_kind, limits, lambda error: error)
    if header is not None:
        yield from _csv_rows(reader, lines, header)


def _csv_checked(stream: BinaryIO, validator: RowValidator, limits: Limits) -> Iterator[Checked]:
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
        message = _too_long(limits.max_line_bytes) if isinstance(exc, _RowTooLong) else str(exc)
        yield out(Record(0, line, None, RowError(0, line, None, message)))
        return None
    if header is None:
        return None
    lines.row_bytes = 0
    header_error = _check_header(header, item_kind, lines.bad_lines, limits.max_columns)
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
            return _csv_record(row, line, cells, header, width, json_cells, bad_lines)

    row = 0
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader, None)
        except (csv.Error, _RowTooLong) as exc:
            row += 1
            if isinstance(exc, _RowTooLong):
                error = RowError(row, last_line + 1, None, _too_long(lines.max_bytes))
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


def _csv_record(
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
            data[name] = _loads(cells[index])
        except _TooDeep as exc:
            return Record(row, line, None, RowError(row, line, name, f"JSON {exc}."))
        except ValueError:
            return Record(row, line, None, RowError(row, line, name, "Not a JSON list."))
    return Record(row, line, data)


def _check_header(
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


# --- JSON lines and JSON arrays -----------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# allow_nan=False: 1e400 parses as inf, which JSON (and jsonb) cannot hold: a ValueError here.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_encode_str = json.encoder.encode_basestring  # what _ENCODER uses for keys and strings
# _ENCODER.encode builds this C encoder anew on every call; built once, it is the same
# function (no circular-reference markers: parsed JSON and CSV cells have no cycles).
_c_encoder = json.encoder.c_make_encoder
_encode_payload = (
    _c_encoder(None, _ENCODER.default, _encode_str, None, ":", ",", False, False, False)
    if _c_encoder is not None
    else None
)


class _TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels")


def _dumps(value: dict[str, Any]) -> str:
    if _encode_payload is None:
        return _ENCODER.encode(value)
    return "".join(_encode_payload(value, 0))


def _loads(text: str) -> Any:
    """json.loads, refusing NaN/Infinity literals and values nested deeper than MAX_JSON_DEPTH."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise _TooDeep() from None
    _check_depth(value, text, 0, len(text))
    return value


def _raw_decode(text: str, start: int) -> tuple[Any, int]:
    """The JSON value at `start` and where it ends, with `_loads`'s refusals."""
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        raise _TooDeep() from None
    _check_depth(value, text, start, end)
    return value, end


def _check_depth(value: Any, text: str, start: int, end: int) -> None:
    """Free for ordinary rows: a value whose text holds at most MAX_JSON_DEPTH brackets cannot
    nest deeper, and only one with more is walked."""
    brackets = text.count("[", start, end) + text.count("{", start, end)
    if brackets > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise _TooDeep()


def _depth(value: Any) -> int:
    """How deep lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if type(node) is dict:
            node = node.values()
        elif type(node) is not list:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in node)
    return deepest


def _as_record(row: int, line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(row, line, None, RowError(row, line, None, "The row is not a JSON object."))
    return Record(row, line, value)


def _jsonl_value(row: int, line: int, raw: bytes | None, max_bytes: int) -> Any:
    """The line's JSON value, or its RowError."""
    if raw is None:
        return RowError(row, line, None, _too_long(max_bytes))
    if line == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return _loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return RowError(row, line, None, "Invalid UTF-8.")
    except ValueError as exc:
        return RowError(row, line, None, f"Malformed JSON: {exc}")


def _jsonl_checked(stream: BinaryIO, validator: RowValidator, limits: Limits) -> Iterator[Checked]:
    """`_jsonl_records` then `validator.check`, without a Record per valid row."""
    clean = validator.clean_or_error
    max_bytes = limits.max_line_bytes
    row = 0
    for line, raw in enumerate(_bounded_lines(stream, max_bytes), start=1):
        if raw is not None and not raw.strip():
            continue
        row += 1
        value = _jsonl_value(row, line, raw, max_bytes)
        if type(value) is dict:
            yield clean(row, line, value)
        elif type(value) is RowError:
            yield value
        else:
            yield validator.check(_as_record(row, line, value))


def _jsonl_records(stream: BinaryIO, limits: Limits) -> Iterator[Record]:
    max_bytes = limits.max_line_bytes
    row = 0
    for line, raw in enumerate(_bounded_lines(stream, max_bytes), start=1):
        if raw is not None and not raw.strip():
            continue
        row += 1
        value = _jsonl_value(row, line, raw, max_bytes)
        if type(value) is RowError:
            yield Record(row, line, None, value)
        else:
            yield _as_record(row, line, value)


class _Malformed(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _TextWindow:
    """A sliding window of decoded text over a byte stream, tracking the current line."""

    _SPACE = re.compile(r"[ \t\r\n]*")

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        # utf-8-sig: a byte order mark at the start is not text (as in a CSV).
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        data = self._stream.read(READ_CHUNK)
        try:
            decoded = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            good = data[: exc.start].decode("utf-8", "ignore")
            line = self.line + self.text.count("\n", self.pos) + good.count("\n")
            raise _Malformed(line, "Invalid UTF-8.") from exc
        self.eof = not data
        self.text = self.text[self.pos :] + decoded
        self.pos = 0
        return True

    def advance(self, to: int) -> None:
        self.line += self.text.count("\n", self.pos, to)
        self.pos = to

    def peek(self) -> str:
        """The next non-space character ('' at the end of the stream), not consumed."""
        while True:
            self.advance(self._SPACE.match(self.text, self.pos).end())
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def expect(self, allowed: str, what: str) -> str:
        char = self.peek()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            raise _Malformed(self.line, f"Malformed JSON: expected {what}, found {found}.")
        self.advance(self.pos + 1)
        return char

    def value(self, max_bytes: int) -> Any:
        """The next JSON value; one that stays unfinished past `max_bytes` is malformed."""
        while True:
            try:
                value, end = _raw_decode(self.text, self.pos)
            except _TooDeep as exc:
                raise _Malformed(self.line, f"Malformed JSON: {exc}.") from None
            except ValueError as exc:
                pending = len(self.text) - self.pos
                if pending <= max_bytes and self.more():
                    continue
                line = self.line + self.text.count("\n", self.pos, getattr(exc, "pos", self.pos))
                message = f"Malformed JSON: {getattr(exc, 'msg', exc)}."
                if pending > max_bytes:
                    message += " Or: " + _too_long(max_bytes)
                raise _Malformed(line, message) from exc
            if end == len(self.text) and not self.eof and not isinstance(value, dict | list):
                # A number or literal cut by the chunk boundary: read on and parse again.
                self.more()
                continue
            if end - self.pos > max_bytes:
                raise _Malformed(self.line, _too_long(max_bytes))
            self.advance(end)
            return value


def _json_array_records(stream: BinaryIO, limits: Limits) -> Iterator[Record]:
    window = _TextWindow(stream)
    row = 0
    try:
        if window.peek() == "":
            return
        window.expect("[", "'[' (a JSON array of row objects)")
        if window.peek() == "]":
            window.advance(window.pos + 1)
        else:
            while True:
                row += 1
                window.peek()
                line = window.line
                yield _as_record(row, line, window.value(limits.max_line_bytes))
                if window.expect(",]", "',' or ']'") == "]":
                    break
        if window.peek() != "":
            raise _Malformed(window.line, "Malformed JSON: data after the closing ']'.")
    except _Malformed as exc:
        row = max(row, 1)
        yield Record(row, exc.line, None, RowError(row, exc.line, None, exc.message))


# --- Validation ---------------------------------------------------------------------------


class RowValidator:
    """Checks one parsed row against the project and decides where it goes."""

    def __init__(
        self, *, item_kind: str, labels: Iterable[str], threshold: float, model_version: str = ""
    ) -> None:
        self.item_kind = item_kind
        self.labels = frozenset(labels)
        self.ignored = frozenset(EXPORT_ONLY_COLUMNS) | {POSTERIOR_PREFIX + x for x in self.labels}
        self.threshold = threshold
        self.model_version = model_version

    def check(self, record: Record) -> CleanRow | RowError:
        if record.data is None:
            assert record.error is not None
            return record.error
        return self.clean_or_error(record.row, record.line, record.data)

    def clean_or_error(self, row: int, line: int, data: dict[str, Any]) -> CleanRow | RowError:
        try:
            return self._clean(row, line, data)
        except _FieldError as exc:
            return RowError(row, line, exc.field, exc.message)

    def csv_row_checker(
        self, header: list[str], bad_lines: list[int]
    ) -> Callable[[int, int, list[str]], CleanRow | RowError] | None:
        """For a CSV of text items without JSON cells: a `(row, line, cells)` check that gives
        what `check(_csv_record(...))` gives, without building the row's dict. None otherwise.

        It accepts only rows whose every cell is plainly fine; any other row (and its error
        message) is left to `check`.
        """
        if self.item_kind != "text" or not JSON_CELLS.isdisjoint(header):
            return None
        return _CsvTextRows(self, header, bad_lines).check

    def _clean(self, row: int, line: int, data: dict[str, Any]) -> CleanRow:
        external_id = data.get("external_id")
        if (
            type(external_id) is not str
            or len(external_id) > MAX_EXTERNAL_ID
            or not external_id.strip()
            or not storable(external_id)
        ):
            external_id = _external_id(external_id)
        if not self.ignored.isdisjoint(data):
            data = {k: v for k, v in data.items() if k not in self.ignored}
        payload = _payload(data)
        self._check_kind(payload)
        payload_json = _payload_json(payload)
        prediction = self._label(data.get("prediction"), "prediction")
        gold_label = self._label(data.get("gold_label"), "gold_label")
        confidence = data.get("confidence")
        if type(confidence) is not float or not 0.0 <= confidence <= 1.0:
            confidence = _confidence(confidence)
        if confidence is not None and not prediction:
            raise _FieldError("confidence", "A confidence needs a prediction.")
        model_version = data.get("model_version")
        model_version = _model_version(model_version) if model_version else self.model_version
        if not gold_label and confidence is not None and confidence >= self.threshold:
            state = AUTO_LABELED
        else:
            state = WAITING
        return CleanRow(
            row, line, external_id, payload_json, prediction, confidence, model_version,
            gold_label, bool(gold_label), state,
        )  # fmt: skip

    def _label(self, value: Any, field: str) -> str:
        if type(value) is str and value in self.labels:
            return value
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            raise _FieldError(field, "Must be a string.")
        if value not in self.labels:
            raise _FieldError(field, f"{value!r} is not in the project's label set.")
        return value

    def _check_kind(self, payload: dict[str, Any]) -> None:
        if self.item_kind == "text":
            if not isinstance(payload.get("text"), str) or not payload["text"]:
                raise _FieldError("text", "Text items need a non-empty 'text' string.")
        elif self.item_kind == "vector":
            _numbers(payload.get("features"), "features")
        elif self.item_kind == "image":
            if "pixels" in payload and payload["pixels"] not in ("", None):
                _numbers(payload["pixels"], "pixels")
            elif not _is_url(payload.get("image_url")):
                raise _FieldError(
                    "image_url", "Image items need 'pixels' (numbers) or an http(s) 'image_url'."
                )


class _CsvTextRows:
    """The common CSV row of text items, checked by column position (see csv_row_checker)."""

    def __init__(self, validator: RowValidator, header: list[str], bad_lines: list[int]) -> None:
        self.validator = validator
        self.header = header
        self.width = len(header)
        self.bad_lines = bad_lines
        column = {name: i for i, name in enumerate(header)}
        self.external_id = column["external_id"]
        self.text = column["text"]  # the header check makes sure a text CSV has it
        self.prediction = column.get("prediction")
        self.gold_label = column.get("gold_label")
        self.confidence = column.get("confidence")
        self.model_version = column.get("model_version")
        self.payload = [
            (i, _encode_str(name) + ":")
            for i, name in enumerate(header)
            if name not in RESERVED and name not in validator.ignored
        ]

    def check(self, row: int, line: int, cells: list[str]) -> CleanRow | RowError:
        fast = None
        if len(cells) == self.width and not (self.bad_lines and self.bad_lines[-1] >= line):
            fast = self._fast(row, line, cells)
        if fast is not None:
            return fast
        record = _csv_record(row, line, cells, self.header, self.width, [], self.bad_lines)
        return self.validator.check(record)

    def _fast(self, row: int, line: int, cells: list[str]) -> CleanRow | None:
        """The CleanRow `check` would give, or None where `check` must decide."""
        validator = self.validator
        external_id = cells[self.external_id]
        if len(external_id) > MAX_EXTERNAL_ID or not external_id.strip() or "\x00" in external_id:
            return None  # (CSV cells are strict UTF-8: they hold no lone surrogate)
        if not cells[self.text]:
            return None
        payload_json = "{" + ",".join([key + _encode_str(cells[i]) for i, key in self.payload])
        payload_json += "}"
        if "\\u0000" in payload_json and _ESCAPED_NUL.search(payload_json):
            return None
        labels = validator.labels
        prediction = "" if self.prediction is None else cells[self.prediction]
        gold_label = "" if self.gold_label is None else cells[self.gold_label]
        if (prediction and prediction not in labels) or (gold_label and gold_label not in labels):
            return None
        confidence = None if self.confidence is None else cells[self.confidence]
        if confidence:
            try:
                confidence = float(confidence)
            except ValueError:
                return None
            if not 0.0 <= confidence <= 1.0 or not prediction:  # NaN fails the range too
                return None
        else:
            confidence = None
        model_version = None if self.model_version is None else cells[self.model_version]
        if not model_version:
            model_version = validator.model_version
        elif len(model_version) > MAX_MODEL_VERSION or "\x00" in model_version:
            return None
        if not gold_label and confidence is not None and confidence >= validator.threshold:
            state = AUTO_LABELED
        else:
            state = WAITING
        return CleanRow(
            row, line, external_id, payload_json, prediction, confidence, model_version,
            gold_label, bool(gold_label), state,
        )  # fmt: skip


# COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_line(row: CleanRow) -> str:
    """One staging row in COPY text format (columns in CleanRow order), newline included."""
    confidence = "\\N" if row.confidence is None else repr(row.confidence)
    payload = row.payload_json
    if "\\" in payload:  # a JSON string escape; JSON text holds no raw tab or newline
        payload = payload.replace("\\", "\\\\")
    return (
        f"{row.row}\t{row.line}\t{_copy_text(row.external_id)}\t{payload}\t"
        f"{_copy_text(row.prediction)}\t{confidence}\t{_copy_text(row.model_version)}\t"
        f"{_copy_text(row.gold_label)}\t{'t' if row.is_gold else 'f'}\t{row.state}\n"
    )


class _FieldError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_NOT_TEXT = "NUL characters and lone surrogates (\\ud800-\\udfff) are not text."


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError("external_id", "Required: a non-empty string.")
    value = str(value)
    if not value.strip():
        raise _FieldError("external_id", "Required: a non-empty string.")
    if len(value) > MAX_EXTERNAL_ID:
        raise _FieldError("external_id", f"At most {MAX_EXTERNAL_ID} characters.")
    if not storable(value):
        raise _FieldError("external_id", _NOT_TEXT)
    return value


def _payload_json(payload: dict[str, Any]) -> str:
    """The payload as JSON text the database can hold, or a _FieldError naming its key."""
    try:
        text = _dumps(payload)
    except ValueError:  # inf or nan: 1e400 parses as inf
        raise _FieldError(_bad_key(payload), _NOT_FINITE) from None
    if ("\\u0000" in text and _ESCAPED_NUL.search(text)) or not storable(text):
        raise _FieldError(_bad_key(payload), _NOT_TEXT)
    return text


def _bad_key(payload: dict[str, Any]) -> str:
    """The first key whose key or value `_payload_json` refuses (on the error path only)."""
    for key, value in payload.items():
        try:
            text = _dumps({key: value})
        except ValueError:
            return key
        if ("\\u0000" in text and _ESCAPED_NUL.search(text)) or not storable(text):
            return key
    return "payload"


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    if "payload" not in data:
        return {k: v for k, v in data.items() if k not in RESERVED}
    extra = sorted(k for k in data if k not in RESERVED and k != "payload")
    if extra:
        raise _FieldError(extra[0], "Unexpected key next to 'payload'.")
    if not isinstance(data["payload"], dict):
        raise _FieldError("payload", "Must be a JSON object.")
    return data["payload"]


def _confidence(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _FieldError("confidence", "Must be a number in [0, 1].") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _FieldError("confidence", "Must be a number in [0, 1].")
    if not 0 <= value <= 1:  # NaN fails too; an int too large for a float compares fine
        raise _FieldError("confidence", "Must be a number in [0, 1].")
    return float(value)


def _model_version(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_MODEL_VERSION:
        raise _FieldError("model_version", f"A string of at most {MAX_MODEL_VERSION} chars.")
    if not storable(value):
        raise _FieldError("model_version", _NOT_TEXT)
    return value


_NOT_FINITE = f"Numbers must be finite and within ±{_MAX_DOUBLE:.4g} (a double)."


def _numbers(value: Any, field: str) -> None:
    if not isinstance(value, list) or not value:
        raise _FieldError(field, f"'{field}' must be a non-empty list of numbers.")
    for number in value:
        kind = type(number)
        if kind is float:
            if not -_MAX_DOUBLE <= number <= _MAX_DOUBLE:  # inf, -inf and nan fail
                raise _FieldError(field, _NOT_FINITE)
        elif kind is int:
            if not -_MAX_DOUBLE <= number <= _MAX_DOUBLE:  # the model reads them as doubles
                raise _FieldError(field, _NOT_FINITE)
        else:
            raise _FieldError(field, f"'{field}' must be a non-empty list of numbers.")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8
