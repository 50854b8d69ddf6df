"""apps.tasks.ingest's limits: nesting depth, line length, header width, the body's end.

Each is a row error (a 400 upstream), found without reading past the limit.
"""

from __future__ import annotations

import io
import tracemalloc

import pytest

from apps.tasks import ingest

LIMITS = ingest.Limits(max_line_bytes=1_000, max_columns=10)


def checked(body: bytes, fmt: str, kind: str = "text", limits=LIMITS) -> list[ingest.Checked]:
    validator = ingest.RowValidator(item_kind=kind, labels=["cat", "dog"], threshold=0.9)
    return list(ingest.iter_checked(io.BytesIO(body), fmt, validator, limits))


def records(body: bytes, fmt: str, kind: str = "text", limits=LIMITS) -> list[ingest.Record]:
    return list(ingest.iter_records(io.BytesIO(body), fmt, item_kind=kind, limits=limits))


def errors(results) -> list[tuple[int, int | None, str | None, str]]:
    return [tuple(r) for r in results if isinstance(r, ingest.RowError)]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- Nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [ingest.MAX_JSON_DEPTH, ingest.MAX_JSON_DEPTH + 1, 100_000])
def test_json_nested_past_the_limit_is_a_row_error_in_every_format(depth):
    big = 10 * depth + 100
    limits = ingest.Limits(max_line_bytes=big)
    # The row object is level 1, so its value may nest MAX_JSON_DEPTH - 1 levels.
    value = nested(depth - 1)
    jsonl = f'{{"external_id": "a", "text": "t", "n": {value}}}\n'.encode()
    array = f'[{{"external_id": "a", "text": "t", "n": {value}}}]'.encode()
    cell = nested(depth).encode()  # a CSV cell's value is counted on its own
    csv = b'external_id,features\na,"' + cell + b'"\n'
    results = [
        checked(jsonl, "jsonl", limits=limits),
        checked(array, "json", limits=limits),
        checked(csv, "csv", "vector", limits=limits),
    ]
    too_deep = depth > ingest.MAX_JSON_DEPTH
    for fmt, found in zip(("jsonl", "json", "csv"), results, strict=True):
        [result] = found
        if too_deep:
            assert isinstance(result, ingest.RowError), (fmt, result)
            assert "nested deeper than 64" in result.message, (fmt, result)
            assert result.row == 1
        elif fmt == "csv":  # a list of lists is not a list of numbers
            assert result.field == "features"
        else:
            assert isinstance(result, ingest.CleanRow), (fmt, result)


def test_a_deep_top_level_json_array_body_is_one_row_error():
    body = b"[" * 200_000
    [result] = checked(body, "json", limits=ingest.Limits(max_line_bytes=1 << 20))
    assert result == ingest.RowError(1, 1, None, result.message)
    assert "nested deeper" in result.message


def test_a_row_with_many_brackets_but_no_depth_is_not_refused():
    lists = ",".join(["[1]"] * 500)
    body = f'{{"external_id": "a", "text": "t", "n": [{lists}]}}\n'.encode()
    [result] = checked(body, "jsonl", limits=ingest.Limits(max_line_bytes=1 << 20))
    assert isinstance(result, ingest.CleanRow)


# --- Lines --------------------------------------------------------------------------------


class CountingBody(io.RawIOBase):
    """A body of `size` bytes of one never-ending line, counting what was read."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head = head
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.read_bytes >= self.size:
            return 0
        count = min(len(buffer), self.size - self.read_bytes)
        chunk = (self.head + b"x" * count)[:count] if self.read_bytes == 0 else b"x" * count
        buffer[:count] = chunk
        self.read_bytes += count
        return count


@pytest.mark.parametrize(
    ("fmt", "head"),
    [
        ("jsonl", b'{"external_id": "a", "text": "'),
        ("csv", b"external_id,text\na,"),
        ("json", b'[{"external_id": "a", "text": "'),
    ],
)
def test_a_line_over_the_limit_is_a_row_error_and_is_never_held_whole(fmt, head):
    limits = ingest.Limits(max_line_bytes=64 * 1024)
    body = CountingBody(head, size=64 << 20)
    validator = ingest.RowValidator(item_kind="text", labels=["cat"], threshold=0.9)
    tracemalloc.start()
    try:
        found = list(ingest.iter_checked(io.BufferedReader(body), fmt, validator, limits))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # read whole, the 64 MB line was held at least once
    [error] = errors(found)
    assert error[:3] == (1, 1 if fmt != "csv" else 2, None)
    assert "UPLOAD_MAX_LINE_BYTES" in error[3]


def test_jsonl_goes_on_after_a_long_line():
    long_line = b'{"external_id": "a", "text": "' + b"x" * 2_000 + b'"}\n'
    body = long_line + b'{"external_id": "b", "text": "t"}\n' + long_line
    found = checked(body, "jsonl")
    assert [type(r).__name__ for r in found] == ["RowError", "CleanRow", "RowError"]
    assert [r.line for r in found] == [1, 2, 3]
    assert "longer than 1000 bytes" in found[0].message


def test_a_csv_row_over_the_limit_across_quoted_lines_ends_the_file():
    row = b'a,"' + b"x\n" * 600 + b'"\n'
    body = b"external_id,text\n" + b"b,fine\n" + row + b"c,never read\n"
    found = checked(body, "csv")
    assert isinstance(found[0], ingest.CleanRow)
    assert errors(found) == [
        (2, 3, None, "The row is longer than 1000 bytes (UPLOAD_MAX_LINE_BYTES).")
    ]
    assert len(found) == 2


def test_the_same_limits_apply_on_the_reference_path():
    body = b"external_id,text\n" + b"a," + b"x" * 2_000 + b"\n"
    assert [r.error for r in records(body, "csv")] == [
        ingest.RowError(1, 2, None, "The row is longer than 1000 bytes (UPLOAD_MAX_LINE_BYTES).")
    ]


# --- CSV header ---------------------------------------------------------------------------


def test_a_header_wider_than_the_limit_is_refused_naming_the_limit():
    header = ",".join(["external_id", "text", *[f"c{i}" for i in range(100_000)]]).encode()
    [error] = checked(header + b"\n", "csv", limits=ingest.Limits(max_line_bytes=10 << 20))
    assert error == ingest.RowError(
        0, 1, None, "The header has 100002 columns: at most 1000 (UPLOAD_MAX_COLUMNS)."
    )


class CountedName(str):
    """A column name that counts how often it is compared."""

    comparisons = 0

    def __eq__(self, other) -> bool:
        CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_the_header_check_is_linear_in_the_number_of_columns():
    """The old check compared every name with every other (18 s for 50k columns)."""
    width = 1_000
    header = [CountedName(n) for n in ["external_id", "text", *(f"c{i}" for i in range(width - 2))]]
    CountedName.comparisons = 0
    assert ingest.csv_rows.check_header(header, "text", [], max_columns=width) is None
    assert CountedName.comparisons <= 2 * width  # the quadratic check made ~width**2


def test_a_duplicate_column_is_still_named():
    body = b"external_id,text,b,a,b,a\nx,t,1,2,3,4\n"
    [error] = checked(body, "csv")
    assert error == ingest.RowError(0, 1, "a", "Column 'a' appears twice.")


# --- Byte order marks and the body's end --------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("jsonl", b'\xef\xbb\xbf{"external_id": "a", "text": "t"}\n'),
        ("json", b'\xef\xbb\xbf[{"external_id": "a", "text": "t"}]'),
        ("csv", b"\xef\xbb\xbfexternal_id,text\na,t\n"),
    ],
)
def test_a_leading_byte_order_mark_is_not_part_of_the_first_row(fmt, body):
    [row] = checked(body, fmt)
    assert isinstance(row, ingest.CleanRow), row
    assert row.external_id == "a"


def test_a_body_shorter_than_its_content_length_is_unreadable():
    _, body = ingest.open_body(io.BytesIO(b"abc"), max_bytes=100, declared_bytes=10)
    with pytest.raises(ingest.BodyUnreadable, match="3 of its 10 bytes"):
        body.read()


def test_a_stream_that_fails_is_unreadable():
    class Reset(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise ConnectionResetError("reset by peer")

    _, body = ingest.open_body(Reset(), max_bytes=100)
    with pytest.raises(ingest.BodyUnreadable, match="reset by peer"):
        body.read()


# --- What the database cannot hold --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [("plain", True), ("é ✓ 𝄞", True), ("a\x00b", False), ("\ud800", False), ("x\udfff", False)],
)
def test_storable_text_has_no_nul_and_no_lone_surrogate(text, ok):
    assert ingest.storable(text) is ok
    assert ingest.storable(ingest.printable(text))


def test_a_row_error_naming_an_unstorable_key_is_echoed_safely():
    error = ingest.RowError(1, 1, "k\ud800\x00", "m")
    assert error.as_dict()["field"] == "k\\ud800\\x00"
