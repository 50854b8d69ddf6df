"""A re-scoring job that died (kill -9, timeout, an error on the Redis broker, which does not
deliver it again) does not leave its RescoreRun running for ever: past Q_JOB_DEAD_AFTER the
every-5-minutes settle job marks it failed and queues a job that resumes it; a live run is
left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.models.jobs import rescore_job
from apps.models.models import RescoreRun
from apps.models.services.scoring import rescore_start
from apps.models.services.training import model_retrain
from apps.tasks.jobs import settle_consensus_job
from apps.tasks.models import Item
from tests.helpers.pets import labeled, waiting

pytestmark = pytest.mark.django_db

UNSURE = "meow purr woof bark"


@pytest.fixture
def started(pets, worker):
    """A rescore run a job claimed (it scored nothing yet); its queued job is not run."""
    labeled(pets, 100, worker)
    version = model_retrain(project_id=pets.pk).model_version
    waiting(pets, [f"{UNSURE} {i}" for i in range(3)])
    run = rescore_start(model_version_id=version.pk)
    RescoreRun.objects.filter(pk=run.pk).update(claimed_at=timezone.now(), attempts=1)
    return run


def claimed_ago(run: RescoreRun, ago: timedelta, attempts: int = 1) -> None:
    RescoreRun.objects.filter(pk=run.pk).update(
        claimed_at=timezone.now() - ago, attempts=attempts, error="DeadlockDetected: ..."
    )


def test_the_sweep_fails_a_run_whose_job_died_and_a_new_job_finishes_it(started, settings, sync_q):
    claimed_ago(started, settings.Q_JOB_DEAD_AFTER + timedelta(seconds=1))

    assert settle_consensus_job() == 1

    started.refresh_from_db()
    assert started.status == RescoreRun.Status.FINISHED
    assert (started.done, started.total, started.attempts) == (3, 3, 2)
    scored = Item.objects.filter(project=started.project, external_id__startswith="w")
    assert all(item.model_version for item in scored)


def test_a_run_that_is_still_alive_is_left_alone(started, settings, sync_q):
    claimed_ago(started, timedelta(seconds=5))

    assert settle_consensus_job() == 0
    rescore_job(started.model_version_id)  # a second delivery of its job

    started.refresh_from_db()
    assert started.status == RescoreRun.Status.RUNNING
    assert (started.done, started.attempts) == (0, 1)


def test_a_run_out_of_attempts_stays_failed(started, settings, sync_q):
    claimed_ago(started, settings.Q_JOB_DEAD_AFTER + timedelta(seconds=1), attempts=3)

    assert settle_consensus_job() == 0
    rescore_job(started.model_version_id)

    started.refresh_from_db()
    assert started.status == RescoreRun.Status.FAILED and "killed" in started.error
    assert started.done == 0


def test_a_redelivered_job_resumes_a_run_whose_job_raised(started, settings):
    """The ORM broker delivers a failed job again after Q_RETRY (> Q_JOB_DEAD_AFTER)."""
    claimed_ago(started, settings.Q_JOB_DEAD_AFTER + timedelta(seconds=1))

    rescore_job(started.model_version_id)

    started.refresh_from_db()
    assert started.status == RescoreRun.Status.FINISHED and started.done == 3
