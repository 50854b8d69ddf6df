"""JSON-lines and JSON-array bodies to rows; an array is read through a sliding window, never
whole."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from apps.tasks.ingest.jsontext import TooDeep, loads, raw_decode
from apps.tasks.ingest.limits import READ_CHUNK, Limits, bounded_lines, too_long
from apps.tasks.ingest.rows import Checked, Record, RowError

if TYPE_CHECKING:
    from apps.tasks.ingest.validation import RowValidator


def _as_record(row: int, line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        return Record(row, line, None, RowError(row, line, None, "The row is not a JSON object."))
    return Record(row, line, value)


def _jsonl_value(row: int, line: int, raw: bytes | None, max_bytes: int) -> Any:
    """The line's JSON value, or its RowError."""
    if raw is None:
        return RowError(row, line, None, too_long(max_bytes))
    if line == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return RowError(row, line, None, "Invalid UTF-8.")
    except ValueError as exc:
        return RowError(row, line, None, f"Malformed JSON: {exc}")


def jsonl_checked(stream: BinaryIO, validator: RowValidator, limits: Limits) -> Iterator[Checked]:
    """`jsonl_records` then `validator.check`, without a Record per valid row."""
    clean = validator.clean_or_error
    max_bytes = limits.max_line_bytes
    row = 0
    for line, raw in enumerate(bounded_lines(stream, max_bytes), start=1):
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


def jsonl_records(stream: BinaryIO, limits: Limits) -> Iterator[Record]:
    max_bytes = limits.max_line_bytes
    row = 0
    for line, raw in enumerate(bounded_lines(stream, max_bytes), start=1):
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
                value, end = raw_decode(self.text, self.pos)
            except TooDeep as exc:
                raise _Malformed(self.line, f"Malformed JSON: {exc}.") from None
            except ValueError as exc:
                pending = len(self.text) - self.pos
                if pending <= max_bytes and self.more():
                    continue
                line = self.line + self.text.count("\n", self.pos, getattr(exc, "pos", self.pos))
                message = f"Malformed JSON: {getattr(exc, 'msg', exc)}."
                if pending > max_bytes:
                    message += " Or: " + too_long(max_bytes)
                raise _Malformed(line, message) from exc
            if end == len(self.text) and not self.eof and not isinstance(value, dict | list):
                # A number or literal cut by the chunk boundary: read on and parse again.
                self.more()
                continue
            if end - self.pos > max_bytes:
                raise _Malformed(self.line, too_long(max_bytes))
            self.advance(end)
            return value


def json_array_records(stream: BinaryIO, limits: Limits) -> Iterator[Record]:
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
