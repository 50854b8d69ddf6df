"""Hypothesis strategies for upload bodies: rows built to be nasty, in every format.

Lone surrogates, NULs, CRs, quotes and byte order marks in keys and values; numbers beyond a
double; JSON nested past the depth limit; other encodings. Shared by the parser's property
tests (tests/unit) and the API's (tests/tasks).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import strategies as st

LABELS = ["cat", "dog", "tab\tlabel"]
KINDS = ("text", "image", "vector")
FORMATS = ("csv", "json", "jsonl")

NASTY_CHARACTERS = ["\ud800", "\udfff", "\x00", "\r", "\n", "\r\n", "\ufeff", '"', ",", "\t"]
NASTY_CHARACTERS += ["\\", "\\u0000", "\u2028", "é", "𝄞", "\x1f", "\x7f", " "]
nasty_text = st.one_of(
    st.sampled_from(NASTY_CHARACTERS),
    st.lists(st.one_of(st.sampled_from(NASTY_CHARACTERS), st.text(max_size=5)), max_size=6).map(
        "".join
    ),
)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 0.5, 0.9, 1e308, -1e-320, 10**400, -(2**64)]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_text, st.sampled_from(LABELS))


def objects(keys, items, **sizes) -> st.SearchStrategy[dict]:
    """Dictionaries; a repeated key keeps its last value (cheaper to draw than unique keys)."""
    return st.lists(st.tuples(keys, items), **sizes).map(dict)


def nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        objects(nasty_text, inner, max_size=4),
        st.builds(nested, st.integers(min_value=50, max_value=120), inner),
    ),
    max_leaves=8,
)
FIELDS = ["external_id", "text", "features", "pixels", "image_url", "prediction", "confidence"]
FIELDS += ["gold_label", "model_version", "payload", "state", "p_cat"]
rows = objects(st.one_of(st.sampled_from(FIELDS), nasty_text), values, min_size=1, max_size=8)


def json_text(value: Any) -> str:
    """JSON as a client might send it: surrogates as escapes, inf as 1e400, nan as NaN."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("-Infinity", "-1e400").replace("Infinity", "1e400")


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


def as_csv(batch: list[dict[str, Any]], line_end: str) -> str:
    columns = list(dict.fromkeys(key for row in batch for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(columns)
    for row in batch:
        cells = [row.get(c, "") for c in columns]
        writer.writerow([c if isinstance(c, str) else json_text(c) for c in cells])
    return out.getvalue()


def render(batch: list[dict[str, Any]], fmt: str, line_end: str) -> str:
    if fmt == "csv":
        return as_csv(batch, line_end)
    if fmt == "jsonl":
        return "".join(json_text(row) + line_end for row in batch)
    return "[" + ("," + line_end).join(json_text(row) for row in batch) + "]"


GOOD = {"text": {"text": "t"}, "image": {"pixels": [1, 2]}, "vector": {"features": [0.5]}}
# What once reached the database and broke there (json_text writes inf as 1e400).
DANGEROUS = ["\ud800", "x\udbff", "\x00", float("inf"), float("-inf"), 10**400, [float("inf")]]


def nearly_good_rows(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """A valid row of `kind` with one key added or replaced by a nasty value: many get through
    the row checks, so what they carry reaches the staging table."""
    keys = st.one_of(st.sampled_from(["meta", "note", *GOOD[kind], "model_version"]), nasty_text)
    ids = st.integers(min_value=0, max_value=10**9).map(lambda n: f"r{n}")
    return st.builds(
        lambda external_id, key, value: {"external_id": external_id, **GOOD[kind], key: value},
        ids,
        keys,
        st.one_of(st.sampled_from(DANGEROUS), values),
    )


kinds_and_rows = st.sampled_from(KINDS).flatmap(
    lambda kind: st.tuples(st.just(kind), st.lists(nearly_good_rows(kind), min_size=1, max_size=2))
)
