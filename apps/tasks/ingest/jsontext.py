"""JSON text in and out for uploads: NaN and Infinity refused, depth bounded (MAX_JSON_DEPTH),
and a payload encoder built once."""

from __future__ import annotations

import json
from typing import Any

from apps.tasks.ingest.limits import MAX_JSON_DEPTH


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# allow_nan=False: 1e400 parses as inf, which JSON (and jsonb) cannot hold: a ValueError here.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
encode_str = json.encoder.encode_basestring  # what _ENCODER uses for keys and strings
# _ENCODER.encode builds this C encoder anew on every call; built once, it is the same
# function (no circular-reference markers: parsed JSON and CSV cells have no cycles).
_c_encoder = json.encoder.c_make_encoder
_encode_payload = (
    _c_encoder(None, _ENCODER.default, encode_str, None, ":", ",", False, False, False)
    if _c_encoder is not None
    else None
)


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_JSON_DEPTH} levels")


def dumps(value: dict[str, Any]) -> str:
    if _encode_payload is None:
        return _ENCODER.encode(value)
    return "".join(_encode_payload(value, 0))


def loads(text: str) -> Any:
    """json.loads, refusing NaN/Infinity literals and values nested deeper than MAX_JSON_DEPTH."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise TooDeep() from None
    _check_depth(value, text, 0, len(text))
    return value


def raw_decode(text: str, start: int) -> tuple[Any, int]:
    """The JSON value at `start` and where it ends, with `loads`'s refusals."""
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        raise TooDeep() from None
    _check_depth(value, text, start, end)
    return value, end


def _check_depth(value: Any, text: str, start: int, end: int) -> None:
    """Free for ordinary rows: a value whose text holds at most MAX_JSON_DEPTH brackets cannot
    nest deeper, and only one with more is walked."""
    brackets = text.count("[", start, end) + text.count("{", start, end)
    if brackets > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise TooDeep()


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
