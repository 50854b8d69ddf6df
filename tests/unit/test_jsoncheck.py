"""hitlcrowd/jsoncheck.py: what the API's JSON parser refuses, and what it lets through."""

from __future__ import annotations

import json

import pytest

from hitlcrowd import jsoncheck


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[" * 100_000 + "]" * 100_000, ()),  # RecursionError inside json.loads
        ('{"a": ' + "[" * 65 + "]" * 65 + "}", ("a",) + (0,) * 63),
        ('{"a": "x\\u0000y"}', ("a",)),
        ('{"a": ["ok", "\\ud800"]}', ("a", 1)),
        ('{"a": {"\\uDFFF": 1}}', ("a", "\udfff")),
        ('{"a": 1e400}', ("a",)),
        ('{"a": -1E400}', ("a",)),
        ('{"a": NaN}', ("a",)),
        ('{"a": [Infinity]}', ("a", 0)),
        ('{"a": ' + "9" * 19 + "}", ("a",)),
        ('{"a": -' + "9" * 25 + "}", ("a",)),
    ],
)
def test_it_refuses_what_the_database_or_the_stack_cannot_take(text, path):
    with pytest.raises(jsoncheck.JSONRefused) as refused:
        jsoncheck.loads(text.encode())
    assert refused.value.path == path


@pytest.mark.parametrize(
    "value",
    [
        {"text": "caf\u00e9 \U0001f600", "n": 2**63 - 1, "m": -(2**63 - 1), "x": 1.5e308},
        {"deep": json.loads("[" * 63 + "]" * 63)},  # 64 levels with the outer object
        [{"a": i} for i in range(200)],  # many brackets, shallow
        {"escaped": "a \\u0000 written out, not a NUL", "big": "1" * 40},
    ],
)
def test_it_keeps_ordinary_json(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert jsoncheck.loads(text.encode()) == value


def test_the_location_escapes_what_a_response_cannot_carry():
    with pytest.raises(jsoncheck.JSONRefused) as refused:
        jsoncheck.loads(b'{"k\\u0000": {"\\ud800": "\\u0000"}}')
    assert refused.value.location == "k\\u0000"
    assert "\x00" not in refused.value.location


def test_text_that_is_not_json_is_a_value_error():
    with pytest.raises(ValueError) as error:
        jsoncheck.loads(b"{nope")
    with pytest.raises(ValueError):
        jsoncheck.loads(b'{"a": "\xff"}')  # not UTF-8
    assert not isinstance(error.value, jsoncheck.JSONRefused)
