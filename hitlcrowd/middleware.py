"""Refuse a NUL in the query string before any view reads it.

PostgreSQL text cannot hold a NUL, so `?external_id=a%00b` reached the database as a 500; no
parameter of ours has a use for one. One check here covers every filter, page and option of
the API and the pages. (A query string cannot carry a lone surrogate: Django decodes it with
replacement characters.) API paths answer in the API's error shape, naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable

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
