"""Assignments: ApproveAssignment and RejectAssignment, and the automatic approval.

An MTurk project's answer is not paid at submit (apps/tasks/services/assignments/submit.py):
its reward is credited in the ledger when the assignment is approved, by the requester or
automatically once its auto_approval_at passed, through the ledger's one credit per answer
(ledger_credit_answer: a second credit of the same answer fails, so nothing pays twice). A
rejection pays nothing; approving it afterwards (OverrideRejection) credits it then. Until it
is reviewed the reward is on hold in the requester's balance (requester_balance).

Each decision locks the assignment's row first, so a requester's approve, their reject and the
automatic approval of the same assignment take turns: the second finds it decided. The lock is
FOR NO KEY UPDATE: rows that only point at the assignment (a SendBonus's MturkBonus) take KEY
SHARE on it and pass, so an overridden rejection (assignment, then the requester's row in
funds_check) and a bonus (requester, then its row pointing at the assignment) cannot deadlock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.mturk.errors import AssignmentStateInvalid
from apps.mturk.models import MturkAssignment
from apps.tasks.models import Answer
from apps.tasks.services.audit import audit_record
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from apps.workers.ledger import funds_check, ledger_credit_answer
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, NotFound

# MTurk's limits: RequesterFeedback at most 1,024 characters; a rejection may be overridden
# while the assignment was submitted within the last 30 days.
FEEDBACK_MAX = 1024
OVERRIDE_WINDOW = timedelta(days=30)
# The automatic approval's batch: one transaction approves at most this many.
AUTO_APPROVE_BATCH = 200

ONLY_SUBMITTED = "This operation can be called with a status of: Submitted."


@transaction.atomic
def assignment_approve(
    *,
    requester: User,
    assignment_id: str,
    feedback: str = "",
    override_rejection: bool = False,
) -> MturkAssignment:
    """Approve one of the requester's submitted assignments and credit its reward. A rejected
    one only with `override_rejection`, submitted within OVERRIDE_WINDOW, on a HIT not
    deleted (MTurk's rule), and when the available balance covers it; an approved one is
    AssignmentStateInvalid, as on MTurk."""
    feedback = _feedback(feedback)
    row = _locked(requester, assignment_id)
    now = timezone.now()
    status = MturkAssignment.Status
    overridden = row.status == status.REJECTED
    if overridden:
        _check_override(row, requester, override_rejection, now)
    elif row.status != status.SUBMITTED:
        raise AssignmentStateInvalid(f"{ONLY_SUBMITTED} Assignment {assignment_id} is approved.")
    answer = Answer.objects.get(assignment_id=row.task_assignment_id)
    _approve(row, answer, feedback=feedback, by=requester, now=now)
    if overridden:
        _consensus_again(row)
    return row


def _check_override(
    row: MturkAssignment, requester: User, override_rejection: bool, now: datetime
) -> None:
    if not override_rejection:
        raise AssignmentStateInvalid(
            f"Assignment {row.assignment_id} was rejected: set OverrideRejection to approve it."
        )
    if row.submitted_at < now - OVERRIDE_WINDOW:
        raise AssignmentStateInvalid(
            f"Assignment {row.assignment_id} was submitted more than 30 days ago: its "
            "rejection can no longer be overridden."
        )
    if row.mturk_hit.disposed_at is not None:
        raise AssignmentStateInvalid(
            f"The HIT of assignment {row.assignment_id} was deleted: its rejection can no "
            "longer be overridden."
        )
    # A rejected reward left the holds: paying it now spends the available balance.
    funds_check(requester=requester, amount=row.mturk_hit.hit_type.project.reward_per_answer)


@transaction.atomic
def assignment_reject(*, requester: User, assignment_id: str, feedback: str) -> MturkAssignment:
    """Reject one of the requester's submitted assignments: nothing is paid. Feedback is
    required (the worker reads it). Only a submitted assignment whose auto-approval time has
    not passed: after it the assignment counts as approved, as on MTurk."""
    feedback = _feedback(feedback, required=True)
    row = _locked(requester, assignment_id)
    now = timezone.now()
    if row.status != MturkAssignment.Status.SUBMITTED:
        raise AssignmentStateInvalid(
            f"{ONLY_SUBMITTED} Assignment {assignment_id} is {row.status.lower()}."
        )
    if row.auto_approval_at <= now:
        raise AssignmentStateInvalid(
            f"Assignment {assignment_id} was approved automatically at "
            f"{row.auto_approval_at.isoformat()}: it can no longer be rejected."
        )
    row.status, row.rejected_at, row.requester_feedback = row.Status.REJECTED, now, feedback
    row.save(update_fields=["status", "rejected_at", "requester_feedback"])
    _audit(row, requester, "assignment_reject", {"feedback": feedback})
    _consensus_again(row)
    return row


def _consensus_again(row: MturkAssignment) -> None:
    """A rejected answer leaves a categorical field's consensus, an overridden rejection
    comes back into it (apps/tasks/services/consensus/reading.py): run it again."""
    project = row.mturk_hit.hit_type.project
    if project.has_consensus:
        transaction.on_commit(lambda: aggregation_enqueue(project_id=project.pk))


def assignments_auto_approve(*, now: datetime | None = None) -> int:
    """Approve (and credit) at most AUTO_APPROVE_BATCH submitted assignments whose
    auto-approval time has passed, oldest first, in one transaction; rows another transaction
    holds (a requester deciding them now) are skipped, not waited for. Returns how many were
    approved: the caller runs it again while a full batch came back. Idempotent: an approved
    assignment is no longer due."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            MturkAssignment.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
            .select_related("mturk_hit__hit_type__project", "task_assignment")
            .filter(status=MturkAssignment.Status.SUBMITTED, auto_approval_at__lte=now)
            .order_by("auto_approval_at", "id")[:AUTO_APPROVE_BATCH]
        )
        answers = Answer.objects.in_bulk(
            [row.task_assignment_id for row in due], field_name="assignment_id"
        )
        for row in due:
            _approve(row, answers[row.task_assignment_id], feedback=None, by=None, now=now)
    return len(due)


def _approve(
    row: MturkAssignment,
    answer: Answer,
    *,
    feedback: str | None,
    by: User | None,
    now: datetime,
) -> None:
    """Credit the reward for the assignment's answer and record the approval (`by` None: the
    automatic one, which leaves the feedback as it was)."""
    project = row.mturk_hit.hit_type.project
    entry = ledger_credit_answer(answer=answer, project=project)
    overridden = row.status == MturkAssignment.Status.REJECTED
    row.status, row.approved_at = MturkAssignment.Status.APPROVED, now
    fields = ["status", "approved_at"]
    if feedback is not None:
        row.requester_feedback = feedback
        fields.append("requester_feedback")
    row.save(update_fields=fields)
    changes = {"amount": str(entry.amount), "override_rejection": overridden}
    if by is None:
        changes["automatic"] = True
    elif feedback:
        changes["feedback"] = feedback
    _audit(row, by, "assignment_approve", changes)


def _locked(requester: User, assignment_id: str) -> MturkAssignment:
    """The requester's assignment, its row locked; another requester's is NotFound, exactly
    as one that does not exist."""
    row = (
        MturkAssignment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("mturk_hit__hit_type__project", "task_assignment")
        .filter(assignment_id=assignment_id, mturk_hit__requester=requester)
        .first()
    )
    if row is None:
        raise NotFound(f"Assignment {assignment_id} does not exist.")
    return row


def _feedback(feedback: object, *, required: bool = False) -> str:
    if not isinstance(feedback, str) or len(feedback) > FEEDBACK_MAX:
        raise InvalidInput.field("RequesterFeedback", f"At most {FEEDBACK_MAX} characters.")
    if required and not feedback.strip():
        raise InvalidInput.field("RequesterFeedback", "Say why: the worker reads it.")
    return feedback


def _audit(row: MturkAssignment, by: User | None, action: str, changes: dict) -> None:
    worker_id = row.task_assignment.worker_id
    changes = {"assignment": row.assignment_id, "worker": worker_id} | changes
    project_id = row.mturk_hit.hit_type.project_id
    audit_record(project_id=project_id, actor=by, action=action, obj=row, changes=changes)
