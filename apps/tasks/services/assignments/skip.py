"""Skip: the worker gives the slot back and is never offered that HIT again."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.tasks.errors import AnswerConflict
from apps.tasks.models import Assignment
from apps.tasks.services.assignments.leases import (
    assignment_load,
    check_live,
    lock_own,
    refuse_blocked,
)
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.rawrows import update_row

MAX_REASON_LENGTH = 500


def assignment_skip(*, worker: User, assignment_id: int, reason: str = "") -> Assignment:
    """Give the slot back; this worker is never offered the HIT again. Skipping twice is a
    no-op; skipping a submitted assignment is AnswerConflict (409)."""
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput.field(
            "reason", f"Give a reason of at most {MAX_REASON_LENGTH} characters."
        )
    with transaction.atomic():
        assignment, notice = lock_own(worker, assignment_id)
        if notice is None:
            _skip_locked(assignment, reason)
    if notice is not None:
        refuse_blocked(worker, assignment, notice)
    return assignment_load(assignment.pk)


def _skip_locked(assignment: Assignment, reason: str) -> None:
    if assignment.state == Assignment.State.SKIPPED:
        return
    if assignment.state == Assignment.State.SUBMITTED:
        raise AnswerConflict("This task was already answered; it cannot be skipped.")
    check_live(assignment, "skip")
    assignment.state = Assignment.State.SKIPPED
    assignment.finished_at = timezone.now()
    assignment.skip_reason = reason.strip()
    update_row(assignment, "state", "finished_at", "skip_reason")
    hit_slots_recount(hit_ids=[assignment.hit_id])
