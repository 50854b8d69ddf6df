"""Guideline benchmark on PostgreSQL: the acknowledgement gate on the claim path, and
publishing a version that re-queues many answered items.

    .venv/bin/python bench/guidelines.py                 # 50k answered items, 2 answers each
    .venv/bin/python bench/guidelines.py --items 200000

Self-contained: creates its own database (hitlcrowd_guidelines_bench, dropped at the end
unless --keep-db) with the tables built from the models (like `pytest --nomigrations`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DB = "hitlcrowd_guidelines_bench"
WORKERS = 200
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.update(DATABASE_URL=f"{PG}/{DB}", SECRET_KEY="bench-secret", DEBUG="false")
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {DB}")
    try:
        run(args.items)
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup_django() -> None:
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    django.setup()
    # The models as they are now, without migration files (the lead writes those).
    settings.MIGRATION_MODULES = {app.label: None for app in django.apps.apps.get_app_configs()}
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def run(n_items: int) -> None:
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from apps.tasks.models import (
        HIT,
        Answer,
        Assignment,
        GuidelineAcknowledgement,
        GuidelineVersion,
        Item,
        Project,
    )
    from apps.tasks.selectors.assignments import claim_context_of
    from apps.tasks.services.guidelines import (
        Requeue,
        guideline_draft_create,
        guideline_publish,
    )
    from apps.workers.models import User

    now = timezone.now()
    owner = User.objects.create(username="owner", role="requester", is_staff=True)
    workers = User.objects.bulk_create(User(username=f"w{i}") for i in range(WORKERS))
    project = Project.objects.create(owner=owner, name="bench", labels=["cat", "dog", "bird"])
    v1 = GuidelineVersion.objects.create(project=project, number=1, text="v1", published_at=now)
    GuidelineAcknowledgement.objects.bulk_create(
        GuidelineAcknowledgement(guideline=v1, worker=w) for w in workers
    )
    started = time.perf_counter()
    for start in range(0, n_items, BATCH):
        load(project, v1, workers, range(start, min(start + BATCH, n_items)), now)
    print(f"loaded {n_items} items, {2 * n_items} answers in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # The gate, as the claim reads it: along with the rest of its context, in one query.
    worker = workers[0]
    timings = []
    for _ in range(2000):
        t = time.perf_counter()
        assert claim_context_of(worker=worker, project=project).unread_guideline is None
        timings.append((time.perf_counter() - t) * 1000)
    print(
        f"claim_context_of: median {statistics.median(timings):.3f} ms, "
        f"p99 {sorted(timings)[int(len(timings) * 0.99)]:.3f} ms (2000 calls)"
    )
    explain_gate(connection, project.pk, worker.pk)

    for requeue, labels in [(Requeue.LABELS, ["cat"]), (Requeue.ALL, None)]:
        draft = guideline_draft_create(project=project, text=f"{requeue}", author=owner)
        slow: list[tuple[float, str]] = []
        t = time.perf_counter()
        with connection.execute_wrapper(timed(slow)):
            result = guideline_publish(guideline=draft, by=owner, requeue=requeue, labels=labels)
        seconds = time.perf_counter() - t
        print(f"publish requeue={requeue}: {result.requeued} items re-queued in {seconds:.2f} s")
        total = sum(ms for ms, _ in slow)
        print(f"    {len(slow)} statements, {total:.0f} ms in the database")
        for ms, sql in sorted(slow, reverse=True)[:6]:
            print(f"    {ms:8.0f} ms  {sql}")
    print("HITs open:", HIT.objects.filter(project=project, state="open").count())
    print("answers superseded:", Answer.objects.filter(superseded_by__isnull=False).count())
    print("assignments counting:", Assignment.objects.filter(superseded_by__isnull=True).count())
    print("items waiting:", Item.objects.filter(project=project, state="waiting").count())


def load(project, version, workers, numbers, now) -> None:
    from apps.tasks.models import HIT, Answer, Assignment, Item

    labels = ["cat", "dog", "bird"]
    items = Item.objects.bulk_create(
        Item(
            project=project,
            external_id=f"i{n}",
            payload={"text": f"item {n}"},
            state="consensus",
            final_label=labels[n % 3],
            label_source="crowd",
            final_confidence=0.99,
        )
        for n in numbers
    )
    hits = HIT.objects.bulk_create(
        HIT(item=item, project=project, answers_wanted=2, state="done", slots_taken=2)
        for item in items
    )
    assignments, answers = [], []
    for n, hit in enumerate(hits):
        for k in range(2):
            worker = workers[(n + k * 7) % len(workers)]
            assignments.append(
                Assignment(
                    hit=hit, project=project, worker=worker, state="submitted",
                    guideline_version=version, lease_expires_at=now, finished_at=now,
                )
            )  # fmt: skip
    Assignment.objects.bulk_create(assignments)
    for assignment in assignments:
        item_id = assignment.hit.item_id
        label = labels[item_id % 3]
        answers.append(
            Answer(
                assignment=assignment, item_id=item_id, project=project,
                worker=assignment.worker, label=label, guideline_version=version,
                seconds_spent=3,
            )
        )  # fmt: skip
    Answer.objects.bulk_create(answers)


def timed(slow: list):
    def wrapper(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            slow.append(((time.perf_counter() - t) * 1000, " ".join(sql.split())[:110]))

    return wrapper


def explain_gate(connection, project_id: int, worker_id: int) -> None:
    sql = """
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT g.number, EXISTS (SELECT 1 FROM tasks_guidelineacknowledgement a
                             WHERE a.guideline_id = g.id AND a.worker_id = %s)
    FROM tasks_guidelineversion g
    WHERE g.project_id = %s AND g.published_at IS NOT NULL
    ORDER BY g.number DESC LIMIT 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [worker_id, project_id])
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
