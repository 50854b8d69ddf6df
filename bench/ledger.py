"""Rewards ledger, budget check and admin overview at 200k ledger entries (PostgreSQL).

Runs under pytest, which builds a throwaway schema (no migrations needed) and drops it:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<yourdb> SECRET_KEY=x \\
        .venv/bin/pytest -q -s --nomigrations -p no:logging bench/ledger.py

A benchmark, not a test: it prints figures (lines starting with BENCH) and asserts nothing
about time. LEDGER_BENCH_N sets the number of answers (default 200,000).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.tasks.models import HIT, Answer, Assignment, Item
from apps.tasks.selectors.overview import project_overview
from apps.workers.ledger import budget_check, ledger_checkpoint_advance
from apps.workers.models import LedgerEntry
from apps.workers.selectors import project_spend, project_spend_per_worker, worker_earnings
from tests import factories

N = int(os.environ.get("LEDGER_BENCH_N", "200000"))
WORKERS = 200
BATCH = 5000


def timed(label: str, fn: Callable[[], object], reps: int = 20) -> None:
    fn()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    print(f"BENCH {label}: {(time.perf_counter() - start) / reps * 1000:.2f} ms")


def load(project, workers) -> list[Answer]:
    now = timezone.now()
    items = Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id=f"e{i}",
                payload={},
                state="consensus",
                final_label="cat",
                label_source="crowd",
            )
            for i in range(N // 2)
        ],
        batch_size=BATCH,
    )
    hits = HIT.objects.bulk_create(
        [
            HIT(item=it, project=project, answers_wanted=2, state="done", slots_taken=2)
            for it in items
        ],
        batch_size=BATCH,
    )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                hit=hit,
                project=project,
                worker=workers[(k * 2 + j) % WORKERS],
                state="submitted",
                lease_expires_at=now,
            )
            for k, hit in enumerate(hits)
            for j in range(2)
        ],
        batch_size=BATCH,
    )
    answers = Answer.objects.bulk_create(
        [
            Answer(
                assignment=a,
                item_id=a.hit.item_id,
                project=project,
                worker=a.worker,
                label="cat",
                seconds_spent=1,
            )
            for a in assignments
        ],
        batch_size=BATCH,
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                worker_id=a.worker_id,
                project=project,
                kind="credit",
                amount=project.reward_per_answer,
                answer=a,
            )
            for a in answers
        ],
        batch_size=BATCH,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return answers


def test_ledger_bench(db) -> None:
    project = factories.ProjectFactory(reward_per_answer=Decimal("0.05"), budget=Decimal("1000000"))
    workers = [factories.WorkerFactory(username=f"bw{i}") for i in range(WORKERS)]
    answers = load(project, workers)
    print(f"BENCH rows: {LedgerEntry.objects.count()} ledger entries, {len(answers)} answers")
    timed("project_spend (full aggregate)", lambda: project_spend(project=project))
    timed("budget_check, no checkpoint yet", lambda: budget_check(project=project))
    LedgerEntry.objects.update(created_at=timezone.now() - timedelta(hours=1))
    start = time.perf_counter()
    ledger_checkpoint_advance(project=project)
    print(
        f"BENCH checkpoint advance over all entries: {(time.perf_counter() - start) * 1000:.1f} ms"
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                worker_id=a.worker_id, project=project, kind="bonus", amount=Decimal("0.01")
            )
            for a in answers[:1000]
        ]
    )
    timed("budget_check, checkpoint + 1,000-entry tail", lambda: budget_check(project=project))
    timed(
        "project_spend_per_worker (200 workers)", lambda: project_spend_per_worker(project=project)
    )
    timed("worker_earnings (one worker)", lambda: worker_earnings(worker=workers[0]))
    timed("project_overview (all aggregates)", lambda: project_overview(project=project), reps=5)
    with CaptureQueriesContext(connection) as queries:
        project_overview(project=project)
    print(f"BENCH project_overview queries: {len(queries)}")
    done: list[int] = []

    def one_insert() -> None:
        answer = answers[len(done)]
        done.append(1)
        LedgerEntry.objects.create(
            worker_id=answer.worker_id, project=project, kind="bonus", amount=Decimal("0.01")
        )

    timed("one ledger INSERT (what submit adds)", one_insert, reps=200)
