"""Background jobs of the MTurk app: each is a few lines that call a service.

Scheduled by dotted path (django-q2); arguments are ids, never model instances.
"""

from __future__ import annotations

from apps.mturk.notices import notices_email
from apps.mturk.services.assignments import AUTO_APPROVE_BATCH, assignments_auto_approve

AUTO_APPROVE_JOB = "apps.mturk.jobs.auto_approve_job"
# Batches one run approves at most (10,000 assignments, well inside Q_TIMEOUT); the rest
# wait for the next minute's run.
AUTO_APPROVE_BATCHES = 50


def auto_approve_job() -> int:
    """Every minute (schedule created by migration mturk 0010): approve, and pay, the
    submitted assignments whose auto-approval time has passed, batch by batch. Returns how
    many were approved."""
    approved = total = assignments_auto_approve()
    batches = 1
    while approved == AUTO_APPROVE_BATCH and batches < AUTO_APPROVE_BATCHES:
        approved = assignments_auto_approve()
        total += approved
        batches += 1
    return total


def notice_email_job(notice_ids: list[int]) -> int:
    """Queued after a notice is stored (apps/mturk/notices.py): mail it to the workers with a
    verified address. Returns how many messages were sent."""
    return notices_email(notice_ids=notice_ids)
