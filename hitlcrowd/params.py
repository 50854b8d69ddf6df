"""Numbers from query strings, paths and hand-checked JSON: ASCII digits only.

Python's `int()` and `str.isdigit()` accept other scripts' digits and superscripts ("²",
"١٢"), which Django's URL converters, PostgreSQL and SQLite do not: `"²".isdigit()` is true and
`int("²")` raises, which was a 500 for `?batch=²`. Here a number is 1 to 18 ASCII digits, so it
also fits a bigint column.
"""

from __future__ import annotations

MAX_DIGITS = 18  # 10**18 - 1 < 2**63 - 1


def ascii_int(value: str) -> int | None:
    """The non-negative integer `value` spells in ASCII digits, else None."""
    if 0 < len(value) <= MAX_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None
