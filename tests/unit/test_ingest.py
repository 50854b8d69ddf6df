"""apps.tasks.ingest without a database: parsing, line numbers, routing, limits."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from apps.tasks import ingest

LABELS = ["cat", "dog"]
REPO = Path(__file__).resolve().parents[2]


def records(body: bytes, fmt: str, kind: str = "text") -> list[ingest.Record]:
    return list(ingest.iter_records(io.BytesIO(body), fmt, item_kind=kind))


def validator(**kwargs) -> ingest.RowValidator:
    return ingest.RowValidator(
        **{"item_kind": "text", "labels": LABELS, "threshold": 0.9, **kwargs}
    )


def test_the_package_imports_without_django():
    # Its modules' imports are checked one by one in tests/unit/test_pure_modules.py; this
    # imports the package as a script would, in a fresh interpreter.
    code = "import sys; from apps.tasks import ingest; print(sorted(m for m in sys.modules"
    code += " if m.split('.')[0] in ('django', 'rest_framework', 'hitlcrowd')))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("fmt", "content_type", "file_name", "expected"),
    [
        ("JSONL", "text/csv", "", "jsonl"),
        ("ndjson", "", "", "jsonl"),
        (None, "text/csv; charset=utf-8", "x.json", "csv"),
        (None, "application/x-ndjson", "", "jsonl"),
        (None, "application/octet-stream", "rows.NDJSON", "jsonl"),
        (None, "", "rows.json", "json"),
    ],
)
def test_the_format_comes_from_param_then_content_type_then_name(
    fmt, content_type, file_name, expected
):
    found = ingest.detect_format(fmt=fmt, content_type=content_type, file_name=file_name)
    assert found == expected


def test_an_unknown_format_says_how_to_name_it():
    with pytest.raises(ingest.FormatUnknown, match="format="):
        ingest.detect_format(fmt=None, content_type="application/pdf", file_name="x.pdf")
    with pytest.raises(ingest.FormatUnknown, match="xml"):
        ingest.detect_format(fmt="xml")


def test_csv_line_numbers_follow_quoted_newlines_and_skip_blank_lines():
    body = b'\xef\xbb\xbfexternal_id,text\na,"two\nlines"\n\nb,plain\n'
    found = records(body, "csv")
    assert [(r.row, r.line, r.data) for r in found] == [
        (1, 2, {"external_id": "a", "text": "two\nlines"}),
        (2, 5, {"external_id": "b", "text": "plain"}),
    ]


def test_csv_invalid_utf8_is_pinned_to_its_row_and_line_and_parsing_goes_on():
    body = b"external_id,text\na,ok\nb,caf\xe9\nc,ok\n"
    found = records(body, "csv")
    assert [r.row for r in found] == [1, 2, 3]
    assert found[1].error == ingest.RowError(2, 3, None, "Invalid UTF-8.")
    assert found[2].data == {"external_id": "c", "text": "ok"}


def test_a_json_array_is_read_across_chunk_boundaries(monkeypatch):
    monkeypatch.setattr(ingest.json_rows, "READ_CHUNK", 7)
    rows = [{"external_id": str(n), "text": "é" * n, "n": 12345.5} for n in range(30)]
    body = json.dumps(rows, indent=1, ensure_ascii=False).encode()
    found = records(body, "json")
    assert [r.data for r in found] == rows
    assert found[1].line == 7  # indent=1 puts each row on 5 lines after the opening bracket
    assert all(r.error is None for r in found)


def test_a_json_array_number_cut_by_a_chunk_is_not_misread(monkeypatch):
    monkeypatch.setattr(ingest.json_rows, "READ_CHUNK", 3)
    found = records(b'[{"external_id": "x", "text": "t", "n": 123456789}]', "json")
    assert found[0].data["n"] == 123456789


def test_a_json_array_with_a_syntax_error_reports_the_line_and_stops():
    found = records(b'[\n{"external_id": "x", "text": "t"},\n{"external_id": oops}\n]', "json")
    assert found[-1].error is not None
    assert (found[-1].row, found[-1].line) == (2, 3)


def test_jsonl_skips_blank_lines_but_keeps_line_numbers():
    found = records(
        b'{"external_id": "a", "text": "t"}\n\n{"external_id": "b", "text": "u"}\n', "jsonl"
    )
    assert [(r.row, r.line) for r in found] == [(1, 1), (2, 3)]


@pytest.mark.parametrize(
    ("confidence", "state"),
    [(0.9, "auto_labeled"), (1, "auto_labeled"), (0.8999999, "waiting"), (None, "waiting")],
)
def test_routing_is_inclusive_at_the_threshold(confidence, state):
    data = {"external_id": "x", "text": "t", "prediction": "cat", "confidence": confidence}
    row = validator().check(ingest.Record(1, 1, data))
    assert isinstance(row, ingest.CleanRow)
    assert row.state == state


def test_csv_confidence_strings_are_numbers():
    row = validator().check(
        ingest.Record(
            1, 2, {"external_id": "x", "text": "t", "prediction": "dog", "confidence": "0.90"}
        )
    )
    assert isinstance(row, ingest.CleanRow)
    assert (row.confidence, row.state) == (0.9, "auto_labeled")


def test_a_gold_row_is_never_auto_labeled():
    data = {"external_id": "g", "text": "t", "prediction": "cat", "confidence": 1.0,
            "gold_label": "cat"}  # fmt: skip
    row = validator().check(ingest.Record(1, 1, data))
    assert isinstance(row, ingest.CleanRow)
    assert (row.state, row.is_gold) == ("waiting", True)


def test_the_payload_is_everything_but_the_reserved_keys():
    data = {"external_id": 5, "text": "t", "lang": "en", "prediction": "", "model_version": "m1"}
    row = validator(model_version="batch").check(ingest.Record(1, 1, data))
    assert isinstance(row, ingest.CleanRow)
    assert json.loads(row.payload_json) == {"text": "t", "lang": "en"}
    assert (row.external_id, row.model_version, row.prediction) == ("5", "m1", "")


@pytest.mark.parametrize("external_id", [True, None, "", "   ", "x" * 256, 1.5])
def test_bad_external_ids_are_named(external_id):
    error = validator().check(ingest.Record(3, 4, {"external_id": external_id, "text": "t"}))
    assert isinstance(error, ingest.RowError)
    assert (error.row, error.line, error.field) == (3, 4, "external_id")


def test_the_reader_hashes_and_stops_past_the_limit():
    reader, body = ingest.open_body(io.BytesIO(b"x" * 10), max_bytes=10)
    assert body.read() == b"x" * 10
    assert reader.hexdigest() == hashlib.sha256(b"x" * 10).hexdigest()
    reader, body = ingest.open_body(io.BytesIO(b"x" * 11), max_bytes=10)
    with pytest.raises(ingest.BodyTooLarge):
        body.read()


def test_an_empty_json_cell_is_left_out_of_a_csv_row():
    body = b"external_id,pixels,image_url\na,,https://x.org/a.png\nb,[1],\n"
    found = records(body, "csv", kind="image")
    assert [r.data for r in found] == [
        {"external_id": "a", "image_url": "https://x.org/a.png"},
        {"external_id": "b", "pixels": [1], "image_url": ""},
    ]
    checked = [validator(item_kind="image").check(r) for r in found]
    assert all(isinstance(row, ingest.CleanRow) for row in checked), checked


def test_a_csv_payload_column_is_refused_in_the_header():
    [found] = records(b"external_id,payload\na,{}\n", "csv")
    assert (found.row, found.error.field) == (0, "payload")
