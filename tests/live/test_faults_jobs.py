"""kill -9 of the qcluster in the middle of a job: the job is delivered again, nothing is left
half-done or stuck, and the previous model stays active.

The cluster runs with a short timeout and retry (Q_TIMEOUT, Q_RETRY) so the ORM broker's
redelivery comes within seconds; each test is bounded well under a minute.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from _server import kill, start_qcluster
from django.utils import timezone

from apps.models.models import LearningSettings, ModelVersion, TrainingRun
from apps.models.services.training import model_retrain, retrain_enqueue
from apps.tasks.models import HIT, AggregationRun, Answer, Assignment, Item
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from tests import factories

LABELS = ["cat", "dog", "bird"]
# The queue kills a job after Q_TIMEOUT and delivers an unacknowledged one again after Q_RETRY.
Q_ENV = {"Q_TIMEOUT": "5", "Q_RETRY": "9", "Q_WORKERS": "1", "LOG_LEVEL": "INFO"}


@pytest.fixture
def cluster_env(live_dsn, settings, tmp_path) -> dict[str, str]:
    import os

    settings.DATA_DIR = tmp_path  # model artifacts: this process and the cluster share them
    return {
        **os.environ,
        **Q_ENV,
        "DATABASE_URL": live_dsn,
        "SECRET_KEY": settings.SECRET_KEY,  # jobs are signed with it
        "DEBUG": "false",
        "HITLCROWD_DATA_DIR": str(tmp_path),
        "REDIS_URL": "",
    }


@pytest.fixture
def clusters(cluster_env) -> Iterator[Callable[[], object]]:
    started = []

    def start():
        started.append(start_qcluster(cluster_env, quiet=False))
        return started[-1]

    yield start
    for process in started:
        kill(process)


def wait_for(condition: Callable[[], bool], seconds: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def exists(dsn: str, sql: str, *params) -> Callable[[], bool]:
    """A fresh connection per poll: this test's own connection may sit in a transaction."""

    def check() -> bool:
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(sql, params).fetchone() is not None

    return check


def answered_project(items: int, workers: int) -> tuple[factories.ProjectFactory, int]:
    """A project whose items each hold `workers` answers: a consensus run takes a while."""
    project = factories.ProjectFactory(labels=LABELS, min_overlap=workers, max_overlap=workers)
    rng = random.Random(3)
    made = Item.objects.bulk_create(
        Item(project=project, external_id=f"k{n}", payload={"text": f"item {n}"})
        for n in range(items)
    )
    hits = HIT.objects.bulk_create(
        HIT(item=item, project=project, answers_wanted=workers, slots_taken=workers)
        for item in made
    )
    now = timezone.now()
    people = [factories.WorkerFactory(username=f"k-worker{w}") for w in range(workers)]
    assignments = Assignment.objects.bulk_create(
        Assignment(
            hit=hit,
            project=project,
            worker=person,
            state=Assignment.State.SUBMITTED,
            lease_expires_at=now,
            finished_at=now,
        )
        for hit in hits
        for person in people
    )
    Answer.objects.bulk_create(
        Answer(
            assignment=assignment,
            item_id=assignment.hit.item_id,
            project=project,
            worker=assignment.worker,
            label=LABELS[assignment.hit.item_id % 3] if rng.random() < 0.8 else "cat",
            seconds_spent=2.0,
        )
        for assignment in assignments
    )
    return project, items * workers


@pytest.mark.postgres
def test_a_consensus_run_killed_midway_is_run_again_and_nothing_stays_running(live_dsn, clusters):
    project, answers = answered_project(items=4000, workers=3)
    aggregation_enqueue(project_id=project.pk)
    first = clusters()
    running = "SELECT 1 FROM tasks_aggregationrun WHERE project_id = %s AND status = 'running'"
    assert wait_for(exists(live_dsn, running, project.pk), 30), "no run started"
    kill(first)
    killed = AggregationRun.objects.get(project=project)
    assert killed.status == AggregationRun.Status.RUNNING  # killed in the middle
    assert not Item.objects.filter(project=project, aggregation_run__isnull=False).exists()

    clusters()
    finished = (
        "SELECT 1 FROM tasks_aggregationrun WHERE project_id = %s AND status = 'finished' "
        "AND answers = %s"
    )
    assert wait_for(exists(live_dsn, finished, project.pk, answers), 40, step=0.2)

    idle = (
        "SELECT 1 FROM tasks_aggregationstate WHERE project_id = %s AND NOT pending "
        "AND running_since IS NULL"
    )
    assert wait_for(exists(live_dsn, idle, project.pk), 5), "the run's claim was not released"
    killed.refresh_from_db()
    assert killed.status == AggregationRun.Status.FAILED
    assert "killed" in killed.error
    assert not Item.objects.filter(project=project, aggregation_run__isnull=True).exists()


@pytest.mark.postgres
def test_a_retrain_killed_midway_is_retried_and_the_active_model_stays_until_then(
    live_dsn, clusters
):
    project = factories.ProjectFactory(labels=["cat", "dog"], gold_share=0)
    LearningSettings.objects.create(project=project, suspected_error_threshold=1.0)
    words = {"cat": "meow purr whiskers", "dog": "woof bark fetch"}
    labels = ["cat" if n % 2 else "dog" for n in range(3000)]
    Item.objects.bulk_create(
        Item(
            project=project,
            external_id=f"t{n}",
            payload={"text": f"{words[label]} {n % 97} {n % 13}"},
            state=Item.State.CONSENSUS,
            is_gold=True,
            gold_label=label,
        )
        for n, label in enumerate(labels)
    )
    assert model_retrain(project_id=project.pk, trigger="manual").status == "promoted"
    active = ModelVersion.objects.get(project=project, is_active=True)

    retrain_enqueue(project_id=project.pk, trigger="manual")
    first = clusters()
    running = "SELECT 1 FROM mlmodels_trainingrun WHERE project_id = %s AND status = 'running'"
    assert wait_for(exists(live_dsn, running, project.pk), 30), "no retrain started"
    kill(first)
    killed = TrainingRun.objects.get(project=project, status=TrainingRun.Status.RUNNING)
    assert ModelVersion.objects.get(project=project, is_active=True) == active

    clusters()
    done = (
        "SELECT 1 FROM mlmodels_trainingrun WHERE project_id = %s AND id > %s "
        "AND status IN ('promoted', 'kept_old')"
    )
    assert wait_for(exists(live_dsn, done, project.pk, killed.pk), 45, step=0.2)

    killed.refresh_from_db()
    assert killed.status == TrainingRun.Status.FAILED
    assert not TrainingRun.objects.filter(project=project, status="running").exists()
    assert ModelVersion.objects.filter(project=project, is_active=True).count() == 1
