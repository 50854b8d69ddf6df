"""Settling: a project whose consensus rests on a warm-started run gets a cold run once quiet
(or once its last cold run is old), so at rest its labels do not depend on the answer order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from apps.tasks.aggregation import aggregate
from apps.tasks.jobs import SETTLE_CONSENSUS_JOB
from apps.tasks.models import AggregationRun, AggregationState, Item
from apps.tasks.services.consensus import warm
from apps.tasks.services.consensus.reading import project_answers
from apps.tasks.services.consensus.run import consensus_run
from apps.tasks.services.consensus.scheduling import (
    SETTLE_EVERY,
    SETTLE_QUIET,
    aggregation_request,
    consensus_drain,
    consensus_settle_due,
)

SECOND = timedelta(seconds=1)


@pytest.fixture
def warm_project(run_once, monkeypatch):
    """The `run_once` project (one cold run done), then a warm-started run on top of it, made
    as the answers' hook makes it: requested, then drained."""
    monkeypatch.setattr(warm, "WARM_MIN_ANSWERS", 0)
    aggregation_request(project_id=run_once.pk)
    assert consensus_drain(project_id=run_once.pk) == 1
    assert latest_run(run_once).warm_started
    return run_once


def latest_run(project) -> AggregationRun:
    return AggregationRun.objects.filter(project=project).latest("id")


def test_a_run_records_whether_it_started_warm(run_once, monkeypatch):
    assert latest_run(run_once).warm_started is False  # the first run has nothing to start from
    monkeypatch.setattr(warm, "WARM_MIN_ANSWERS", 0)
    assert consensus_run(project_id=run_once.pk).warm_started is True
    assert consensus_run(project_id=run_once.pk, cold=True).warm_started is False


def test_a_quiet_project_resting_on_a_warm_run_is_settled_cold(warm_project, sync_q):
    later = timezone.now() + SETTLE_QUIET + SECOND
    assert consensus_settle_due(now=later) == [warm_project.pk]
    settled = latest_run(warm_project)
    assert settled.status == AggregationRun.Status.FINISHED
    assert settled.warm_started is False
    state = AggregationState.objects.get(project=warm_project)
    assert state.last_run_id == settled.pk
    assert not state.settle_requested and not state.pending
    assert consensus_settle_due(now=later) == []  # settled: nothing left to do


def test_the_settled_labels_are_those_of_a_cold_aggregation(warm_project, sync_q):
    consensus_settle_due(now=timezone.now() + SETTLE_QUIET + SECOND)
    answers = project_answers(project=warm_project)
    cold = aggregate(answers.frame(), labels=warm_project.labels).consensus()
    stored = dict(Item.objects.filter(project=warm_project).values_list("pk", "final_label"))
    assert {pk: stored[pk] for pk in cold} == cold


def test_a_project_that_just_ran_is_not_settled_yet(warm_project, sync_q):
    assert consensus_settle_due(now=timezone.now()) == []
    assert latest_run(warm_project).warm_started is True


def test_a_busy_project_is_settled_when_its_last_cold_run_is_old(warm_project, sync_q):
    now = timezone.now()
    AggregationRun.objects.filter(project=warm_project, warm_started=False).update(
        finished_at=now - SETTLE_EVERY - SECOND
    )
    assert consensus_settle_due(now=now) == [warm_project.pk]  # its last run is recent
    assert latest_run(warm_project).warm_started is False


def test_a_project_resting_on_a_cold_run_is_left_alone(run_once, sync_q):
    aggregation_request(project_id=run_once.pk)
    consensus_drain(project_id=run_once.pk)  # cold: fewer than WARM_MIN_ANSWERS answers
    runs = AggregationRun.objects.filter(project=run_once).count()
    assert consensus_settle_due(now=timezone.now() + SETTLE_EVERY + SECOND) == []
    assert AggregationRun.objects.filter(project=run_once).count() == runs


def test_a_requested_settle_makes_the_next_drain_start_cold(warm_project):
    """Without an inline job: the request waits in the state row until a drain claims it."""
    consensus_settle_due(now=timezone.now() + SETTLE_QUIET + SECOND)
    assert AggregationState.objects.get(project=warm_project).settle_requested
    assert consensus_drain(project_id=warm_project.pk) == 1
    assert latest_run(warm_project).warm_started is False
    assert not AggregationState.objects.get(project=warm_project).settle_requested


def test_a_schedule_runs_the_settle_job_every_five_minutes(db):
    schedule = Schedule.objects.get(func=SETTLE_CONSENSUS_JOB)
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 5, -1)
