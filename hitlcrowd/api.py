"""One error shape for the whole API.

Every error body is ``{"code": str, "detail": str, "errors": ...}``: ``errors`` holds field
errors (``{"field": ["message"]}``) or row errors (``[{"row": n, "field": f, "message": m}]``).
Services raise domain errors (hitlcrowd/errors.py); their kind picks the status here, once.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hitlcrowd import errors

# Each kind of domain error and its status; the web pages use the same table (domain_status).
DOMAIN_STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.InvalidInput, status.HTTP_400_BAD_REQUEST),
    (errors.Forbidden, status.HTTP_403_FORBIDDEN),
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.Gone, status.HTTP_410_GONE),
    (errors.TooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    (errors.TooMany, status.HTTP_429_TOO_MANY_REQUESTS),
)


class ApiError(exceptions.APIException):
    """An error with its own status, code and optional structured errors."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        errors: Any = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.code = code
        self.errors = errors
        self.extra = extra or {}
        # DRF's exception handler turns `wait` into a Retry-After header.
        self.wait = retry_after


def domain_status(exc: errors.DomainError) -> int:
    """The HTTP status of a domain error's kind (400 for a bare DomainError)."""
    for kind, code in DOMAIN_STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


def from_domain(exc: errors.DomainError) -> exceptions.APIException:
    """The API exception for a domain error. A NotFound reads like every other 404 (the
    message is for pages and logs): someone else's object and no object look the same."""
    if isinstance(exc, errors.NotFound):
        return exceptions.NotFound()
    return ApiError(
        exc.message,
        code=exc.code,
        status_code=domain_status(exc),
        errors=exc.errors,
        extra=exc.extra,
        retry_after=exc.retry_after if isinstance(exc, errors.TooMany) else None,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        exc = from_domain(exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = _error_body(exc, response.data)
    return response


def _error_body(exc: Exception, data: Any) -> dict[str, Any]:
    if isinstance(exc, ApiError):
        body = {"code": exc.code, "detail": str(exc.detail), "errors": exc.errors}
        body.update(exc.extra)
        return body
    if isinstance(exc, exceptions.ValidationError):
        return {"code": "invalid", "detail": "The request is not valid.", "errors": data}
    if isinstance(exc, exceptions.APIException):
        detail = data.get("detail", exc.detail) if isinstance(data, dict) else exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        return {"code": code, "detail": str(detail), "errors": None}
    return {"code": "error", "detail": str(data), "errors": None}
