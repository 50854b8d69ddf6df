"""Refusals made before any view (or middleware) reads the request.

A NUL in the query string or a header: PostgreSQL text cannot hold a NUL, so
`?external_id=a%00b` reached the database as a 500, and so did an `Idempotency-Key` holding
one; no parameter or header of ours has a use for one. One check here covers every filter,
page, option and header of the API and the pages. (Neither can carry a lone surrogate: Django
decodes the query with replacement characters, and WSGI headers are Latin-1.)

A body declared larger than UPLOAD_MAX_BYTES (uploads are the largest bodies we take): the
requester upload page used to read and spool the whole body to disk before its 413, because
CsrfViewMiddleware reads a multipart form (for its token) before the view runs. Under WSGI,
Django never reads past the Content-Length (its LimitedStream) and reads a body without one as
empty, so refusing on the declared length bounds every multipart form; a raw chunked upload is
counted while it is read (apps.tasks.ingest.LimitedReader). Under ASGI, Django reads the whole
body before any middleware: run gunicorn's WSGI workers as the README does.

API paths answer in the API's error shape.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

API_PREFIX = "/api/"


NUL_MESSAGE = "A NUL character (%00) is not allowed."


class RefuseNul:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = _header_with_nul(request) or _parameter_with_nul(request)
        if name is not None:
            return _refusal(request, name)
        return self.get_response(request)


def _parameter_with_nul(request: HttpRequest) -> str | None:
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return None
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\u0000")
    return None


def _header_with_nul(request: HttpRequest) -> str | None:
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return key.removeprefix("HTTP_").replace("_", "-").title()
    return None


def _refusal(request: HttpRequest, name: str) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        body = {
            "code": "invalid",
            "detail": "The request is not valid.",
            "errors": {name: [NUL_MESSAGE]},
        }
        return JsonResponse(body, status=400)
    return HttpResponseBadRequest(f"{name}: {NUL_MESSAGE}", content_type="text/plain")


class RefuseOversizedBody:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if declared_length(request) > settings.UPLOAD_MAX_BYTES:
            return _too_large(request)
        return self.get_response(request)


def declared_length(request: HttpRequest) -> int:
    """The body's Content-Length (0 when absent or not a number)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _too_large(request: HttpRequest) -> HttpResponse:
    message = f"The upload is larger than {settings.UPLOAD_MAX_BYTES} bytes (UPLOAD_MAX_BYTES)."
    if request.path.startswith(API_PREFIX):
        body = {"code": "upload_too_large", "detail": message, "errors": None}
        return JsonResponse(body, status=413)
    return HttpResponse(message, status=413, content_type="text/plain")
