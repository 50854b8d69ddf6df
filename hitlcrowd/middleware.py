"""Refusals made before any view (or middleware) reads the request.

A NUL in the query string: PostgreSQL text cannot hold a NUL, so `?external_id=a%00b` reached
the database as a 500; no parameter of ours has a use for one. One check here covers every
filter, page and option of the API and the pages. (A query string cannot carry a lone
surrogate: Django decodes it with replacement characters.)

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


class RefuseNulInQueryString:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            name = _parameter_with_nul(request)
            if name is not None:
                return _refusal(request, name)
        return self.get_response(request)


def _parameter_with_nul(request: HttpRequest) -> str | None:
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\u0000")
    return None


def _refusal(request: HttpRequest, name: str) -> HttpResponse:
    message = "A NUL character (%00) is not allowed."
    if request.path.startswith(API_PREFIX):
        body = {
            "code": "invalid",
            "detail": "The request is not valid.",
            "errors": {name: [message]},
        }
        return JsonResponse(body, status=400)
    return HttpResponseBadRequest(f"{name}: {message}", content_type="text/plain")


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
