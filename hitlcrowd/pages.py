"""The pages' side of the domain errors (hitlcrowd/errors.py).

A selector refuses someone else's (or no) object with NotFound, and the pages answer it with
the 404 page, as they did when selectors raised Http404 themselves. Every other refusal is the
view's to catch: it shows the message (Django messages, a form error, the task page's notice)
with the status the API gives the same error (hitlcrowd.api.domain_status). The API never
gets here: DRF hands its views' exceptions to hitlcrowd.api.exception_handler.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse

from hitlcrowd.errors import NotFound


class NotFoundPages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
