"""A worker's own assignment: the live lease, loaded with what a task shows, locked for a
submit or skip, checked still live; and the refusal of a worker blocked meanwhile.
"""

from __future__ import annotations

from typing import NoReturn

from django.utils import timezone

from apps.tasks import sql
from apps.tasks.errors import AnswerConflict, LeaseExpired, NotQualified, TaskClosed
from apps.tasks.models import Answer, Assignment, Project
from apps.tasks.selectors.visibility import project_visible_q
from apps.tasks.services.discard import answers_discard
from apps.workers.models import User
from apps.workers.selectors import block_notice_probed
from hitlcrowd.errors import InvalidInput, NotFound
from hitlcrowd.locking import hold_worker


def live_lease(worker: User, project: Project | None) -> Assignment | None:
    """The worker's oldest live lease on `project` (None: on any project), loaded."""
    leases = Assignment.objects.filter(
        worker=worker, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
    )
    if project is not None:
        leases = leases.filter(project=project)
    else:  # any project: only those the worker may still see (a claim's context checked it)
        leases = leases.filter(project_visible_q(worker=worker, field="project"))
    lease = leases.order_by("leased_at", "id").values_list("pk", flat=True).first()
    return assignment_load(lease, project) if lease is not None else None


def assignment_load(assignment_id: int, project: Project | None = None) -> Assignment:
    """The assignment with its HIT, item and guideline; with `project`, that instance is
    attached (keeping its annotations) instead of being loaded again."""
    if project is None:
        return Assignment.objects.select_related("hit__item", "project", "guideline_version").get(
            pk=assignment_id
        )
    assignment = Assignment.objects.select_related("hit__item", "guideline_version").get(
        pk=assignment_id, project=project
    )
    assignment.project = project
    return assignment


def refuse_blocked(worker: User, assignment: Assignment, notice: str) -> NoReturn:
    """End the blocked worker's leases on the project (and discard what still counts of theirs)
    in a committed step of its own, then refuse: raising inside the submit's transaction
    would have rolled the lease's end back."""
    reason = Answer.DiscardReason.BLOCKED
    answers_discard(project_id=assignment.project_id, worker_ids=[worker.pk], reason=reason)
    raise NotQualified(notice)


def lock_own(worker: User, assignment_id: int) -> tuple[Assignment, str | None]:
    """The worker's assignment, locked, with its project and guideline version, and what the
    worker is told when blocked on the project now (`block_notice`, else None). One raw
    query: the ORM's select_related compiled ~1 ms of CPU on every submit. NotFound when the
    assignment is not the worker's, or is on a project they may no longer see. The worker's
    row is held first (hitlcrowd.locking `hold_worker`): a block being written commits
    before the probe reads it, not after the answer is paid."""
    hold_worker(worker.pk)
    found = sql.assignment_locked_row(assignment_id=assignment_id, worker_id=worker.pk)
    if found is None or not found[3][0]:  # not theirs, or a project they may not see
        raise NotFound("No such assignment among yours.")
    assignment, project, guideline, extra = found
    _, automatic, block_reason, everywhere_reason, by_owner = extra
    assignment.project = project
    assignment.guideline_version = guideline if assignment.guideline_version_id else None
    notice = block_notice_probed(
        automatic=automatic,
        reason=block_reason,
        everywhere_reason=everywhere_reason,
        by_requester=bool(by_owner),
    )
    return assignment, notice


def check_live(assignment: Assignment, verb: str) -> None:
    # Discarded: ended by a block since lifted; its slot went back as an expired one's does.
    if assignment.state in (Assignment.State.EXPIRED, Assignment.State.DISCARDED):
        raise LeaseExpired()
    if assignment.state == Assignment.State.CLOSED:
        raise TaskClosed()
    if assignment.state == Assignment.State.SKIPPED:
        raise AnswerConflict(f"You skipped this task; you cannot {verb} it now.")
    if assignment.lease_expires_at <= timezone.now():
        raise LeaseExpired()


def check_label(project: Project, label: object) -> None:
    if project.kind == Project.Kind.MTURK:
        # An MTurk answer is its form's fields; its label, the value of a categorical field
        # when the HIT type has one (apps/mturk/services/categorical.py), or none.
        if label != "" and label not in project.labels:
            raise InvalidInput.field("label", "Not one of the project's labels.")
        return
    if not isinstance(label, str) or label not in project.labels:
        raise InvalidInput.field(
            "label", f"Pick one of the project's labels: {', '.join(project.labels)}."
        )
