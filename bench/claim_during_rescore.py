"""Claims while a re-score writes its scores (finding 17 of issue 13: a worker got 204 while 76
tasks were open). One thread writes the scores of every open HIT, again and again; another
claims with fresh workers meanwhile and counts the claims that found nothing although every
HIT had a free slot.

    .venv/bin/python bench/claim_during_rescore.py                # 1,000 open HITs
    .venv/bin/python bench/claim_during_rescore.py --hits 5000

Four set-ups: the old chunk (one transaction over all the HITs) and the batched write
(services/items.py, APPLY_BATCH HITs per transaction), each with the skip-locked claim only
and with the claim's waiting last attempt (batched + waiting is what ships). Self-contained:
its own database (hitlcrowd_claim_rescore_bench), dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from guidelines import admin_sql, setup_django  # bench/ is on sys.path: run as a script

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DB = "hitlcrowd_claim_rescore_bench"
ROUNDS = 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.update(DATABASE_URL=f"{PG}/{DB}", SECRET_KEY="bench-secret", DEBUG="false")
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {DB}")
    try:
        run(args.hits)
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def run(n_hits: int) -> None:
    setup_django()
    from django.db import transaction

    from apps.tasks.models import HIT, Item, Project
    from apps.tasks.services.assignments import claim
    from apps.tasks.services.items import PEOPLE, ScoredRow, item_scores_apply
    from apps.workers.models import User

    owner = User.objects.create(username="owner", role="requester")
    project = Project.objects.create(
        owner=owner, name="bench", labels=["cat", "dog"], gold_share=0, min_overlap=2
    )
    items = Item.objects.bulk_create(
        Item(project=project, external_id=f"i{i}", payload={"text": f"t{i}"}, state="waiting")
        for i in range(n_hits)
    )
    HIT.objects.bulk_create(HIT(item=item, project=project, answers_wanted=2) for item in items)
    # One fresh worker per claim: a worker holds one lease per project. Enough for every
    # set-up, fewer than the slots (2 per HIT), so a free slot is always left.
    workers = iter(User.objects.bulk_create(User(username=f"w{i}") for i in range(n_hits)))
    rows = [ScoredRow(item.pk, "cat", 0.5, 0.5, PEOPLE) for item in items]

    def write_old() -> None:  # the chunk as before: every HIT locked until the chunk ends
        with transaction.atomic():
            item_scores_apply(project=project, model_version="bench", rows=rows)

    def write_batched() -> None:
        item_scores_apply(project=project, model_version="bench", rows=rows)

    original = claim._claim_once

    def never_wait(worker, project, wait=False):
        return original(worker, project, wait=False)

    setups = [
        ("one transaction, skip-locked claim", write_old, never_wait),
        ("one transaction, waiting last attempt", write_old, original),
        ("batches of 100, skip-locked claim", write_batched, never_wait),
        ("batches of 100, waiting last attempt", write_batched, original),
    ]
    print(f"{n_hits} open HITs, each with a free slot; {ROUNDS} score writes per set-up")
    print("| set-up | write s (median) | claims meanwhile | found nothing | claim ms p50 / max |")
    print("|---|---|---|---|---|")
    for name, write, claim_once in setups:
        claim._claim_once = claim_once
        try:
            figures = measure(project, write, workers)
        finally:
            claim._claim_once = original
        print(f"| {name} | {figures} |")


def measure(project, write, workers) -> str:
    from django.db import connection

    from apps.tasks.services.assignments.claim import assignment_claim

    writing = threading.Event()
    done = threading.Event()
    write_seconds: list[float] = []

    def writer() -> None:
        try:
            for _ in range(ROUNDS):
                started = time.perf_counter()
                writing.set()
                write()
                write_seconds.append(time.perf_counter() - started)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait()
    empty, latencies = 0, []
    while not done.is_set():
        started = time.perf_counter()
        if assignment_claim(worker=next(workers), project=project) is None:
            empty += 1
        latencies.append((time.perf_counter() - started) * 1000)
    thread.join()
    return (
        f"{statistics.median(write_seconds):.2f} | {len(latencies)} | {empty} | "
        f"{statistics.median(latencies):.1f} / {max(latencies):.0f}"
    )


if __name__ == "__main__":
    main()
