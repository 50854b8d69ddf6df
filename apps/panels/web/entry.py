"""The participant's side of a panel entry link: enter, and the completion page.

Entering signs the browser in as the participant's worker identity (replacing whoever was
signed in: a panel link names one participant, and a shared or stale session must not
answer in their name) and sends them to the ordinary worker task page, which sends them to
the completion page once it has nothing more for them (apps/workers/web/views.py, task).

A first visit makes a worker account, so one client address makes at most
PANEL_ENTRY_RATE_PER_CLIENT of them (a 429 page past it); a participant who comes back is
not counted (their identity exists), so a limit reached never locks out anyone who started.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.panels.errors import PanelEntryThrottled
from apps.panels.models import PanelParticipant
from apps.panels.selectors import (
    panel_completion_redirect,
    panel_link_get_by_token,
    panel_participant_for_link,
)
from apps.panels.services import panel_participant_enter
from hitlcrowd.api import domain_status
from hitlcrowd.clientip import client_ip
from hitlcrowd.errors import DomainError, TooMany
from hitlcrowd.throttling import rate_limit

# The completion page shows the code this long before the browser follows the completion URL.
REDIRECT_SECONDS = 3
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_GET
@never_cache
def enter(request: HttpRequest, token: str) -> HttpResponse:
    link = panel_link_get_by_token(token=token)  # an unknown token: the 404 page
    try:
        entry = panel_participant_enter(
            link=link, params=request.GET, before_create=lambda: _limit_new(request)
        )
    except DomainError as exc:
        context = {"link": link, "refusal": exc.message}
        response = render(request, "panels/refused.html", context, status=domain_status(exc))
        if isinstance(exc, TooMany):
            response["Retry-After"] = str(exc.retry_after)
        return response
    participant = entry.participant
    if request.user.pk != participant.user_id:
        # login() flushes the session of another user: nothing of theirs carries over.
        login(request, participant.user, backend=MODEL_BACKEND)
    if participant.is_done:
        return redirect("panel-done", token=link.token)
    return redirect("worker-task", project_id=link.project_id)


def _limit_new(request: HttpRequest) -> None:
    """Count a new identity against the client's address (PANEL_ENTRY_RATE_PER_CLIENT)."""
    rate = settings.PANEL_ENTRY_RATE_PER_CLIENT
    rate_limit("panel_enter", client_ip(request), rate, PanelEntryThrottled)


@require_GET
@never_cache
def done(request: HttpRequest, token: str) -> HttpResponse:
    """The participant's code (and the way back to the panel). Only the participant's own
    browser, and only once an outcome is recorded: before that, back to the tasks."""
    link = panel_link_get_by_token(token=token)
    participant = panel_participant_for_link(user=request.user, link=link)
    if not participant.is_done:
        return redirect("worker-task", project_id=link.project_id)
    screened_out = participant.outcome == PanelParticipant.Outcome.SCREENED_OUT
    code = link.screened_out_code if screened_out else link.completion_code
    onward = (
        panel_completion_redirect(url=link.completion_url, code=code)
        if code and link.completion_url
        else ""
    )
    context = {
        "link": link,
        "participant": participant,
        "screened_out": screened_out,
        "code": code,
        "onward": onward,
        "redirect_seconds": REDIRECT_SECONDS,
    }
    return render(request, "panels/done.html", context)
