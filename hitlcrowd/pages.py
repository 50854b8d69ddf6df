"""The pages' side of the domain errors (hitlcrowd/errors.py).

A selector refuses someone else's (or no) object with NotFound, and the pages answer it with
the 404 page, as they did when selectors raised Http404 themselves. Every other refusal is the
view's to catch: it shows the message (Django messages, a form error, the task page's notice)
with the status the API gives the same error (hitlcrowd.api.domain_status). The API never
gets here: DRF hands its views' exceptions to hitlcrowd.api.exception_handler.

`form_add_refusal` is how every page and admin view puts a refusal on its form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django import forms
from django.http import Http404, HttpRequest, HttpResponse

from hitlcrowd.errors import DomainError, NotFound


class NotFoundPages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception


def form_add_refusal(
    form: forms.BaseForm, refusal: DomainError, *, renamed: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on `form`: under each field it names (`renamed` maps a
    service's field name to the form's), above the form for a field the form lacks or a
    refusal that names none. (Django's own `add_error(None, ...)` raises ValueError for a
    field the form lacks: a service may name one.)"""
    error = refusal.as_validation_error()
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        name = (renamed or {}).get(field, field)
        form.add_error(name if name in form.fields else None, errors)
