"""Streaming parsing and row validation for batch uploads (CSV, JSON array, JSON lines).

Pure: the standard library only, no ORM. The service (`apps.tasks.services.batches`) feeds the
rows this module yields into a staging table; nothing here holds a whole file in memory.

Row rules (the same for every format):
- Reserved keys/columns: ``external_id`` (required), ``prediction``, ``confidence``,
  ``gold_label``, ``model_version`` and, in JSON rows only, ``payload``. The result columns of
  an export (``EXPORT_ONLY_COLUMNS``, ``p_<label>``) are ignored, so an export uploads as is.
- The payload: in JSON rows the ``payload`` object if present (then no other non-reserved key
  is allowed), else every non-reserved key. In CSV every non-reserved column, values as strings,
  except ``features`` and ``pixels`` cells, which hold a JSON list and are parsed as JSON (an
  empty one is left out). A CSV may not have a ``payload`` column.
- The payload must fit the project's item kind: text needs a ``text`` string; image needs
  ``pixels`` (a list of numbers) or ``image_url`` (an http(s) URL); vector needs ``features``
  (a list of numbers).
- ``prediction`` and ``gold_label`` must be in the project's label set; ``confidence`` a number
  in [0, 1] and only next to a prediction. A row with ``gold_label`` is a gold item.
- Routing: a non-gold row whose confidence is at or above the threshold is auto-labeled;
  every other row waits for people.
- Text the database cannot hold is a row error, never a database error: NUL characters and
  lone surrogates (a JSON ``"\\ud800"`` escape decodes to one; UTF-8 cannot encode it, so the
  COPY into the staging table would fail), in any key or value; and numbers a double cannot
  hold (``1e400`` parses as infinity; JSON has no infinity).
- Limits (`Limits`, set from the settings by the service): a JSON value nested deeper than
  ``MAX_JSON_DEPTH``, a line (a CSV row, a JSON array element) longer than
  ``max_line_bytes``, a CSV header wider than ``max_columns``: each a row error, found
  without reading more than the limit into memory.

The package, by seam (the public names are re-exported here: callers write `ingest.X`):
- `formats.py`: which format a body is in (`detect_format`);
- `limits.py`: reading the body within its limits (`LimitedReader`, `open_body`, `Limits`);
- `csv_rows.py`, `json_rows.py`: a body of each format to rows (`Record`s);
- `jsontext.py`: JSON text in and out with the refusals above;
- `rows.py`: the row shapes (`CleanRow`, `RowError`) and the text rules;
- `validation.py`: a row checked and routed (`RowValidator`);
- `staging.py`: a checked row as COPY text (`copy_line`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from apps.tasks.ingest.csv_rows import MAX_CSV_FIELD, csv_checked, csv_records
from apps.tasks.ingest.formats import (
    CONTENT_TYPES,
    EXTENSIONS,
    FORMATS,
    FormatUnknown,
    detect_format,
)
from apps.tasks.ingest.json_rows import json_array_records, jsonl_checked, jsonl_records
from apps.tasks.ingest.limits import (
    DEFAULT_LIMITS,
    MAX_JSON_DEPTH,
    READ_CHUNK,
    BodyTooLarge,
    BodyUnreadable,
    LimitedReader,
    Limits,
    open_body,
)
from apps.tasks.ingest.rows import (
    AUTO_LABELED,
    EXPORT_ONLY_COLUMNS,
    JSON_CELLS,
    KIND_FIELDS,
    MAX_ERRORS,
    MAX_EXTERNAL_ID,
    MAX_MODEL_VERSION,
    POSTERIOR_PREFIX,
    RESERVED,
    WAITING,
    Checked,
    CleanRow,
    Record,
    RowError,
    printable,
    storable,
)
from apps.tasks.ingest.staging import copy_line
from apps.tasks.ingest.validation import RowValidator, check_model_version

__all__ = [
    "AUTO_LABELED",
    "CONTENT_TYPES",
    "DEFAULT_LIMITS",
    "EXPORT_ONLY_COLUMNS",
    "EXTENSIONS",
    "FORMATS",
    "JSON_CELLS",
    "KIND_FIELDS",
    "MAX_CSV_FIELD",
    "MAX_ERRORS",
    "MAX_EXTERNAL_ID",
    "MAX_JSON_DEPTH",
    "MAX_MODEL_VERSION",
    "POSTERIOR_PREFIX",
    "READ_CHUNK",
    "RESERVED",
    "WAITING",
    "BodyTooLarge",
    "BodyUnreadable",
    "Checked",
    "CleanRow",
    "FormatUnknown",
    "LimitedReader",
    "Limits",
    "Record",
    "RowError",
    "RowValidator",
    "check_model_version",
    "copy_line",
    "detect_format",
    "iter_checked",
    "iter_records",
    "open_body",
    "printable",
    "storable",
]


def iter_records(
    stream: BinaryIO, fmt: str, *, item_kind: str, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """Parsed rows, numbered from 1; a file-level problem comes as a Record with row 0."""
    if fmt == "csv":
        return csv_records(stream, item_kind, limits)
    if fmt == "jsonl":
        return jsonl_records(stream, limits)
    return json_array_records(stream, limits)


def iter_checked(
    stream: BinaryIO, fmt: str, validator: RowValidator, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Checked]:
    """`validator.check` of every row of `iter_records`, the same results, faster.

    CSV rows of text items and JSON lines skip the Record (and, for CSV, the dict) on the way:
    a row the fast path is not sure about goes through `validator.check` as it is.
    """
    if fmt == "csv":
        return csv_checked(stream, validator, limits)
    if fmt == "jsonl":
        return jsonl_checked(stream, validator, limits)
    return map(validator.check, json_array_records(stream, limits))
