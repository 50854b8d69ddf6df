"""What the job queue's settings mean for the claims jobs hold on their work.

A consensus run, a retrain and a re-scoring each claim their project (or version) in a row, so
that two jobs never do the same work at once. django-q2 kills a job at Q_TIMEOUT, and the ORM
broker delivers an unacknowledged one again after Q_RETRY: a claim older than the first must
count as dead before the second comes, or the redelivered job finds its own dead claim and
does nothing (a fixed 15 minutes did exactly that, commit 627f32c).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def job_dead_after() -> timedelta:
    """How long after its claim a job's run counts as dead, and a request still waiting for
    its job as lost: Q_TIMEOUT + min(30 s, half the gap to Q_RETRY) (settings.Q_JOB_DEAD_AFTER),
    read at each call so that a test's settings apply."""
    return settings.Q_JOB_DEAD_AFTER
