"""What a worker's task page frames for an MTurk HIT, as MTurk framed it: the requester's
ExternalURL, or our HTMLQuestion page (apps.mturk.web), with `assignmentId`, `hitId`,
`turkSubmitTo` and `workerId` appended to its query. In preview (before the accept) the
assignmentId is ASSIGNMENT_ID_NOT_AVAILABLE and neither the WorkerId nor turkSubmitTo is
given: the requester learns who the worker is only from an accepted assignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.mturk.models import MturkHIT
from apps.mturk.questions import question_parse
from apps.mturk.workers import worker_id_of
from apps.tasks import sql
from apps.tasks.models import HIT, Assignment, Project
from apps.workers.models import User

PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
# MTurk's FrameHeight 0: the frame takes the window's height.
FULL_HEIGHT = "100vh"
# What the HTMLQuestion frame may do (the same flags as its page's own CSP sandbox): run its
# scripts, post its form, open a window, and leave for our "next task" link on a click. Not
# allow-same-origin: its origin is opaque, so it reads no cookie and none of our pages.
HTML_SANDBOX = "allow-scripts allow-forms allow-popups allow-top-navigation-by-user-activation"


@dataclass(frozen=True)
class QuestionFrame:
    hit_id: str
    kind: str  # "external" or "html"
    src: str
    height: str  # CSS: "600px", or FULL_HEIGHT
    origin: str  # the frame's origin, for the page's CSP frame-src
    preview: bool

    @property
    def sandbox(self) -> str | None:
        return HTML_SANDBOX if self.kind == "html" else None


def submit_origin() -> str:
    """turkSubmitTo: this site's origin (SITE_URL), where forms post /mturk/externalSubmit."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def question_frame(*, hit: MturkHIT, lease: Assignment | None, worker: User) -> QuestionFrame:
    """The frame of `hit` for `worker`: for their `lease` on it, or a preview when None."""
    question = question_parse(hit.question)
    params = {"assignmentId": PREVIEW, "hitId": hit.hit_id}
    if lease is not None:
        params["assignmentId"] = assignment_id_of(lease.pk)
        params["turkSubmitTo"] = submit_origin()
        params["workerId"] = worker_id_of(worker)
    if question.kind == "external":
        base, origin = question.external_url, _origin(question.external_url)
    else:
        base = reverse("mturk-html-question", kwargs={"hit_id": hit.hit_id})
        origin = submit_origin()
    separator = "&" if "?" in base else "?"
    height = f"{question.frame_height}px" if question.frame_height else FULL_HEIGHT
    return QuestionFrame(
        hit_id=hit.hit_id,
        kind=question.kind,
        src=base + separator + urlencode(params),
        height=height,
        origin=origin,
        preview=lease is None,
    )


def question_for_api(*, lease: Assignment, worker: User) -> dict[str, object]:
    """The question of the worker's lease for the work API: its absolute URL."""
    frame = question_frame(hit=hit_of_lease(lease), lease=lease, worker=worker)
    url = submit_origin() + frame.src if frame.src.startswith("/") else frame.src
    height = 0 if frame.height == FULL_HEIGHT else int(frame.height.removesuffix("px"))
    return {"kind": frame.kind, "url": url, "frame_height": height}


def hit_of_lease(lease: Assignment) -> MturkHIT:
    return MturkHIT.objects.get(task_hit_id=lease.hit_id)


def hit_to_preview(*, worker: User, project: Project, hit_id: str | None = None) -> MturkHIT | None:
    """The HIT the claim's order would give the worker next (among the HITs it could give
    them, not locked), or with `hit_id` that HIT if it is among them (picked from
    hits_to_pick): previewed, and the one their Accept then takes (or is told why not:
    apps/mturk/services/accept.py). None when none is left, or `hit_id` is not among them."""
    free = _free(worker, project)
    if hit_id is not None:
        free = free.filter(mturk__hit_id=hit_id)
    first = free.order_by("-priority", F("answers_wanted") - F("slots_taken"), "id").first()
    return None if first is None else MturkHIT.objects.filter(task_hit=first).first()


@dataclass(frozen=True)
class HITToPick:
    hit_id: str
    available: int  # assignments left (MaxAssignments less those taken)
    expires_at: datetime | None


def hits_to_pick(
    *, worker: User, project: Project, after: int | None, size: int
) -> tuple[list[HITToPick], int | None]:
    """A page of the HITs of an MTurk project the worker could accept now (the claim's
    conditions: apps.tasks.sql.free_hits, not expired), oldest first, as MTurk listed a HIT
    group's HITs: `size` of them after the HIT row `after` (a keyset: page 100 costs what
    page 1 does), and the cursor of the next page (None on the last). One query."""
    free = _free(worker, project)
    if after is not None:
        free = free.filter(pk__gt=after)
    rows = list(
        free.order_by("id").values_list(
            "id", "mturk__hit_id", "answers_wanted", "slots_taken", "expires_at"
        )[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    hits = [
        HITToPick(hit_id=hit_id, available=wanted - taken, expires_at=expires)
        for _, hit_id, wanted, taken, expires in rows
        if hit_id is not None
    ]
    return hits, (rows[-1][0] if more else None)


def _free(worker: User, project: Project) -> QuerySet[HIT]:
    now = timezone.now()
    return sql.free_hits(worker_id=worker.pk, project=project, gold=False).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
