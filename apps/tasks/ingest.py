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
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
import re
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
# A JSON array element larger than this is treated as malformed rather than read on and on.
MAX_JSON_ELEMENT = 16 << 20
AUTO_LABELED = "auto_labeled"
WAITING = "waiting"

csv.field_size_limit(MAX_JSON_ELEMENT)


class FormatUnknown(ValueError):
    """The upload's format could not be told from the parameter, content type or file name."""


class BodyTooLarge(Exception):
    """The body passed the byte limit while being read."""


# NamedTuples, not dataclasses: a million of them are built per upload, and CleanRow is
# written to the staging table as it is (its field order is the staging table's column order).
class RowError(NamedTuple):
    row: int
    line: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "line": self.line, "field": self.field, "message": self.message}


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
    """Reads a stream once, hashing it and raising BodyTooLarge past `max_bytes`."""

    def __init__(self, stream: BinaryIO, *, max_bytes: int) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._sha = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        if not data:
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


def open_body(stream: BinaryIO, *, max_bytes: int) -> tuple[LimitedReader, io.BufferedReader]:
    raw = LimitedReader(stream, max_bytes=max_bytes)
    return raw, io.BufferedReader(raw, buffer_size=READ_CHUNK)


def iter_records(stream: BinaryIO, fmt: str, *, item_kind: str) -> Iterator[Record]:
    """Parsed rows, numbered from 1; a file-level problem comes as a Record with row 0."""
    if fmt == "csv":
        return _csv_records(stream, item_kind)
    if fmt == "jsonl":
        return _jsonl_records(stream)
    return _json_array_records(stream)


def iter_checked(stream: BinaryIO, fmt: str, validator: RowValidator) -> Iterator[Checked]:
    """`validator.check` of every row of `iter_records`, the same results, faster.

    CSV rows of text items and JSON lines skip the Record (and, for CSV, the dict) on the way:
    a row the fast path is not sure about goes through `validator.check` as it is.
    """
    if fmt == "csv":
        return _csv_checked(stream, validator)
    if fmt == "jsonl":
        return _jsonl_checked(stream, validator)
    return map(validator.check, _json_array_records(stream))


# --- CSV ----------------------------------------------------------------------------------


def _decoded_lines(stream: Iterable[bytes], bad_lines: list[int]) -> Iterator[str]:
    """Decode line by line so invalid UTF-8 is pinned to its line; the parser keeps going."""
    for number, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.append(number)
            yield raw.decode("utf-8", "replace")


def _csv_records(stream: BinaryIO, item_kind: str) -> Iterator[Record]:
    bad_lines: list[int] = []
    reader = csv.reader(_decoded_lines(stream, bad_lines), strict=True)
    header = yield from _csv_header(reader, item_kind, bad_lines, lambda error: error)
    if header is not None:
        yield from _csv_rows(reader, header, bad_lines)


def _csv_checked(stream: BinaryIO, validator: RowValidator) -> Iterator[Checked]:
    bad_lines: list[int] = []
    reader = csv.reader(_decoded_lines(stream, bad_lines), strict=True)
    header = yield from _csv_header(reader, validator.item_kind, bad_lines, lambda e: e.error)
    if header is None:
        return
    fast = validator.csv_row_checker(header, bad_lines)
    if fast is None:
        yield from map(validator.check, _csv_rows(reader, header, bad_lines))
    else:
        yield from _csv_rows(reader, header, bad_lines, fast, lambda record: record.error)


def _csv_header(
    reader: Any, item_kind: str, bad_lines: list[int], out: Callable[[Record], Any]
) -> Generator[Any, None, list[str] | None]:
    """Yields the header's error (through `out`), if any; returns the usable header or None."""
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield out(Record(0, reader.line_num, None, RowError(0, reader.line_num, None, str(exc))))
        return None
    if header is None:
        return None
    header_error = _check_header(header, item_kind, bad_lines)
    if header_error:
        yield out(Record(0, 1, None, header_error))
        return None
    return [header[0].lstrip("\ufeff"), *header[1:]]


def _csv_rows(
    reader: Any,
    header: list[str],
    bad_lines: list[int],
    build: Callable[..., Any] | None = None,
    failed: Callable[[Record], Any] = lambda record: record,
) -> Iterator[Any]:
    """`build(row, line, cells)` for each row (a Record by default), `failed(Record)` on a
    CSV syntax error, which ends the file."""
    width = len(header)
    json_cells = [(i, name) for i, name in enumerate(header) if name in JSON_CELLS]
    if build is None:

        def build(row: int, line: int, cells: list[str]) -> Record:
            return _csv_record(row, line, cells, header, width, json_cells, bad_lines)

    row = 0
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            row += 1
            error = RowError(row, reader.line_num, None, str(exc))
            yield failed(Record(row, reader.line_num, None, error))
            return
        if cells is None:
            return
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
        except ValueError:
            return Record(row, line, None, RowError(row, line, name, "Not a JSON list."))
    return Record(row, line, data)


def _check_header(header: list[str], item_kind: str, bad_lines: list[int]) -> RowError | None:
    if bad_lines:
        return RowError(0, 1, None, "Invalid UTF-8 in the header.")
    names = [header[0].lstrip("\ufeff"), *header[1:]]
    if any(not name.strip() for name in names):
        return RowError(0, 1, None, "The header has an empty column name.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return RowError(0, 1, duplicates[0], f"Column {duplicates[0]!r} appears twice.")
    if "payload" in names:
        return RowError(0, 1, "payload", "A CSV has no 'payload' column: one column per field.")
    if "external_id" not in names:
        return RowError(0, 1, "external_id", "Missing column 'external_id'.")
    needed = KIND_FIELDS.get(item_kind, ())
    if needed and not any(name in names for name in needed):
        wanted = " or ".join(repr(n) for n in needed)
        return RowError(0, 1, needed[0], f"Missing column {wanted} for {item_kind} items.")
    return None


# --- JSON lines and JSON arrays -----------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode_str = json.encoder.encode_basestring  # what _ENCODER uses for keys and strings
# _ENCODER.encode builds this C encoder anew on every call; built once, it is the same
# function (no circular-reference markers: parsed JSON and CSV cells have no cycles).
_c_encoder = json.encoder.c_make_encoder
_encode_payload = (
    _c_encoder(None, _ENCODER.default, _encode_str, None, ":", ",", False, False, True)
    if _c_encoder is not None
    else None
)


def _dumps(value: dict[str, Any]) -> str:
    if _encode_payload is None:
        return _ENCODER.encode(value)
    return "".join(_encode_payload(value, 0))


def _loads(text: str) -> Any:
    return _DECODER.decode(text)


def _as_record(row: int, line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(row, line, None, RowError(row, line, None, "The row is not a JSON object."))
    return Record(row, line, value)


def _jsonl_checked(stream: BinaryIO, validator: RowValidator) -> Iterator[Checked]:
    """`_jsonl_records` then `validator.check`, without a Record per valid row."""
    clean = validator.clean_or_error
    row = 0
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        row += 1
        try:
            value = _loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield RowError(row, line, None, "Invalid UTF-8.")
            continue
        except ValueError as exc:
            yield RowError(row, line, None, f"Malformed JSON: {exc}")
            continue
        if type(value) is dict:
            yield clean(row, line, value)
        else:
            yield validator.check(_as_record(row, line, value))


def _jsonl_records(stream: BinaryIO) -> Iterator[Record]:
    row = 0
    for line, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        row += 1
        try:
            value = _loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield Record(row, line, None, RowError(row, line, None, "Invalid UTF-8."))
            continue
        except ValueError as exc:
            yield Record(row, line, None, RowError(row, line, None, f"Malformed JSON: {exc}"))
            continue
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
        self._decoder = codecs.getincrementaldecoder("utf-8")()
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

    def value(self) -> Any:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except ValueError as exc:
                pending = len(self.text) - self.pos
                if pending < MAX_JSON_ELEMENT and self.more():
                    continue
                line = self.line + self.text.count("\n", self.pos, getattr(exc, "pos", self.pos))
                raise _Malformed(line, f"Malformed JSON: {getattr(exc, 'msg', exc)}.") from exc
            if end == len(self.text) and not self.eof and not isinstance(value, dict | list):
                # A number or literal cut by the chunk boundary: read on and parse again.
                self.more()
                continue
            self.advance(end)
            return value


def _json_array_records(stream: BinaryIO) -> Iterator[Record]:
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
                yield _as_record(row, line, window.value())
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
            or "\x00" in external_id
        ):
            external_id = _external_id(external_id)
        if not self.ignored.isdisjoint(data):
            data = {k: v for k, v in data.items() if k not in self.ignored}
        payload = _payload(data)
        self._check_kind(payload)
        payload_json = _dumps(payload)
        if "\\u0000" in payload_json:
            raise _FieldError("payload", "NUL characters are not allowed.")
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
            return None
        if not cells[self.text]:
            return None
        payload_json = "{" + ",".join([key + _encode_str(cells[i]) for i, key in self.payload])
        payload_json += "}"
        if "\\u0000" in payload_json:
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
        elif len(model_version) > MAX_MODEL_VERSION:
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


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError("external_id", "Required: a non-empty string.")
    value = str(value)
    if not value.strip():
        raise _FieldError("external_id", "Required: a non-empty string.")
    if len(value) > MAX_EXTERNAL_ID or "\x00" in value:
        raise _FieldError("external_id", f"At most {MAX_EXTERNAL_ID} characters, no NUL.")
    return value


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
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise _FieldError("confidence", "Must be a number in [0, 1].")
    return float(value)


def _model_version(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_MODEL_VERSION:
        raise _FieldError("model_version", f"A string of at most {MAX_MODEL_VERSION} chars.")
    return value


def _numbers(value: Any, field: str) -> None:
    ok = isinstance(value, list) and value
    if ok:
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not ok:
        raise _FieldError(field, f"'{field}' must be a non-empty list of numbers.")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8
