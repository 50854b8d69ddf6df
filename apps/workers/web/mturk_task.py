"""The task page of an MTurk project (a HIT type): the HIT's question in a frame, as MTurk
showed it. Without a lease, a preview (assignmentId ASSIGNMENT_ID_NOT_AVAILABLE) of the HIT
the claim would give next, or of the one picked from the type's list (`?hit=`, the list:
render_mturk_hits), and an Accept button that takes that HIT; with one, the question for that
assignment, its time left and a Return button (our skip: the slot goes back). The answer is
posted by the question's own form to /mturk/externalSubmit (apps.mturk.web)."""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.mturk.access import access_refusal
from apps.mturk.frames import hit_of_lease, hit_to_preview, hits_to_pick, question_frame
from apps.mturk.models import MturkHIT
from apps.mturk.requirements import Action
from apps.tasks.models import Project
from apps.tasks.selectors.assignments import assignment_live_for_worker, claim_context_of
from apps.workers.models import User
from hitlcrowd.params import ascii_int

# HITs listed per page of a type's list.
HITS_PAGE = 25


def render_mturk_task(request: HttpRequest, project: Project) -> HttpResponse:
    worker: User = request.user  # type: ignore[assignment]
    lease = assignment_live_for_worker(worker=worker, project=project)
    context: dict[str, object] = {"project": project, "lease": lease}
    if lease is not None:
        frame = question_frame(hit=hit_of_lease(lease), lease=lease, worker=worker)
        left = (lease.lease_expires_at - timezone.now()).total_seconds()
        context["seconds_left"] = max(0, math.floor(left))
    elif notice := _block_notice(worker, project):
        context["refusal"] = notice
        return render(request, "mturk/task.html", context, status=403)
    else:
        hit = _picked(request, worker, project, context)
        if hit is None:
            hit = hit_to_preview(worker=worker, project=project)
        frame = None if hit is None else question_frame(hit=hit, lease=None, worker=worker)
    context["frame"] = frame
    response = render(request, "mturk/task.html", context)
    if frame is not None:
        # The page may frame its question's origin (ours for an HTMLQuestion) and no other.
        response._csp_replace = {"frame-src": ["'self'", frame.origin]}  # type: ignore[attr-defined]
    return response


def _picked(
    request: HttpRequest, worker: User, project: Project, context: dict[str, object]
) -> MturkHIT | None:
    """The HIT the worker picked from the type's list (`?hit=<HITId>`) while it is still one
    they could accept; else None, and the page says so before previewing the next."""
    picked = request.GET.get("hit", "").strip()
    if not picked:
        return None
    hit = hit_to_preview(worker=worker, project=project, hit_id=picked)
    if hit is None:
        context["picked_gone"] = True
    return hit


def render_mturk_hits(request: HttpRequest, project: Project) -> HttpResponse:
    """The type's HITs the worker could accept now, a keyset page at a time (`?after=`), each
    with a link to its preview, as MTurk listed a HIT group's HITs."""
    worker: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {"project": project}
    if notice := _block_notice(worker, project):
        context["refusal"] = notice
        return render(request, "mturk/hits.html", context, status=403)
    after = ascii_int(request.GET.get("after", "").strip())
    hits, next_after = hits_to_pick(worker=worker, project=project, after=after, size=HITS_PAGE)
    context.update({"hits": hits, "next_after": next_after, "first_page": after is None})
    return render(request, "mturk/hits.html", context)


def _block_notice(worker: User, project: Project) -> str | None:
    """What a worker blocked here is told; no preview for them, as MTurk showed a blocked
    worker none of the requester's HITs. Nor for one who does not meet a qualification
    requirement guarding the preview (PreviewAndAccept, apps.mturk.access)."""
    context = claim_context_of(worker=worker, project=project)
    if context.block_notice is not None:
        return context.block_notice
    return access_refusal(worker=worker, requirements=context.requirements, action=Action.PREVIEW)
