"""The task page of an MTurk project (a HIT type): the HIT's question in a frame, as MTurk
showed it. Without a lease, a preview of the HIT the accept would take (assignmentId
ASSIGNMENT_ID_NOT_AVAILABLE) and an Accept button; with one, the question for that
assignment, its time left and a Return button (our skip: the slot goes back). The answer is
posted by the question's own form to /mturk/externalSubmit (apps.mturk.web)."""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.mturk.access import access_refusal
from apps.mturk.frames import hit_of_lease, hit_to_preview, question_frame
from apps.mturk.requirements import Action
from apps.tasks.models import Project
from apps.tasks.selectors.assignments import assignment_live_for_worker, claim_context_of
from apps.workers.models import User


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
        hit = hit_to_preview(worker=worker, project=project)
        frame = None if hit is None else question_frame(hit=hit, lease=None, worker=worker)
    context["frame"] = frame
    response = render(request, "mturk/task.html", context)
    if frame is not None:
        # The page may frame its question's origin (ours for an HTMLQuestion) and no other.
        response._csp_replace = {"frame-src": ["'self'", frame.origin]}  # type: ignore[attr-defined]
    return response


def _block_notice(worker: User, project: Project) -> str | None:
    """What a worker blocked here is told; no preview for them, as MTurk showed a blocked
    worker none of the requester's HITs. Nor for one who does not meet a qualification
    requirement guarding the preview (PreviewAndAccept, apps.mturk.access)."""
    context = claim_context_of(worker=worker, project=project)
    if context.block_notice is not None:
        return context.block_notice
    return access_refusal(worker=worker, requirements=context.requirements, action=Action.PREVIEW)
