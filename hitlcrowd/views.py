"""Project-wide views: the home redirect, the health check, the 404 and 500 handlers, the API
docs page.

`server_error` (handler500) sees every exception no view or middleware handled. A database that
cannot be reached (a PostgreSQL restart or failover, a connection cut mid-request, a statement
cancelled by its timeout) is the client's cue to retry, not a bug: 503 with Retry-After, in the
API's error shape on /api/. Connections are checked before reuse (CONN_HEALTH_CHECKS), so the
requests after the outage reconnect without restarting gunicorn
(tests/live/test_faults_database.py).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import defaults
from drf_spectacular.views import SpectacularSwaggerSplitView

from hitlcrowd.middleware import API_PREFIX

# Seconds a client is asked to wait after a 503: PostgreSQL restarts in a few.
RETRY_AFTER_SECONDS = 5

_swagger_ui = SpectacularSwaggerSplitView.as_view(url_name="api-schema")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own pages."""
    if request.user.is_requester:
        return redirect("requester-projects")
    return redirect("worker-projects")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404 for a URL nothing matches (`/api/v1/projects/abc/`): the API's error shape
    under /api/, Django's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        body = {"code": "not_found", "detail": "Not found.", "errors": None}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: called while the exception is being handled, so sys.exc_info() holds it."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        response = _unavailable(request)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if request.path.startswith(API_PREFIX):
        body = {
            "code": "server_error",
            "detail": "Something went wrong on our side.",
            "errors": None,
        }
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


def _unavailable(request: HttpRequest) -> HttpResponse:
    detail = (
        f"The database cannot be reached right now; try again in {RETRY_AFTER_SECONDS} seconds."
    )
    if request.path.startswith(API_PREFIX):
        body = {"code": "database_unavailable", "detail": detail, "errors": None}
        return JsonResponse(body, status=503)
    return HttpResponse(detail, status=503, content_type="text/plain")


def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI (hitlcrowd/docs.py says who may read it): an anonymous visitor is sent to the
    login page and back."""
    if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger_ui(request)
