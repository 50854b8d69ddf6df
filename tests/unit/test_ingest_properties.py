"""Property tests of the upload parsers (hypothesis): any body gives rows or row errors.

Whatever the bytes, `apps.tasks.ingest` yields only CleanRows and RowErrors (a 400 upstream),
never raises, and every CleanRow is something the database can hold. Arbitrary bytes, and rows
built to be nasty: lone surrogates, NULs, deep nesting, huge numbers, byte order marks, CRs,
quotes, other encodings.
"""

from __future__ import annotations

import io
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.tasks import ingest
from tests.upload_strategies import (
    KINDS,
    LABELS,
    encode,
    json_text,
    kinds_and_rows,
    render,
    rows,
    values,
)

LIMITS = ingest.Limits(max_line_bytes=4_000, max_columns=30)
# Arbitrary bytes are cheap to draw (~3 ms an example); nasty rows cost ~30-50 ms each to draw.
PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRUCTURED = settings(PROPERTY, max_examples=150)


def validator(kind: str) -> ingest.RowValidator:
    return ingest.RowValidator(item_kind=kind, labels=LABELS, threshold=0.9, model_version="m")


def parse_both_ways(body: bytes, fmt: str, kind: str) -> list[ingest.Checked]:
    check = validator(kind)
    fast = list(ingest.iter_checked(io.BytesIO(body), fmt, check, LIMITS))
    records = ingest.iter_records(io.BytesIO(body), fmt, item_kind=kind, limits=LIMITS)
    assert [check.check(record) for record in records] == fast
    return fast


def assert_storable(results: list[ingest.Checked]) -> None:
    rows = [r.row for r in results]
    assert rows == sorted(rows)
    for result in results:
        if isinstance(result, ingest.RowError):
            error = result.as_dict()
            text = json.dumps(error, ensure_ascii=False)
            assert ingest.storable(text)
            assert not ingest.rows.ESCAPED_NUL.search(json.dumps(error))
            continue
        assert isinstance(result, ingest.CleanRow), result
        for text in (result.external_id, result.prediction, result.gold_label):
            assert ingest.storable(text)
        assert ingest.storable(result.model_version) and len(result.model_version) <= 100
        assert 0 < len(result.external_id) <= ingest.MAX_EXTERNAL_ID
        assert result.prediction in {"", *LABELS} and result.gold_label in {"", *LABELS}
        if result.confidence is not None:
            assert math.isfinite(result.confidence) and 0 <= result.confidence <= 1
        payload = json.loads(result.payload_json, parse_constant=lambda c: 1 / 0)
        assert isinstance(payload, dict)
        assert ingest.storable(result.payload_json)
        assert not ingest.rows.ESCAPED_NUL.search(result.payload_json)
        ingest.copy_line(result).encode("utf-8")  # what the COPY sends


# --- Arbitrary bytes ----------------------------------------------------------------------


@PROPERTY
@given(
    body=st.binary(max_size=3_000),
    fmt=st.sampled_from(ingest.FORMATS),
    kind=st.sampled_from(KINDS),
)
def test_arbitrary_bytes_give_rows_or_row_errors(body, fmt, kind):
    assert_storable(parse_both_ways(body, fmt, kind))


PREFIXES = {
    "csv": b"external_id,text,features,pixels,image_url,prediction,confidence,model_version\n",
    "jsonl": b'{"external_id": "',
    "json": b'[{"external_id": "a", "text": "',
}


@PROPERTY
@given(
    tail=st.binary(max_size=3_000),
    fmt=st.sampled_from(ingest.FORMATS),
    kind=st.sampled_from(KINDS),
)
def test_arbitrary_bytes_after_a_plausible_start_give_rows_or_row_errors(tail, fmt, kind):
    assert_storable(parse_both_ways(PREFIXES[fmt] + tail, fmt, kind))


# --- Structured but nasty rows ------------------------------------------------------------


@STRUCTURED
@given(
    batch=st.lists(rows, min_size=1, max_size=3),
    fmt=st.sampled_from(ingest.FORMATS),
    kind=st.sampled_from(KINDS),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-bom", "utf-16", "latin-1"]),
)
def test_nasty_rows_in_every_format_give_rows_or_row_errors(batch, fmt, kind, line_end, encoding):
    body = encode(render(batch, fmt, line_end), encoding)
    assert_storable(parse_both_ways(body, fmt, kind))


@STRUCTURED
@given(value=values, kind=st.sampled_from(KINDS))
def test_a_value_in_any_field_of_a_good_row_gives_a_row_or_a_row_error(value, kind):
    good = {"text": {"text": "t"}, "image": {"pixels": [1]}, "vector": {"features": [1.5]}}[kind]
    for field in ["external_id", "confidence", "model_version", "payload", *good, "extra"]:
        row = {"external_id": "a", "prediction": "cat", **good, field: value}
        body = (json_text(row) + "\n").encode()
        assert_storable(parse_both_ways(body, "jsonl", kind))


@STRUCTURED
@given(
    kind_and_batch=kinds_and_rows,
    fmt=st.sampled_from(ingest.FORMATS),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_nearly_good_rows_give_rows_or_row_errors(kind_and_batch, fmt, line_end):
    kind, batch = kind_and_batch
    body = render(batch, fmt, line_end).encode("utf-8", "surrogatepass")
    assert_storable(parse_both_ways(body, fmt, kind))
