"""Concurrent aggregation jobs for one project leave one consistent result (PostgreSQL)."""

from __future__ import annotations

import itertools
import random
import threading

import pytest
from django.db import connection

from apps.tasks.aggregation import aggregate
from apps.tasks.jobs import aggregate_project_job
from apps.tasks.models import AggregationRun, AggregationState, Answer, Item
from apps.tasks.services.consensus.scheduling import aggregation_request
from tests import factories
from tests.helpers.crowd import LABELS, make_items, work

THREADS = 4
ROUNDS = 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_never_overlap_and_agree_with_one_fresh_run(on_postgres):
    project = factories.ProjectFactory(labels=LABELS, min_overlap=3, max_overlap=3, gold_share=0)
    items = make_items(project, 40, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(5)
    for _ in range(3):
        work(
            factories.WorkerFactory(),
            project,
            lambda item: truth[item.pk] if rng.random() < 0.75 else rng.choice(LABELS),
        )
    barrier = threading.Barrier(THREADS)
    runs: list[int] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                aggregation_request(project_id=project.pk)
                runs.append(aggregate_project_job(project.pk))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    done = list(AggregationRun.objects.filter(project=project).order_by("started_at"))
    assert sum(runs) == len(done) >= 1
    assert {run.status for run in done} == {AggregationRun.Status.FINISHED}
    for earlier, later in itertools.pairwise(done):
        assert earlier.finished_at <= later.started_at  # one at a time
    state = AggregationState.objects.get(project=project)
    assert state.running_since is None and state.last_run == done[-1]
    rows = Answer.objects.filter(project=project).values_list("item_id", "worker_id", "label")
    expected = aggregate(list(rows), labels=LABELS)
    for item in Item.objects.filter(project=project):
        assert item.final_label == expected.item(item.pk).label
        assert item.posterior == pytest.approx(expected.item(item.pk).posterior, abs=2e-4)
