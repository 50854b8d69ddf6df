"""The API's one request-body parser: JSON in UTF-8, through hitlcrowd/jsoncheck.py's limits.

It is the only entry of DEFAULT_PARSER_CLASSES. DRF's form parsers are left out on purpose:
no client of ours posts forms to the API, and a form value reaches a serializer's JSONField as
text that DRF parses again with a bare `json.loads` (no depth limit, NULs and surrogates kept).
The batch upload sets its own multipart parser (apps/tasks/api/batches.py).
"""

from __future__ import annotations

from typing import Any

from django.utils.http import parse_header_parameters
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from hitlcrowd import jsoncheck

UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})  # ASCII is a subset of UTF-8


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type: str | None = None, parser_context=None) -> Any:
        _, params = parse_header_parameters(media_type or "")
        if params.get("charset", "utf-8").lower() not in UTF8_NAMES:
            raise ParseError("JSON must be sent in UTF-8 (RFC 8259).")
        try:
            return jsoncheck.loads(stream.read())
        except jsoncheck.JSONRefused as exc:
            raise refused(exc) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def refused(exc: jsoncheck.JSONRefused) -> ValidationError:
    """A 400 naming the top-level field (the whole path in the message). A ValidationError,
    not hitlcrowd.api's ApiError: importing that here would be circular (DRF's APIView reads
    this setting when hitlcrowd.api imports it); the error shape is the same."""
    first = exc.path[0] if exc.path else None
    field = jsoncheck.escaped(first) if isinstance(first, str) else "non_field_errors"
    message = f"{exc.message} At {exc.location}." if exc.path else exc.message
    return ValidationError({field: [message]})
