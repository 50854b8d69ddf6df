"""Streamed exports of a project's items as CSV or JSON lines.

An export is also a valid upload file for a new project: it carries the upload columns
(`external_id`, `prediction`, `confidence`, `model_version`, `gold_label` and the payload) and
adds the result columns in `EXPORT_ONLY_COLUMNS` (plus `p_<label>` in CSV), which the importer
ignores. JSONL keeps the payload as one `payload` object; CSV spreads it over one column per
payload key (lists and objects as JSON text, so `pixels`/`features` survive; other scalars
come back from a CSV as strings, as CSV has no types).

Rows are read in keyset chunks (see `item_iter_values`): memory holds one chunk, never the table.

`spreadsheet-csv` is the same CSV for opening in a spreadsheet (Excel, LibreOffice, Google
Sheets), which runs a cell starting with `=`, `+`, `-`, `@`, tab or CR as a formula
(`=HYPERLINK(...)` in a payload would be live on the requester's machine). As OWASP advises,
such a cell (header cells too: payload keys are user data) gets a leading `'`, which makes
it text. A cell that is a plain number (`-0.5`, `-3e-4`) is left alone: a spreadsheet reads
it as that number, never as a formula. The file is for spreadsheets only: uploaded, its
prefixed cells would stay prefixed; the upload file is the plain `csv` (or `jsonl`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from apps.tasks.ingest import EXPORT_ONLY_COLUMNS, POSTERIOR_PREFIX
from apps.tasks.models import Item, Project
from apps.tasks.selectors.items import item_iter_values, item_payload_keys

FORMATS = ("csv", "jsonl", "spreadsheet-csv")
FORMAT_TITLES = {"csv": "CSV", "jsonl": "JSONL", "spreadsheet-csv": "CSV for spreadsheets"}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "spreadsheet-csv": "text/csv; charset=utf-8",
}
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "spreadsheet-csv": "spreadsheet.csv"}
# First characters a spreadsheet reads as a formula (OWASP CSV injection) and their
# full-width forms (read as formulas by some locales' spreadsheets).
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
PLAIN_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
UPLOAD_COLUMNS = ("external_id", "prediction", "confidence", "model_version", "gold_label")
FIELDS = (
    "external_id",
    "state",
    "final_label",
    "label_source",
    "final_confidence",
    "posterior",
    "prediction",
    "confidence",
    "model_version",
    "batch_id",
    "is_gold",
    "gold_label",
    "payload",
)


def export_response(*, project: Project, items: QuerySet[Item], fmt: str) -> StreamingHttpResponse:
    """A streamed download of `items` (already scoped and filtered) in `fmt` (see FORMATS)."""
    if fmt == "jsonl":
        chunks = export_jsonl(items)
    else:
        chunks = export_csv(project=project, items=items, for_spreadsheet=fmt != "csv")
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export_file_name(project, fmt)}"'
    response["Cache-Control"] = "no-store"
    return response


def export_file_name(project: Project, fmt: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return f"{slugify(project.name) or 'project'}-{project.pk}-items-{stamp}.{EXTENSIONS[fmt]}"


def export_jsonl(items: QuerySet[Item]) -> Iterator[bytes]:
    for chunk in item_iter_values(items, FIELDS):
        lines = [json.dumps(_record(row), ensure_ascii=False) for row in chunk]
        yield ("\n".join(lines) + "\n").encode()


def export_csv(
    *, project: Project, items: QuerySet[Item], for_spreadsheet: bool = False
) -> Iterator[bytes]:
    labels = list(project.labels)
    reserved = {*UPLOAD_COLUMNS, *EXPORT_ONLY_COLUMNS, *(POSTERIOR_PREFIX + x for x in labels)}
    # A payload key named like a reserved column could not have come in through a CSV either.
    payload_keys = [k for k in item_payload_keys(items) if k not in reserved]
    header = [
        "external_id",
        "state",
        "final_label",
        "label_source",
        "final_confidence",
        *(POSTERIOR_PREFIX + label for label in labels),
        "prediction",
        "confidence",
        "model_version",
        "batch",
        "is_gold",
        "gold_label",
        *payload_keys,
    ]
    defuse = _defused if for_spreadsheet else None
    buffer = io.StringIO()
    # Rows end in CRLF (RFC 4180): the writer quotes a cell holding a character of the line
    # terminator, so with "\n" alone a bare CR in a value went out unquoted and split the row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(map(defuse, header) if defuse else header)
    for chunk in item_iter_values(items, FIELDS):
        for row in chunk:
            cells = _csv_cells(_record(row), labels, payload_keys)
            writer.writerow(map(defuse, cells) if defuse else cells)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _record(row: tuple) -> dict[str, Any]:
    values = dict(zip(FIELDS, row[1:], strict=True))
    return {
        "external_id": values["external_id"],
        "state": values["state"],
        "final_label": values["final_label"] or None,
        "label_source": values["label_source"] or None,
        "final_confidence": values["final_confidence"],
        "posterior": values["posterior"],
        "prediction": values["prediction"] or None,
        "confidence": values["confidence"],
        "model_version": values["model_version"] or None,
        "batch": values["batch_id"],
        "is_gold": values["is_gold"],
        "gold_label": values["gold_label"] or None,
        "payload": values["payload"],
    }


def _csv_cells(record: dict[str, Any], labels: list[str], payload_keys: list[str]) -> list[str]:
    posterior = record["posterior"] if isinstance(record["posterior"], dict) else {}
    payload = record["payload"] if isinstance(record["payload"], dict) else {}
    return [
        _cell(record["external_id"]),
        _cell(record["state"]),
        _cell(record["final_label"]),
        _cell(record["label_source"]),
        _cell(record["final_confidence"]),
        *(_cell(posterior.get(label)) for label in labels),
        _cell(record["prediction"]),
        _cell(record["confidence"]),
        _cell(record["model_version"]),
        _cell(record["batch"]),
        "true" if record["is_gold"] else "false",
        _cell(record["gold_label"]),
        *(_cell(payload.get(key)) for key in payload_keys),
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _defused(cell: str) -> str:
    """The cell as a spreadsheet shows it but never runs it (see the module docstring)."""
    if cell and cell[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell
