"""The automatic approval: every minute a django-q2 schedule approves, and pays, the submitted
assignments whose auto-approval time has passed, in bounded batches, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from apps.mturk import jobs
from apps.mturk.errors import AssignmentStateInvalid
from apps.mturk.models import MturkAssignment
from apps.mturk.requirements import approval_rate
from apps.mturk.selectors import worker_review_counts
from apps.mturk.services import assignments as assignment_services
from apps.tasks.models import AuditEvent
from apps.workers.models import LedgerEntry
from apps.workers.selectors import requester_balance
from tests import factories

pytestmark = pytest.mark.django_db

REWARD = Decimal("0.25")


@pytest.fixture
def mturk_hit(requester):
    return factories.MturkHITFactory(
        hit_type__requester=requester, hit_type__reward=REWARD, task_hit__answers_wanted=10
    )


def submitted(mturk_hit, *, due: bool, **values) -> MturkAssignment:
    when = timezone.now() + (timedelta(seconds=-1) if due else timedelta(hours=1))
    return factories.MturkAssignmentFactory(mturk_hit=mturk_hit, auto_approval_at=when, **values)


def credited() -> set[int]:
    rows = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CREDIT)
    return set(rows.values_list("answer__assignment_id", flat=True))


def test_due_assignments_are_approved_and_paid_once(mturk_hit, requester):
    due = [submitted(mturk_hit, due=True) for _ in range(2)]
    waiting = submitted(mturk_hit, due=False)
    rejected = submitted(
        mturk_hit, due=True, status=MturkAssignment.Status.REJECTED, rejected_at=timezone.now()
    )
    # Three await review; the HIT's six open slots are on hold too.
    assert requester_balance(requester=requester).on_hold == 3 * REWARD + 6 * REWARD

    assert jobs.auto_approve_job() == 2

    statuses = dict(MturkAssignment.objects.values_list("pk", "status"))
    assert [statuses[row.pk] for row in due] == ["Approved", "Approved"]
    assert (statuses[waiting.pk], statuses[rejected.pk]) == ("Submitted", "Rejected")
    assert credited() == {row.task_assignment_id for row in due}
    balance = requester_balance(requester=requester)
    assert (balance.spent, balance.on_hold) == (2 * REWARD, REWARD + 6 * REWARD)
    approved = MturkAssignment.objects.get(pk=due[0].pk)
    assert approved.approved_at is not None and approved.requester_feedback == ""
    events = AuditEvent.objects.filter(action=AuditEvent.Action.ASSIGNMENT_APPROVE)
    assert events.count() == 2
    assert {(e.actor_id, e.changes["automatic"]) for e in events} == {(None, True)}

    assert jobs.auto_approve_job() == 0  # nothing due any more: nothing paid twice
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CREDIT).count() == 2


def test_the_job_works_in_bounded_batches(mturk_hit, monkeypatch):
    monkeypatch.setattr(assignment_services, "AUTO_APPROVE_BATCH", 2)
    monkeypatch.setattr(jobs, "AUTO_APPROVE_BATCH", 2)
    monkeypatch.setattr(jobs, "AUTO_APPROVE_BATCHES", 2)
    rows = [submitted(mturk_hit, due=True) for _ in range(7)]

    assert assignment_services.assignments_auto_approve() == 2
    assert jobs.auto_approve_job() == 4  # two batches of two, the job's bound
    assert jobs.auto_approve_job() == 1

    assert credited() == {row.task_assignment_id for row in rows}


def test_a_requester_cannot_reject_what_the_job_approved(mturk_hit, requester):
    row = submitted(mturk_hit, due=True)
    jobs.auto_approve_job()

    with pytest.raises(AssignmentStateInvalid):
        assignment_services.assignment_reject(
            requester=requester, assignment_id=row.assignment_id, feedback="Too late."
        )
    assert credited() == {row.task_assignment_id}


def test_a_schedule_runs_the_auto_approval_every_minute():
    schedule = Schedule.objects.get(func=jobs.AUTO_APPROVE_JOB)
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)


def test_a_workers_review_counts_span_every_requester(mturk_hit, worker, requester):
    other_hit = factories.MturkHITFactory(hit_type__requester__username="them")
    for hit, status in (
        (mturk_hit, MturkAssignment.Status.APPROVED),
        (other_hit, MturkAssignment.Status.APPROVED),
        (factories.MturkHITFactory(hit_type=mturk_hit.hit_type), MturkAssignment.Status.REJECTED),
        (factories.MturkHITFactory(hit_type=mturk_hit.hit_type), MturkAssignment.Status.SUBMITTED),
    ):
        submitted(hit, due=False, status=status, task_assignment__worker=worker)
    submitted(mturk_hit, due=False, status=MturkAssignment.Status.APPROVED)  # someone else's

    approved, rejected = worker_review_counts(worker_id=worker.pk)

    assert (approved, rejected) == (2, 1)
    assert approval_rate(approved, rejected) == 66
