"""When a project's consensus runs: one request flag per project, coalesced and claimed.

`aggregation_request` marks a project as wanting a run (answer committed, worker blocked or
unblocked, admin resolution); the caller queues `apps.tasks.jobs.aggregate_project_job` only
when the flag went from clear to set, so a burst of answers queues one job. `consensus_drain`
claims the flag with a conditional UPDATE (healthchecks-style: it goes on only if exactly one
row changed and no run holds the project), runs, and loops while the flag was set again
meanwhile. Two jobs never run one project at once; a retried run changes nothing, since only
rows whose values change are written. A run whose job died (kill -9, timeout) is taken over by
the next claim once older than `hitlcrowd.jobs.job_dead_after()` (derived from the queue's
timeout, as for retrains; the ORM broker's redelivery comes after Q_RETRY, later than that),
and the every-5-minutes sweep queues a job for it, or for a request whose job never started
in that time, when none will come (the Redis broker does not deliver a killed job again).
The same sweep requests the cold runs that settle a warm-started consensus (warm.py says why).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from apps.tasks.models import AggregationRun, AggregationState, Project
from apps.tasks.services.consensus.run import consensus_run
from apps.tasks.sql import aggregation_pending_since
from hitlcrowd.jobs import job_dead_after

AGGREGATE_JOB = "apps.tasks.jobs.aggregate_project_job"
MAX_RUNS_PER_DRAIN = 20
# A project whose latest run was warm-started gets a cold run when quiet this long, or when its
# last cold run is older than SETTLE_EVERY (a cold run on 1M answers takes ~20 s of CPU).
SETTLE_QUIET = timedelta(minutes=5)
SETTLE_EVERY = timedelta(hours=1)


def aggregation_request(*, project_id: int) -> bool:
    """Mark the project as wanting a run. True when the caller should queue the job: the flag
    was clear (or stale), so no queued job will see this request otherwise."""
    now = timezone.now()
    states = AggregationState.objects.filter(project_id=project_id)
    fresh = (
        Q(pending=False) | Q(requested_at__isnull=True) | Q(requested_at__lt=now - job_dead_after())
    )
    if states.filter(fresh).update(pending=True, requested_at=now):
        return True
    if states.exists():
        return False
    try:
        with transaction.atomic():
            AggregationState.objects.create(project_id=project_id, pending=True, requested_at=now)
    except IntegrityError:
        return False  # created by a concurrent request, which queues the job
    return True


def aggregation_enqueue(*, project_id: int) -> bool:
    """Request a run and queue the job if needed. True when a job was queued."""
    # During a burst the flag is already set and fresh: one read instead of the conditional
    # UPDATE and the existence check. A run that clears the flag after this read starts after
    # our answer committed, so it reads that answer.
    # Raw and prepared (apps.tasks.sql): this runs after every submit.
    fresh = timezone.now() - job_dead_after()
    if aggregation_pending_since(project_id=project_id, fresh=fresh):
        return False
    if not aggregation_request(project_id=project_id):
        return False
    _queue_job(project_id)
    return True


def _queue_job(project_id: int) -> None:
    from django_q.tasks import async_task

    async_task(AGGREGATE_JOB, project_id, q_options={"group": f"aggregate-{project_id}"})


def consensus_drain(*, project_id: int, cold: bool = False) -> int:
    """Run while the project's flag is set and nobody else runs it. Returns the runs made.
    A project without a consensus (an MTurk one without a label set) never runs: its flag
    is cleared (a block or an unblock there requests a run like anywhere)."""
    if not Project.objects.get(pk=project_id).has_consensus:
        AggregationState.objects.filter(project_id=project_id).update(pending=False)
        return 0
    runs = 0
    while runs < MAX_RUNS_PER_DRAIN:
        claimed_at = _claim(project_id)
        if claimed_at is None:
            return runs
        mine = AggregationState.objects.filter(project_id=project_id, running_since=claimed_at)
        settle = mine.filter(settle_requested=True).update(settle_requested=False) == 1
        try:
            consensus_run(project_id=project_id, cold=settle or (cold and runs == 0))
        except Exception:
            # Keep the request for django-q2's retry (or the next answer), then fail the job.
            mine.update(running_since=None, pending=True)
            raise
        mine.update(running_since=None)
        runs += 1
    # Answers keep coming: hand over to a fresh job rather than hold this one forever. The
    # flag stays set, so the new job (or any later answer, once stale) picks it up.
    if AggregationState.objects.filter(project_id=project_id, pending=True).exists():
        _queue_job(project_id)
    return runs


def _claim(project_id: int):
    """Claim the project's run: wanted and nobody running it, or its run died (claimed longer
    ago than a job may live: job_dead_after()). A dead run's request is taken over
    even though its flag was cleared when that run claimed it: its answers were never stored."""
    now = timezone.now()
    dead = Q(running_since__lt=now - job_dead_after())
    wanted = Q(pending=True) & (Q(running_since__isnull=True) | dead)
    claimed = (
        AggregationState.objects.filter(project_id=project_id)
        .filter(wanted | dead)
        .update(pending=False, running_since=now)
    )
    if claimed != 1:
        return None
    # Holding the claim, any run still marked running was cut off (kill -9, timeout).
    cut_off = AggregationRun.objects.filter(
        project_id=project_id, status=AggregationRun.Status.RUNNING
    )
    cut_off.update(
        status=AggregationRun.Status.FAILED,
        finished_at=now,
        error="killed: its job died before the run finished; the next run took over",
    )
    return now


def consensus_recover_due(*, now: datetime | None = None) -> list[int]:
    """Queue a job for each project whose run died or whose request waited too long: their
    jobs were lost (a killed cluster on the Redis broker, which does not deliver a job again).
    Returns the projects queued. Called by the every-5-minutes settle job."""
    now = now or timezone.now()
    dead = Q(running_since__lt=now - job_dead_after())
    lost = Q(pending=True, running_since__isnull=True, requested_at__lt=now - job_dead_after())
    states = AggregationState.objects.filter(dead | lost)
    projects = list(states.values_list("project_id", flat=True))
    for project_id in projects:
        _queue_job(project_id)
    return projects


def consensus_settle_due(*, now: datetime | None = None) -> list[int]:
    """Request a cold run for each project whose consensus rests on a warm-started run and that
    is quiet (its latest run finished SETTLE_QUIET ago) or whose last cold run is older than
    SETTLE_EVERY. Returns the projects requested."""
    now = now or timezone.now()
    last_cold = AggregationRun.objects.filter(
        project=OuterRef("project"), status=AggregationRun.Status.FINISHED, warm_started=False
    ).order_by("-id")
    due = (
        AggregationState.objects.filter(last_run__warm_started=True, settle_requested=False)
        .annotate(last_cold=Subquery(last_cold.values("finished_at")[:1]))
        .filter(
            Q(last_run__finished_at__lt=now - SETTLE_QUIET)
            | Q(last_cold__isnull=True)
            | Q(last_cold__lt=now - SETTLE_EVERY)
        )
    )
    requested = []
    for project_id in due.values_list("project_id", flat=True):
        states = AggregationState.objects.filter(project_id=project_id, settle_requested=False)
        if states.update(settle_requested=True):
            aggregation_enqueue(project_id=project_id)
            requested.append(project_id)
    return requested
