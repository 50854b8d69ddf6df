"""Two workers racing for the last slot of the same HIT, each accepting that HIT (the claim's
statement restricted to it): exactly one wins, on PostgreSQL with two connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.mturk.services.accept import hit_accept
from apps.tasks.errors import HitUnavailable
from apps.tasks.models import HIT, Assignment
from tests import factories

ROUNDS = 5


def _race(hit_id: str, workers: list, barrier: threading.Barrier, results: list) -> None:
    def run(worker) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(hit_accept(worker=worker, hit_id=hit_id).hit_id)
        except HitUnavailable:
            results.append("refused")
        except Exception as exc:  # reported by the main thread
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_last_slot_one_wins(on_postgres):
    for _ in range(ROUNDS):
        hit = factories.MturkHITFactory()  # MaxAssignments 1: one slot
        racers = factories.WorkerFactory.create_batch(2)
        results: list = []
        _race(hit.hit_id, racers, threading.Barrier(2), results)

        assert sorted(map(str, results)) == sorted([str(hit.task_hit_id), "refused"])
        assert Assignment.objects.filter(hit_id=hit.task_hit_id).count() == 1
        assert HIT.objects.get(pk=hit.task_hit_id).slots_taken == 1
