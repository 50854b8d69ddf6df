"""JSON from clients, parsed with the limits the rest of the code relies on.

`json.loads` accepts things that break later, far from the parser: nesting ~1,000 deep raises
RecursionError (a 500 from the anonymous token login), `1e400` and `NaN` become floats that
PostgreSQL's jsonb and every float column refuse, integers beyond bigint overflow a column, and
the escapes `\\u0000` and a lone `\\ud800` give strings that PostgreSQL text (NUL) and psycopg or
SQLite (surrogates) refuse. `loads` refuses all of them with the path of the offending value.

The checks cost little on ordinary bodies (the worker hot path parses one per request): the
walk over the parsed value runs only when a scan of the raw bytes says it might find something
(more brackets than the depth limit, an escape of NUL or of a surrogate, a number literal long
enough to overflow, NaN or Infinity). Parse hooks per number literal were tried and dropped:
they made a 784-pixel predict body 1.7x slower to parse; the scan costs about a fifth of it.

Pure: the standard library only.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any payload, label set or setting needs; far below the recursion limit.
MAX_DEPTH = 64
MAX_INTEGER = 2**63 - 1  # PostgreSQL bigint; SQLite's INTEGER has the same range
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSAFE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# Only a literal with a 3-digit exponent (1e400) or a run of 19 digits can overflow a double
# or a bigint: digits become 0, E becomes e and + becomes -, then three substring searches.
_NUMBER_SHAPES = bytes.maketrans(b"123456789E+", b"000000000e-")

Path = tuple[str | int, ...]


class JSONRefused(ValueError):
    """Valid JSON the service will not take; `path` leads to the value (empty: the document)."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    @property
    def location(self) -> str:
        """The path, dotted, with NULs and surrogates escaped (a response cannot carry them)."""
        return ".".join(escaped(str(step)) for step in self.path)


def escaped(text: str) -> str:
    """`text` with NULs and surrogates written as `\\uXXXX` escapes."""
    return _UNSAFE_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def loads(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` of UTF-8 `data`, raising JSONRefused for what the service cannot store (see
    the module docstring) and ValueError for bytes that are not UTF-8 JSON."""
    constants: list[str] = []
    text = data.decode("utf-8")
    try:
        value = json.loads(text, parse_constant=lambda literal: _constant(literal, constants))
    except RecursionError:
        raise JSONRefused(f"Nested deeper than {max_depth} levels.") from None
    if constants or _may_be_refused(data, max_depth):
        check(value, max_depth=max_depth)
    return value


def _may_be_refused(data: bytes, max_depth: int) -> bool:
    """A scan of the raw bytes at C speed (about a fifth of the parse): false means `check`
    would find nothing. Brackets, quotes and backslashes inside strings only cause a walk."""
    if data.count(b"[") + data.count(b"{") > max_depth:
        return True
    if b"\\u" in data and _SUSPECT_ESCAPE.search(data):
        return True
    numbers = data.translate(_NUMBER_SHAPES)
    return b"e000" in numbers or b"e-000" in numbers or b"0" * 19 in numbers


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONRefused for the first value nested too deep, out of range, or a string (or key)
    holding a NUL or a lone surrogate. Iterative: a deep value cannot exhaust the stack."""
    stack: list[tuple[Any, Path]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict | list):
            if len(path) >= max_depth:
                raise JSONRefused(f"Nested deeper than {max_depth} levels.", path)
            if isinstance(current, dict):
                for key, child in current.items():
                    _check_string(key, (*path, key))
                    stack.append((child, (*path, key)))
            else:
                stack.extend((child, (*path, index)) for index, child in enumerate(current))
        elif isinstance(current, str):
            _check_string(current, path)
        elif isinstance(current, float) and not math.isfinite(current):
            raise JSONRefused("A number out of range (not a finite double).", path)
        elif isinstance(current, int) and not -MAX_INTEGER <= current <= MAX_INTEGER:
            raise JSONRefused(f"An integer out of range (beyond +/-{MAX_INTEGER}).", path)


def _check_string(text: str, path: Path) -> None:
    found = _UNSAFE_CHARACTER.search(text)
    if found is None:
        return
    if found.group() == "\x00":
        raise JSONRefused("A NUL character (\\u0000) is not allowed.", path)
    raise JSONRefused("A lone surrogate (\\ud800-\\udfff without its pair) is not allowed.", path)


def _constant(literal: str, seen: list[str]) -> float:
    seen.append(literal)  # NaN, Infinity, -Infinity: not JSON, refused by the walk
    return float(literal)
