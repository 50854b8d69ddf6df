"""The body read within its limits: the byte cap and the hash (LimitedReader), a body cut short,
and lines past the line limit read without holding them whole."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

READ_CHUNK = 1 << 20
# Row objects are level 1. Python's parser would go ~900 levels deep before a RecursionError,
# and every later reader of the payload (jsonb, the ORM, templates) recurses too.
MAX_JSON_DEPTH = 64


class Limits(NamedTuple):
    """Per-upload parsing limits; the service fills them from the settings."""

    max_line_bytes: int = 4 << 20  # UPLOAD_MAX_LINE_BYTES
    max_columns: int = 1_000  # UPLOAD_MAX_COLUMNS


DEFAULT_LIMITS = Limits()


class BodyTooLarge(Exception):
    """The body passed the byte limit while being read."""


class BodyUnreadable(Exception):
    """The body could not be read to its end: the client went away or framed it wrongly."""


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


def bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
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


def too_long(max_bytes: int) -> str:
    return f"The row is longer than {max_bytes} bytes (UPLOAD_MAX_LINE_BYTES)."
