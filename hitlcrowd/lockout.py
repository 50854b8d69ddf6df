"""Login lockouts: django-axes in front of the password check, on every login path.

A password check costs ~240 ms of CPU (PBKDF2 at Django's default iterations), so ~8
anonymous attempts a second fill two cores. django-axes counts failed logins per account
and per client address (`AXES_LOCKOUT_PARAMETERS`) in the database (shared by every web
process, no extra service) and, once either count reaches `LOGIN_FAILURE_LIMIT`, refuses
further attempts for `LOGIN_COOLOFF_MINUTES` *before* the password hasher runs: its backend
comes first in `AUTHENTICATION_BACKENDS` and stops `authenticate()`. That covers the web
login, the admin login and the API token login alike, since all three call `authenticate()`
with the request. A refused attempt restarts the cool-off, so Retry-After is the whole
cool-off.

The web pages answer with `lockout_response` (the middleware's hook); the API token view
checks the flag itself (axes marks DRF's request wrapper, not the Django request the
middleware sees) and answers in the API's error shape.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginLockoutBackend(AxesStandaloneBackend):
    """axes' lockout check, skipped when there is no request: `authenticate()` from a shell,
    a management command or the test client's `login()` is not an attempt from a client."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def is_locked_out(request: Any) -> bool:
    """Whether axes refused (or has just locked out) the login attempt made with `request`."""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page a locked-out web or admin login gets: 429 with Retry-After."""
    seconds = cooloff_seconds()
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": max(1, round(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
