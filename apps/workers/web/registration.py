"""Coming in: the login page, which also takes a visitor who came through an invite link into
the link's group (apps/crowds/web/views.py keeps the token in the session).

Joining at login is safe from cross-site requests: the login is a POST with its CSRF token,
made by the visitor, and the token in their session came from a link they opened.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from apps.crowds.services import invite_join
from apps.crowds.web.views import INVITE_SESSION_KEY, invite_token_in_session
from hitlcrowd.errors import DomainError


def join_pending_invite(request: HttpRequest) -> HttpResponse | None:
    """Join the group of the invite link the signed-in worker came through, if any: a redirect
    to their projects with a message; None when there was no link to join, or it can no
    longer be used (the invite page, where `next` leads, says why)."""
    token = invite_token_in_session(request)
    user = request.user
    if token is None or not (user.is_authenticated and user.is_worker):
        return None
    try:
        joined = invite_join(worker=user, token=token)
    except DomainError:
        return None
    request.session.pop(INVITE_SESSION_KEY, None)
    name = joined.membership.group.name
    text = "You joined" if joined.joined else "You were already in"
    messages.success(request, f"{text} “{name}”: its projects are in your list.")
    return redirect("worker-projects")


class LoginView(auth_views.LoginView):
    """Django's login, then the pending invite link's group, if the visitor came through one."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        return join_pending_invite(self.request) or response
