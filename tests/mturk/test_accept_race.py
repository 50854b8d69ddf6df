"""Races on PostgreSQL with two connections: two workers racing for the last slot of the same
HIT, each accepting that HIT (the claim's statement restricted to it): exactly one wins; a
requester moving a HIT to another type (UpdateHITTypeOfHIT) while a worker claims it: it is
either taken (and stays) or moved (and not taken), never both."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.mturk.errors import HITStateInvalid
from apps.mturk.services.accept import hit_accept
from apps.mturk.services.hits import hit_type_move
from apps.tasks.errors import HitUnavailable
from apps.tasks.models import HIT, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
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


def _move_or_claim(hit, target, worker, results: list) -> None:
    barrier = threading.Barrier(2)

    def move() -> None:
        try:
            barrier.wait(timeout=30)
            hit_type_move(hit=hit, hit_type=target)
            results.append("moved")
        except HITStateInvalid:
            results.append("move refused")
        except Exception as exc:  # reported by the main thread
            results.append(exc)
        finally:
            connection.close()

    def claim() -> None:
        try:
            barrier.wait(timeout=30)
            lease = assignment_claim(worker=worker, project=hit.hit_type.project)
            results.append("claimed" if lease is not None else "nothing")
        except Exception as exc:  # reported by the main thread
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=move), threading.Thread(target=claim)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_hit_moved_while_a_worker_claims_it_is_moved_or_taken_never_both(on_postgres):
    for _ in range(ROUNDS):
        hit = factories.MturkHITFactory()
        target = factories.HITTypeFactory(requester=hit.requester)
        results: list = []
        _move_or_claim(hit, target, factories.WorkerFactory(), results)

        assert sorted(map(str, results)) in (["claimed", "move refused"], ["moved", "nothing"])
        task_hit = HIT.objects.get(pk=hit.task_hit_id)
        leases = Assignment.objects.filter(hit=task_hit)
        assert task_hit.project_id == (
            target.project_id if "moved" in results else hit.hit_type.project_id
        )
        assert all(a.project_id == task_hit.project_id for a in leases)
        assert task_hit.slots_taken == leases.count()
