"""Which format an upload is in: the parameter, the content type, the file name."""

from __future__ import annotations

FORMATS = ("csv", "json", "jsonl")
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
}
EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class FormatUnknown(ValueError):
    """The upload's format could not be told from the parameter, content type or file name."""


def detect_format(*, fmt: str | None, content_type: str = "", file_name: str = "") -> str:
    """The explicit parameter wins, then the content type, then the file's extension."""
    if fmt:
        fmt = fmt.lower()
        if fmt == "ndjson":
            return "jsonl"
        if fmt not in FORMATS:
            raise FormatUnknown(f"Unknown format {fmt!r}: use csv, json or jsonl.")
        return fmt
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in CONTENT_TYPES:
        return CONTENT_TYPES[media_type]
    for extension, name in EXTENSIONS.items():
        if file_name.lower().endswith(extension):
            return name
    raise FormatUnknown(
        "Cannot tell the format: send Content-Type text/csv, application/json or "
        "application/x-ndjson, a file named .csv/.json/.jsonl, or ?format=csv|json|jsonl."
    )
