"""Discard benchmark on PostgreSQL: blocking workers on a large project takes their answers out
of the consensus and gives their slots back (apps/tasks/services/discard.py), set-based.

    .venv/bin/python bench/discard.py                 # 50k answered items, 2 answers each
    .venv/bin/python bench/discard.py --items 200000

Prints the time of a block by hand (one worker), of the consensus run's discard for several
workers blocked at once, and of that discard when there is nothing left (every run pays it),
with the slowest statements. Self-contained: its own database (hitlcrowd_discard_bench,
dropped at the end unless --keep-db), tables built from the models. Loads the rows the way
bench/guidelines.py does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import guidelines  # noqa: E402  (bench/guidelines.py: load, setup_django, timed)

PG = guidelines.PG
DB = "hitlcrowd_discard_bench"
BLOCKED_TOGETHER = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.update(DATABASE_URL=f"{PG}/{DB}", SECRET_KEY="bench-secret", DEBUG="false")
    guidelines.admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    guidelines.admin_sql(f"CREATE DATABASE {DB}")
    try:
        run(args.items)
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            guidelines.admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def run(n_items: int) -> None:
    guidelines.setup_django()
    from django.db import connection
    from django.utils import timezone

    from apps.tasks.models import HIT, Answer, GuidelineVersion, Project
    from apps.tasks.services.discard import answers_discard_blocked
    from apps.workers.models import Block, User
    from apps.workers.services import worker_block

    now = timezone.now()
    owner = User.objects.create(username="owner", role="requester", is_staff=True)
    workers = User.objects.bulk_create(User(username=f"w{i}") for i in range(guidelines.WORKERS))
    project = Project.objects.create(owner=owner, name="bench", labels=["cat", "dog", "bird"])
    v1 = GuidelineVersion.objects.create(project=project, number=1, text="v1", published_at=now)
    started = time.perf_counter()
    for start in range(0, n_items, guidelines.BATCH):
        numbers = range(start, min(start + guidelines.BATCH, n_items))
        guidelines.load(project, v1, workers, numbers, now)
    print(f"loaded {n_items} items, {2 * n_items} answers in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def measure(title: str, work) -> None:
        slow: list[tuple[float, str]] = []
        t = time.perf_counter()
        with connection.execute_wrapper(guidelines.timed(slow)):
            result = work()
        seconds = time.perf_counter() - t
        print(f"{title}: {result} in {seconds * 1000:.0f} ms")
        print(f"    {len(slow)} statements, {sum(ms for ms, _ in slow):.0f} ms in the database")
        for ms, sql in sorted(slow, reverse=True)[:4]:
            print(f"    {ms:8.0f} ms  {sql}")

    measure(
        "worker_block (1 worker, by hand)",
        lambda: (
            worker_block(worker=workers[0], project=project, reason="bench", by=owner)
            and answers_discarded(Answer, workers[:1])
        ),
    )
    Block.objects.bulk_create(
        Block(worker=worker, project=project, reason="bench")
        for worker in workers[1 : 1 + BLOCKED_TOGETHER]
    )
    measure(
        f"answers_discard_blocked ({BLOCKED_TOGETHER} workers blocked by the rules)",
        lambda: answers_discard_blocked(project=project),
    )
    measure(
        "answers_discard_blocked again (nothing left: what every run pays)",
        lambda: answers_discard_blocked(project=project),
    )
    print("HITs open:", HIT.objects.filter(project=project, state="open").count())
    print("answers discarded:", Answer.objects.filter(discarded_at__isnull=False).count())


def answers_discarded(answer_model, workers) -> str:
    done = answer_model.objects.filter(worker__in=workers, discarded_at__isnull=False).count()
    return f"{done} answers discarded"


if __name__ == "__main__":
    main()
