"""The rows an upload yields (CleanRow, RowError), what a row may hold, and the text rules
every reader and check shares (what PostgreSQL text can hold)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

RESERVED = frozenset({"external_id", "prediction", "confidence", "gold_label", "model_version"})
# The result columns an export adds (apps.tasks.exports), plus a `p_<label>` column per label in
# CSV: an upload ignores them, so an export is a valid upload file for a new project.
EXPORT_ONLY_COLUMNS = (
    "state",
    "final_label",
    "label_source",
    "final_confidence",
    "posterior",
    "batch",
    "is_gold",
)
POSTERIOR_PREFIX = "p_"
JSON_CELLS = frozenset({"features", "pixels"})
KIND_FIELDS = {"text": ("text",), "image": ("pixels", "image_url"), "vector": ("features",)}
MAX_ERRORS = 100
MAX_EXTERNAL_ID = 255
MAX_MODEL_VERSION = 100
AUTO_LABELED = "auto_labeled"
WAITING = "waiting"


# What PostgreSQL text cannot hold besides NUL: UTF-16 surrogates, which UTF-8 cannot encode.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# An escaped NUL in JSON text: "\u0000" after an even number of backslashes (an odd number
# means the backslash itself is escaped and the text is a literal backslash-u-0-0-0-0).
ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def storable(text: str) -> bool:
    """True when PostgreSQL text (and UTF-8) can hold `text`: no NUL, no lone surrogate."""
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def printable(text: str) -> str:
    """`text` with NULs and lone surrogates spelled as escapes, to echo in an error safely."""
    if storable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


# NamedTuples, not dataclasses: a million of them are built per upload, and CleanRow is
# written to the staging table as it is (its field order is the staging table's column order).
class RowError(NamedTuple):
    row: int
    line: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The error as stored and returned; a field named by the upload is echoed safely."""
        field = self.field if self.field is None else printable(self.field)
        return {"row": self.row, "line": self.line, "field": field, "message": self.message}


class Record(NamedTuple):
    """One parsed row before validation: `data` is None when the row could not be parsed."""

    row: int
    line: int
    data: dict[str, Any] | None
    error: RowError | None = None


class CleanRow(NamedTuple):
    row: int
    line: int
    external_id: str
    payload_json: str
    prediction: str
    confidence: float | None
    model_version: str
    gold_label: str
    is_gold: bool
    state: str


Checked = CleanRow | RowError
