"""A checked row as a line of COPY text for the staging table."""

from __future__ import annotations

from apps.tasks.ingest.rows import CleanRow

# COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_line(row: CleanRow) -> str:
    """One staging row in COPY text format (columns in CleanRow order), newline included."""
    confidence = "\\N" if row.confidence is None else repr(row.confidence)
    payload = row.payload_json
    if "\\" in payload:  # a JSON string escape; JSON text holds no raw tab or newline
        payload = payload.replace("\\", "\\\\")
    return (
        f"{row.row}\t{row.line}\t{_copy_text(row.external_id)}\t{payload}\t"
        f"{_copy_text(row.prediction)}\t{confidence}\t{_copy_text(row.model_version)}\t"
        f"{_copy_text(row.gold_label)}\t{'t' if row.is_gold else 'f'}\t{row.state}\n"
    )
