"""Reads for panel entry links: a project's links for its owner, a link by its token, a
worker's participant record, and the entry URL to paste into the panel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from apps.panels.models import PanelLink, PanelParticipant
from hitlcrowd.errors import NotFound, one_or_not_found

if TYPE_CHECKING:
    from apps.tasks.models import Project
    from apps.workers.models import User

EXPORT_CHUNK = 1000


def panel_link_list_for_project(*, project: Project) -> QuerySet[PanelLink]:
    """The project's links, newest first, each with `participant_count` and `done_count`.
    Scope the project to its owner first (project_get_for_requester)."""
    return (
        PanelLink.objects.filter(project=project)
        .annotate(
            participant_count=Count("participants"),
            done_count=Count("participants", filter=Q(participants__completed_at__isnull=False)),
        )
        .order_by("-created_at", "-id")
    )


def panel_workers_done(*, project: Project) -> QuerySet:
    """Ids of the project's panel participants who will get no more tasks there: their
    outcome is recorded, or they gave their link's quota of answers (the claim refuses them
    either way). A subquery, for eligibility (who may still answer an item)."""
    from apps.tasks.models import Answer

    given = (
        Answer.objects.filter(worker=OuterRef("user"), project=project)
        .order_by()
        .values("worker")
        .annotate(n=Count("pk"))
        .values("n")
    )
    at_quota = Q(link__quota__lte=Coalesce(Subquery(given), 0))
    done = PanelParticipant.objects.filter(link__project=project).filter(
        Q(completed_at__isnull=False) | at_quota
    )
    return done.values("user_id")


def panel_link_get_for_project(*, project: Project, link_id: int) -> PanelLink:
    """One of the project's links (NotFound for another project's: ids don't leak)."""
    return one_or_not_found(panel_link_list_for_project(project=project), pk=link_id)


def panel_link_get_by_token(*, token: str) -> PanelLink:
    """The link a participant's URL names, with its project; NotFound for an unknown token."""
    return one_or_not_found(PanelLink.objects.select_related("project"), token=token)


def panel_participant_of(*, worker: User, project: Project) -> PanelParticipant | None:
    """The worker's participant record when they are a panel identity on this project."""
    return (
        PanelParticipant.objects.filter(user=worker, link__project=project)
        .select_related("link")
        .first()
    )


def panel_participant_for_link(*, user: User, link: PanelLink) -> PanelParticipant:
    """The signed-in user's participant record on this link; NotFound for anyone else."""
    if not user.is_authenticated:
        raise NotFound("No such participant.")
    return one_or_not_found(PanelParticipant.objects.select_related("link"), link=link, user=user)


def panel_entry_url(*, link: PanelLink) -> str:
    """The URL to give the panel: SITE_URL, the link's path and its three parameters with
    Prolific's placeholders (`{{%PROLIFIC_PID%}}`), which Prolific fills in per participant.
    For another panel, replace each placeholder with that panel's."""
    base = settings.SITE_URL.rstrip("/") + reverse("panel-enter", kwargs={"token": link.token})
    names = (link.participant_param, link.study_param, link.session_param)
    query = "&".join(f"{quote(name)}={{{{%{name}%}}}}" for name in names)
    return f"{base}?{query}"


def panel_completion_redirect(*, url: str, code: str) -> str:
    """The completion URL with `cc=CODE` in its query (replacing a `cc` already there), as
    Prolific expects: https://app.prolific.com/submissions/complete?cc=CODE."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cc"]
    query.append(("cc", code))
    return urlunsplit(parts._replace(query=urlencode(query)))


def panel_participant_chunks(*, link: PanelLink) -> Iterator[list[PanelParticipant]]:
    """The link's participants with their accounts, in id order, EXPORT_CHUNK at a time, by
    keyset (`id > last`): memory holds one chunk, never the table."""
    last_id = 0
    rows = PanelParticipant.objects.filter(link=link).select_related("user").order_by("id")
    while True:
        chunk = list(rows.filter(id__gt=last_id)[:EXPORT_CHUNK])
        if not chunk:
            return
        yield chunk
        if len(chunk) < EXPORT_CHUNK:
            return
        last_id = chunk[-1].pk
