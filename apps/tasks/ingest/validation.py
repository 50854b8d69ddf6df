"""A parsed row checked against the project (labels, item kind, text the database can hold)
and routed: auto-labeled or waiting for people."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apps.tasks.ingest.csv_rows import csv_record
from apps.tasks.ingest.jsontext import dumps, encode_str
from apps.tasks.ingest.rows import (
    AUTO_LABELED,
    ESCAPED_NUL,
    EXPORT_ONLY_COLUMNS,
    JSON_CELLS,
    MAX_EXTERNAL_ID,
    MAX_MODEL_VERSION,
    POSTERIOR_PREFIX,
    RESERVED,
    WAITING,
    CleanRow,
    Record,
    RowError,
    storable,
)

_MAX_DOUBLE = 1.7976931348623157e308


class RowValidator:
    """Checks one parsed row against the project and decides where it goes."""

    def __init__(
        self, *, item_kind: str, labels: Iterable[str], threshold: float, model_version: str = ""
    ) -> None:
        self.item_kind = item_kind
        self.labels = frozenset(labels)
        self.ignored = frozenset(EXPORT_ONLY_COLUMNS) | {POSTERIOR_PREFIX + x for x in self.labels}
        self.threshold = threshold
        self.model_version = model_version

    def check(self, record: Record) -> CleanRow | RowError:
        if record.data is None:
            assert record.error is not None
            return record.error
        return self.clean_or_error(record.row, record.line, record.data)

    def clean_or_error(self, row: int, line: int, data: dict[str, Any]) -> CleanRow | RowError:
        try:
            return self._clean(row, line, data)
        except _FieldError as exc:
            return RowError(row, line, exc.field, exc.message)

    def csv_row_checker(
        self, header: list[str], bad_lines: list[int]
    ) -> Callable[[int, int, list[str]], CleanRow | RowError] | None:
        """For a CSV of text items without JSON cells: a `(row, line, cells)` check that gives
        what `check(csv_record(...))` gives, without building the row's dict. None otherwise.

        It accepts only rows whose every cell is plainly fine; any other row (and its error
        message) is left to `check`.
        """
        if self.item_kind != "text" or not JSON_CELLS.isdisjoint(header):
            return None
        return _CsvTextRows(self, header, bad_lines).check

    def _clean(self, row: int, line: int, data: dict[str, Any]) -> CleanRow:
        external_id = data.get("external_id")
        if (
            type(external_id) is not str
            or len(external_id) > MAX_EXTERNAL_ID
            or not external_id.strip()
            or not storable(external_id)
        ):
            external_id = _external_id(external_id)
        if not self.ignored.isdisjoint(data):
            data = {k: v for k, v in data.items() if k not in self.ignored}
        payload = _payload(data)
        self._check_kind(payload)
        payload_json = _payload_json(payload)
        prediction = self._label(data.get("prediction"), "prediction")
        gold_label = self._label(data.get("gold_label"), "gold_label")
        confidence = data.get("confidence")
        if type(confidence) is not float or not 0.0 <= confidence <= 1.0:
            confidence = _confidence(confidence)
        if confidence is not None and not prediction:
            raise _FieldError("confidence", "A confidence needs a prediction.")
        model_version = data.get("model_version")
        model_version = _model_version(model_version) if model_version else self.model_version
        if not gold_label and confidence is not None and confidence >= self.threshold:
            state = AUTO_LABELED
        else:
            state = WAITING
        return CleanRow(
            row, line, external_id, payload_json, prediction, confidence, model_version,
            gold_label, bool(gold_label), state,
        )  # fmt: skip

    def _label(self, value: Any, field: str) -> str:
        if type(value) is str and value in self.labels:
            return value
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            raise _FieldError(field, "Must be a string.")
        if value not in self.labels:
            raise _FieldError(field, f"{value!r} is not in the project's label set.")
        return value

    def _check_kind(self, payload: dict[str, Any]) -> None:
        if self.item_kind == "text":
            if not isinstance(payload.get("text"), str) or not payload["text"]:
                raise _FieldError("text", "Text items need a non-empty 'text' string.")
        elif self.item_kind == "vector":
            _numbers(payload.get("features"), "features")
        elif self.item_kind == "image":
            if "pixels" in payload and payload["pixels"] not in ("", None):
                _numbers(payload["pixels"], "pixels")
            elif not _is_url(payload.get("image_url")):
                raise _FieldError(
                    "image_url", "Image items need 'pixels' (numbers) or an http(s) 'image_url'."
                )


class _CsvTextRows:
    """The common CSV row of text items, checked by column position (see csv_row_checker)."""

    def __init__(self, validator: RowValidator, header: list[str], bad_lines: list[int]) -> None:
        self.validator = validator
        self.header = header
        self.width = len(header)
        self.bad_lines = bad_lines
        column = {name: i for i, name in enumerate(header)}
        self.external_id = column["external_id"]
        self.text = column["text"]  # the header check makes sure a text CSV has it
        self.prediction = column.get("prediction")
        self.gold_label = column.get("gold_label")
        self.confidence = column.get("confidence")
        self.model_version = column.get("model_version")
        self.payload = [
            (i, encode_str(name) + ":")
            for i, name in enumerate(header)
            if name not in RESERVED and name not in validator.ignored
        ]

    def check(self, row: int, line: int, cells: list[str]) -> CleanRow | RowError:
        fast = None
        if len(cells) == self.width and not (self.bad_lines and self.bad_lines[-1] >= line):
            fast = self._fast(row, line, cells)
        if fast is not None:
            return fast
        record = csv_record(row, line, cells, self.header, self.width, [], self.bad_lines)
        return self.validator.check(record)

    def _fast(self, row: int, line: int, cells: list[str]) -> CleanRow | None:
        """The CleanRow `check` would give, or None where `check` must decide."""
        validator = self.validator
        external_id = cells[self.external_id]
        if len(external_id) > MAX_EXTERNAL_ID or not external_id.strip() or "\x00" in external_id:
            return None  # (CSV cells are strict UTF-8: they hold no lone surrogate)
        if not cells[self.text]:
            return None
        payload_json = "{" + ",".join([key + encode_str(cells[i]) for i, key in self.payload])
        payload_json += "}"
        if "\\u0000" in payload_json and ESCAPED_NUL.search(payload_json):
            return None
        labels = validator.labels
        prediction = "" if self.prediction is None else cells[self.prediction]
        gold_label = "" if self.gold_label is None else cells[self.gold_label]
        if (prediction and prediction not in labels) or (gold_label and gold_label not in labels):
            return None
        confidence = None if self.confidence is None else cells[self.confidence]
        if confidence:
            try:
                confidence = float(confidence)
            except ValueError:
                return None
            if not 0.0 <= confidence <= 1.0 or not prediction:  # NaN fails the range too
                return None
        else:
            confidence = None
        model_version = None if self.model_version is None else cells[self.model_version]
        if not model_version:
            model_version = validator.model_version
        elif len(model_version) > MAX_MODEL_VERSION or "\x00" in model_version:
            return None
        if not gold_label and confidence is not None and confidence >= validator.threshold:
            state = AUTO_LABELED
        else:
            state = WAITING
        return CleanRow(
            row, line, external_id, payload_json, prediction, confidence, model_version,
            gold_label, bool(gold_label), state,
        )  # fmt: skip


def check_model_version(value: str) -> str | None:
    """The error message for a batch-level model version, or None when it is fine."""
    try:
        _model_version(value)
    except _FieldError as exc:
        return exc.message
    return None


class _FieldError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_NOT_TEXT = "NUL characters and lone surrogates (\\ud800-\\udfff) are not text."


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError("external_id", "Required: a non-empty string.")
    value = str(value)
    if not value.strip():
        raise _FieldError("external_id", "Required: a non-empty string.")
    if len(value) > MAX_EXTERNAL_ID:
        raise _FieldError("external_id", f"At most {MAX_EXTERNAL_ID} characters.")
    if not storable(value):
        raise _FieldError("external_id", _NOT_TEXT)
    return value


def _payload_json(payload: dict[str, Any]) -> str:
    """The payload as JSON text the database can hold, or a _FieldError naming its key."""
    try:
        text = dumps(payload)
    except ValueError:  # inf or nan: 1e400 parses as inf
        raise _FieldError(_bad_key(payload), _NOT_FINITE) from None
    if ("\\u0000" in text and ESCAPED_NUL.search(text)) or not storable(text):
        raise _FieldError(_bad_key(payload), _NOT_TEXT)
    return text


def _bad_key(payload: dict[str, Any]) -> str:
    """The first key whose key or value `_payload_json` refuses (on the error path only)."""
    for key, value in payload.items():
        try:
            text = dumps({key: value})
        except ValueError:
            return key
        if ("\\u0000" in text and ESCAPED_NUL.search(text)) or not storable(text):
            return key
    return "payload"


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    if "payload" not in data:
        return {k: v for k, v in data.items() if k not in RESERVED}
    extra = sorted(k for k in data if k not in RESERVED and k != "payload")
    if extra:
        raise _FieldError(extra[0], "Unexpected key next to 'payload'.")
    if not isinstance(data["payload"], dict):
        raise _FieldError("payload", "Must be a JSON object.")
    return data["payload"]


def _confidence(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _FieldError("confidence", "Must be a number in [0, 1].") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _FieldError("confidence", "Must be a number in [0, 1].")
    if not 0 <= value <= 1:  # NaN fails too; an int too large for a float compares fine
        raise _FieldError("confidence", "Must be a number in [0, 1].")
    return float(value)


def _model_version(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > MAX_MODEL_VERSION:
        raise _FieldError("model_version", f"A string of at most {MAX_MODEL_VERSION} chars.")
    if not storable(value):
        raise _FieldError("model_version", _NOT_TEXT)
    return value


_NOT_FINITE = f"Numbers must be finite and within ±{_MAX_DOUBLE:.4g} (a double)."


def _numbers(value: Any, field: str) -> None:
    if not isinstance(value, list) or not value:
        raise _FieldError(field, f"'{field}' must be a non-empty list of numbers.")
    for number in value:
        kind = type(number)
        if kind is float:
            if not -_MAX_DOUBLE <= number <= _MAX_DOUBLE:  # inf, -inf and nan fail
                raise _FieldError(field, _NOT_FINITE)
        elif kind is int:
            if not -_MAX_DOUBLE <= number <= _MAX_DOUBLE:  # the model reads them as doubles
                raise _FieldError(field, _NOT_FINITE)
        else:
            raise _FieldError(field, f"'{field}' must be a non-empty list of numbers.")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8
