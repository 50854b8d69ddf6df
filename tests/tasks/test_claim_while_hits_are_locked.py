"""A re-score never makes the queue look empty (finding 17 of issue 13: a worker got 204 while
76 tasks were open). The claim SKIP LOCKs HITs; a re-score chunk used to hold every HIT it
touched (up to 1,000) locked in one transaction, so a claim in that window skipped them all.
PostgreSQL, two connections: one holds the HITs, the other claims."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from apps.tasks.models import HIT
from apps.tasks.services import items as item_services
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.items import PEOPLE, ScoredRow, item_scores_apply
from hitlcrowd.locking import lock_in_id_order
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def hold_locked(hit_ids: list[int], seconds: float, holding: threading.Event) -> threading.Thread:
    """Another connection locks the HITs, as a writer of many does, for `seconds`."""

    def hold() -> None:
        try:
            with transaction.atomic():
                lock_in_id_order(HIT, hit_ids)
                holding.set()
                time.sleep(seconds)
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_a_claim_waits_for_open_hits_another_writer_holds_instead_of_finding_nothing(
    on_postgres, project, worker
):
    project.gold_share = 0
    project.save()
    hits = factories.HITFactory.create_batch(3, item__project=project)
    holding = threading.Event()
    holder = hold_locked([hit.pk for hit in hits], 0.5, holding)
    assert holding.wait(10)

    assignment = assignment_claim(worker=worker, project=project)
    holder.join(10)

    assert assignment is not None and assignment.hit_id in {hit.pk for hit in hits}


def test_a_claim_answers_nothing_when_no_hit_is_open(on_postgres, project, worker):
    factories.HITFactory(item__project=project, state=HIT.State.DONE)
    started = time.monotonic()
    assert assignment_claim(worker=worker, project=project) is None
    assert time.monotonic() - started < 1.0  # nothing to wait for


def test_a_claim_gives_up_when_the_hits_stay_locked_past_its_wait(
    on_postgres, project, worker, monkeypatch
):
    from apps.tasks.services.assignments import claim

    monkeypatch.setattr(claim, "CLAIM_LOCK_WAIT", "200ms")
    project.gold_share = 0
    project.save()
    hit = factories.HITFactory(item__project=project)
    holding = threading.Event()
    holder = hold_locked([hit.pk], 3.0, holding)
    assert holding.wait(10)

    started = time.monotonic()
    assert assignment_claim(worker=worker, project=project) is None
    assert time.monotonic() - started < 2.5
    holder.join(10)


def test_scored_rows_are_written_in_short_transactions(on_postgres, project, monkeypatch):
    monkeypatch.setattr(item_services, "APPLY_BATCH", 2)
    hits = factories.HITFactory.create_batch(5, item__project=project)
    transactions: list[int] = []

    def record(_done) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            transactions.append(cursor.fetchone()[0])

    rows = [ScoredRow(hit.item_id, "cat", 0.5, 0.5, PEOPLE) for hit in hits]
    done = item_scores_apply(project=project, model_version="v1", rows=rows, on_applied=record)

    assert len(done.people) == 5
    assert len(set(transactions)) == 3  # 2 + 2 + 1 HITs, each batch committed on its own
