"""A consensus job that died (kill -9, timeout) or was lost with its cluster: the next job or
the every-5-minutes sweep takes the project over; a live run is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.tasks.jobs import aggregate_project_job, settle_consensus_job
from apps.tasks.models import AggregationRun, AggregationState, Item
from apps.tasks.services.consensus.scheduling import aggregation_enqueue, consensus_recover_due
from tests import factories
from tests.helpers.crowd import LABELS, make_items, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(project):
    project.labels, project.min_overlap, project.max_overlap = LABELS, 2, 2
    project.save()
    make_items(project, 6, lambda i: LABELS[i % 3])
    for name in ("a", "b"):
        work(factories.WorkerFactory(username=name), project, lambda item: LABELS[0])
    return project


def die_midway(project, settings, *, ago: timedelta) -> AggregationRun:
    """What a run killed after its claim leaves: the flag cleared, the claim and its
    AggregationRun row, nothing stored."""
    claimed = timezone.now() - ago
    AggregationState.objects.update_or_create(
        project=project,
        defaults={"pending": False, "requested_at": claimed, "running_since": claimed},
    )
    return AggregationRun.objects.create(project=project, method=project.aggregation_method)


def test_the_retried_job_takes_over_a_run_that_died(answered, settings):
    project = answered
    killed = die_midway(project, settings, ago=settings.Q_JOB_DEAD_AFTER + timedelta(seconds=1))

    assert aggregate_project_job(project.pk) == 1

    killed.refresh_from_db()
    assert killed.status == AggregationRun.Status.FAILED and "killed" in killed.error
    state = AggregationState.objects.get(project=project)
    assert state.running_since is None and not state.pending
    assert state.last_run.status == AggregationRun.Status.FINISHED
    assert not Item.objects.filter(project=project, aggregation_run__isnull=True).exists()


def test_a_run_that_is_still_alive_is_left_alone(answered, settings):
    project = answered
    live = die_midway(project, settings, ago=timedelta(seconds=5))
    AggregationState.objects.filter(project=project).update(pending=True)

    assert aggregate_project_job(project.pk) == 0

    live.refresh_from_db()
    assert live.status == AggregationRun.Status.RUNNING
    assert AggregationState.objects.get(project=project).pending


def test_the_sweep_queues_a_job_for_a_run_whose_job_was_lost(answered, settings, sync_q):
    """The Redis broker does not deliver a killed job again: the settle job finds it."""
    project = answered
    die_midway(project, settings, ago=settings.Q_JOB_DEAD_AFTER + timedelta(seconds=1))

    settle_consensus_job()

    state = AggregationState.objects.get(project=project)
    assert state.running_since is None
    assert state.last_run is not None and state.last_run.status == AggregationRun.Status.FINISHED


def test_the_sweep_queues_a_job_for_a_request_that_waited_too_long(answered, sync_q):
    project = answered
    AggregationState.objects.update_or_create(
        project=project,
        defaults={"pending": True, "requested_at": timezone.now() - timedelta(minutes=11)},
    )

    settle_consensus_job()

    state = AggregationState.objects.get(project=project)
    assert not state.pending and state.last_run is not None


def test_a_waiting_request_counts_as_lost_after_the_queue_timeout_not_a_fixed_time(
    answered, settings
):
    """With a 60 s queue timeout, a request waiting 2 minutes is lost (a fixed 10 minutes
    used to leave it); one waiting less than a job may live is not queued again."""
    settings.Q_JOB_DEAD_AFTER = timedelta(seconds=90)
    state, _ = AggregationState.objects.update_or_create(project=answered, defaults={})

    AggregationState.objects.filter(pk=state.pk).update(
        pending=True, running_since=None, requested_at=timezone.now() - timedelta(seconds=60)
    )
    assert consensus_recover_due() == []
    assert aggregation_enqueue(project_id=answered.pk) is False

    AggregationState.objects.filter(pk=state.pk).update(
        requested_at=timezone.now() - timedelta(minutes=2)
    )
    assert consensus_recover_due() == [answered.pk]
    assert aggregation_enqueue(project_id=answered.pk) is True
