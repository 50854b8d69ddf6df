"""externalSubmit: the requester's question page posts the worker's answer here, as it posted
to https://www.mturk.com/mturk/externalSubmit. The AssignmentId of a live lease is what lets
the post in (apps.mturk.assignment_ids), not the worker's session: the post comes from the
requester's page (another site, or the sandboxed HTMLQuestion frame), so a SameSite session
cookie does not come with it. When one does come, it must be the lease's worker's.

The answer goes through the one submit path (apps.tasks.services.assignments.submit), which
records our Answer (no label unless the HIT type has a categorical field, no credit: MTurk's
reward is paid on approval) and, in the same
transaction, the MturkAssignment with the QuestionFormAnswers XML the requester gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from apps.mturk.answers import posted_value, question_form_answers
from apps.mturk.assignment_ids import assignment_id_of, assignment_pk_of
from apps.mturk.models import MturkAssignment, MturkHIT
from apps.mturk.services.categorical import label_of
from apps.tasks.errors import AnswerConflict
from apps.tasks.models import Answer, Assignment, Project
from apps.tasks.services.assignments.submit import MAX_SECONDS_SPENT, assignment_submit
from apps.workers.models import User
from hitlcrowd.errors import NotFound

UNKNOWN = "This assignment is not one of this site's, or not yours: nothing was submitted."


@dataclass(frozen=True)
class ExternalSubmission:
    assignment: MturkAssignment
    project_id: int
    replayed: bool  # the same answer posted again: nothing new was recorded


def external_submit(
    *, assignment_id: str, fields: list[tuple[str, str]], visitor: User | None = None
) -> ExternalSubmission:
    """Submit the lease `assignment_id` names with the posted `fields`. NotFound when the id
    names no lease of ours on an MTurk project, or `visitor` (the session's worker, when a
    cookie came) is not its worker; the submit's refusals otherwise (LeaseExpired,
    TaskClosed, NotQualified, AnswerConflict for a skipped lease or another answer to a
    submitted one). The same answer posted again changes nothing (`replayed`)."""
    lease = _lease(assignment_id)
    if lease is None or (visitor is not None and visitor.pk != lease.worker_id):
        raise NotFound(UNKNOWN)
    xml = question_form_answers(fields)
    seconds = min(MAX_SECONDS_SPENT, (timezone.now() - lease.leased_at).total_seconds())

    recorded: list[MturkAssignment] = []

    def record(answer: Answer) -> None:
        recorded.append(_record(lease, answer, xml))

    answer = assignment_submit(
        worker=lease.worker,
        assignment_id=lease.pk,
        label=_label(lease.project, fields),
        seconds_spent=max(0.0, seconds),
        on_answer=record,
    )
    if not answer.replayed:
        return ExternalSubmission(recorded[0], lease.project_id, replayed=False)
    mturk = MturkAssignment.objects.get(task_assignment_id=lease.pk)
    if mturk.answer != xml:
        raise AnswerConflict(
            "This assignment was already submitted with other answers; they cannot be changed."
        )
    return ExternalSubmission(mturk, lease.project_id, replayed=True)


def _lease(assignment_id: str) -> Assignment | None:
    pk = assignment_pk_of(assignment_id)
    if pk is None:
        return None
    return (
        Assignment.objects.select_related("worker", "project__mturk_hit_type")
        .filter(pk=pk, project__kind=Project.Kind.MTURK)
        .only(
            "id",
            "hit_id",
            "leased_at",
            "worker",
            "project__labels",
            "project__mturk_hit_type__label_field",
        )
        .first()
    )


def _label(project: Project, fields: list[tuple[str, str]]) -> str:
    """The answer's label when the HIT type has a categorical field (services/categorical.py),
    else none."""
    field = project.mturk_hit_type.label_field
    return label_of(posted_value(fields, field), project.labels) if field else ""


def _record(lease: Assignment, answer: Answer, xml: str) -> MturkAssignment:
    hit = (
        MturkHIT.objects.select_related("hit_type")
        .only("id", "hit_type__auto_approval_delay_seconds")
        .get(task_hit_id=lease.hit_id)
    )
    now = answer.created_at
    return MturkAssignment.objects.create(
        assignment_id=assignment_id_of(lease.pk),
        task_assignment_id=lease.pk,
        mturk_hit=hit,
        status=MturkAssignment.Status.SUBMITTED,
        answer=xml,
        submitted_at=now,
        auto_approval_at=now + timedelta(seconds=hit.hit_type.auto_approval_delay_seconds),
    )
