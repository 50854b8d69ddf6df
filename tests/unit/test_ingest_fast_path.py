"""ingest.iter_checked (the fast path) gives exactly what iter_records + check gives."""

from __future__ import annotations

import io
import json

import pytest

from apps.tasks import ingest

LABELS = ["cat", "dog", "tab\tlabel"]


def validator(**kwargs) -> ingest.RowValidator:
    options = {"item_kind": "text", "labels": LABELS, "threshold": 0.9, "model_version": "v0"}
    return ingest.RowValidator(**{**options, **kwargs})


def reference(body: bytes, fmt: str, check: ingest.RowValidator) -> list[ingest.Checked]:
    records = ingest.iter_records(io.BytesIO(body), fmt, item_kind=check.item_kind)
    return [check.check(record) for record in records]


def fast(body: bytes, fmt: str, check: ingest.RowValidator) -> list[ingest.Checked]:
    return list(ingest.iter_checked(io.BytesIO(body), fmt, check))


CSV_ROWS = [
    b"a,plain text,cat,0.95,,",
    b"b,below,dog,0.5,,m2",
    b"c,at the threshold,cat,0.9,,",
    b"d,no prediction,,,,",
    b"e,gold,cat,1,dog,",
    b'f,"quoted, with comma and\nnewline",cat,0.1,,',
    b'g,"tab\there, back\\\\slash and \\u0000 escaped",dog,,,',
    b"h,caf\xc3\xa9 \xe2\x9c\x93,cat,1e-3,,",
    b"i,,cat,0.5,,",  # empty text
    b" ,blank id,cat,0.5,,",
    b"j,bad label,cow,0.5,,",
    b"k,bad gold,cat,0.5,cow,",
    b"l,conf without prediction,,0.5,,",
    b"m,conf out of range,cat,1.5,,",
    b"n,conf not a number,cat,high,,",
    b"o,conf nan,cat,nan,,",
    b"p,conf spaces,cat, ,,",
    b"q,too many,cat,0.5,,,extra",
    b"r,too few",
    b"s,bad utf8 \xe9,cat,0.5,,",
    b"t,long model version,cat,0.5,," + b"v" * 101,
    b"x" * 256 + b",long id,cat,0.5,,",
    b"u,nul \x00 in text,cat,0.5,,",
    b'"tab\tin id",t,"tab\tlabel",0.99,,',
]


@pytest.mark.parametrize("threshold", [0.0, 0.9, 1.0])
def test_csv_rows_check_the_same_on_both_paths(threshold):
    header = b"\xef\xbb\xbfexternal_id,text,prediction,confidence,gold_label,model_version\n"
    body = header + b"\n".join(CSV_ROWS) + b"\n\n"
    check = validator(threshold=threshold)
    expected = reference(body, "csv", check)
    assert fast(body, "csv", check) == expected
    # g passes: its literal backslash-u0000 text is text, not an escaped NUL.
    assert sum(isinstance(r, ingest.CleanRow) for r in expected) == 9


def test_csv_export_columns_and_extra_payload_columns_match():
    body = (
        b"state,external_id,lang,text,p_cat,final_label\n"
        b"done,a,en,hello,0.3,cat\n"
        b"done,b,fr,\xc3\xa9t\xc3\xa9,0.9,dog\n"
    )
    check = validator()
    expected = reference(body, "csv", check)
    assert fast(body, "csv", check) == expected
    assert json.loads(expected[0].payload_json) == {"lang": "en", "text": "hello"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"external_id,text\n",
        b"external_id,external_id\na,b\n",
        b"external_id,lang\na,en\n",
        b'external_id,text\na,"unterminated\n',
        b"external_id,te\xe9xt\na,b\n",
        b'external_id,text\na,ok\nb,"x"y\nc,ok\n',
    ],
)
def test_csv_file_level_problems_match(body):
    check = validator()
    assert fast(body, "csv", check) == reference(body, "csv", check)


def test_csv_of_image_and_vector_items_uses_the_reference_path():
    body = b"external_id,pixels,image_url\na,,https://x.org/a.png\nb,[1],\nc,[x],\n"
    check = validator(item_kind="image")
    assert fast(body, "csv", check) == reference(body, "csv", check)
    body = b"external_id,features\na,[1.5]\nb,[]\n"
    check = validator(item_kind="vector")
    assert fast(body, "csv", check) == reference(body, "csv", check)


def test_jsonl_rows_check_the_same_on_both_paths():
    rows = [
        {"external_id": "a", "text": "t", "prediction": "cat", "confidence": 0.95},
        {"external_id": 7, "text": "int id", "prediction": "dog", "confidence": 1},
        {"external_id": "b", "payload": {"text": "nested", "n": [1, 2.5]}},
        {"external_id": "c", "text": "bad", "prediction": "cat", "confidence": 1.5},
        {"external_id": "d", "text": "bad", "prediction": "cat", "confidence": True},
        {"external_id": "e", "text": "é\t\\", "gold_label": "dog", "confidence": None},
        {"external_id": "f", "text": ""},
    ]
    lines = [json.dumps(row, ensure_ascii=False).encode() for row in rows]
    lines += [b"", b"[1, 2]", b'{"external_id": oops}', b'{"external_id": "g", "text": "\xe9"}']
    body = b"\n".join(lines) + b"\n"
    check = validator()
    assert fast(body, "jsonl", check) == reference(body, "jsonl", check)


def test_json_arrays_check_the_same_on_both_paths():
    body = b'[{"external_id": "a", "text": "t"}, {"external_id": "b"}, 3]'
    check = validator()
    assert fast(body, "json", check) == reference(body, "json", check)


def test_the_payload_encoder_matches_json_dumps():
    payload = {"text": 'é\t"q"\\ \u2028', "n": [1, 2.5, -0.0, 10**20], "o": {"x": None}}
    expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    assert ingest.jsontext.dumps(payload) == expected


def test_a_copy_line_escapes_what_copy_text_format_needs():
    row = ingest.CleanRow(
        3, 4, "id\twith\\tab", '{"text":"a\\nb"}', "tab\tlabel", None, "m\r1", "", False, "waiting"
    )
    line = ingest.copy_line(row)
    assert line == (
        '3\t4\tid\\twith\\\\tab\t{"text":"a\\\\nb"}\ttab\\tlabel\t\\N\tm\\r1\t\tf\twaiting\n'
    )
    assert line.count("\t") == 9
