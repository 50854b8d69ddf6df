"""Near the budget, concurrent claims take turns: they never lease more than it can pay."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.tasks.models import Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.ledger import BudgetSpent
from tests.factories import HITFactory, ProjectFactory, RequesterFactory, WorkerFactory

WORKERS = 8


def _claim(worker, project, outcomes: list, start: threading.Barrier) -> None:
    try:
        start.wait(timeout=30)
        outcomes.append(assignment_claim(worker=worker, project=project) is not None)
    except BudgetSpent:
        outcomes.append("spent")
    except Exception as exc:  # reported by the main thread
        outcomes.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_lease_past_the_budget(on_postgres):
    project = ProjectFactory(
        owner=RequesterFactory(),
        gold_share=0,
        reward_per_answer=Decimal("1"),
        budget=Decimal("3"),
    )
    HITFactory.create_batch(10, item__project=project, answers_wanted=3)
    workers = WorkerFactory.create_batch(WORKERS)
    outcomes: list = []
    start = threading.Barrier(WORKERS)
    threads = [threading.Thread(target=_claim, args=(w, project, outcomes, start)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(map(str, outcomes)) == ["True"] * 3 + ["spent"] * (WORKERS - 3)
    assert Assignment.objects.filter(project=project, state="leased").count() == 3
