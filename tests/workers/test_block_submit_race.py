"""A submit in flight while its worker is being blocked is refused, on two connections
(PostgreSQL): the block and the submit serialize on the worker's row (hitlcrowd.locking)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, Answer, Assignment
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers import services as worker_services
from apps.workers.models import Block, LedgerEntry
from apps.workers.services import worker_block
from hitlcrowd.api import domain_status
from tests import factories

HOLD = 1.0  # seconds the blocking transaction stays open after it took the worker's row


def hold_after_lock(locked: threading.Event, monkeypatch) -> None:
    """The block code pauses HOLD seconds right after it locked the worker's row."""
    original = worker_services.lock_workers_for_block

    def lock_and_hold(worker_ids) -> None:
        ids = list(worker_ids)
        original(ids)
        if ids:
            locked.set()
            time.sleep(HOLD)

    monkeypatch.setattr(worker_services, "lock_workers_for_block", lock_and_hold)


def assert_refused_unpaid_slot_back(out: dict, worker, lease: Assignment) -> None:
    assert isinstance(out["submit"], NotQualified), out["submit"]
    assert domain_status(out["submit"]) == 403 and "blocked" in out["submit"].message
    assert out["submit_done"] >= out["committing"]  # it waited for the block to commit
    assert not Answer.objects.filter(worker=worker).exists()
    assert not LedgerEntry.objects.filter(worker=worker).exists()
    lease.refresh_from_db()
    assert lease.state == Assignment.State.DISCARDED
    assert HIT.objects.get(pk=lease.hit_id).slots_taken == 0


@pytest.fixture
def leased(on_postgres, requester):
    project = factories.ProjectFactory(owner=requester, labels=["cat", "dog"], gold_share=0)
    factories.HITFactory(item=factories.ItemFactory(project=project), answers_wanted=2)
    worker = factories.WorkerFactory(username="spammer")
    lease = assignment_claim(worker=worker, project=project)
    assert lease is not None
    return project, worker, lease


def submit_of(worker, lease) -> Callable[[], object]:
    return lambda: assignment_submit(
        worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1.0
    )


@pytest.mark.django_db(transaction=True)
def test_a_submit_during_a_block_by_hand_waits_for_it_and_is_refused_unpaid(
    leased, admin_user, monkeypatch
):
    project, worker, lease = leased

    def block() -> None:
        worker_block(worker=worker, project=project, reason="spam", by=admin_user)

    out = race(block, submit_of(worker, lease), monkeypatch)
    assert_refused_unpaid_slot_back(out, worker, lease)


@pytest.mark.django_db(transaction=True)
def test_a_submit_during_an_automatic_block_waits_for_it_and_is_refused_unpaid(leased, monkeypatch):
    """The consensus run writes automatic blocks in its transaction and discards their
    answers only after it commits: before the worker's row was locked, the submit read "not
    blocked" meanwhile and its answer was accepted and paid (issue 13 #5)."""
    project, worker, lease = leased

    def block() -> None:  # what _block_by_rules does for a worker the rules caught
        worker_services.lock_workers_for_block([worker.pk])
        Block.objects.create(worker=worker, project=project, reason="spam", automatic=True)

    out = race(block, submit_of(worker, lease), monkeypatch)
    assert_refused_unpaid_slot_back(out, worker, lease)


@pytest.mark.django_db(transaction=True)
def test_another_workers_submit_does_not_wait_for_a_block(leased, admin_user, monkeypatch):
    project, worker, _ = leased
    other = factories.WorkerFactory(username="honest")
    lease = assignment_claim(worker=other, project=project)

    def block() -> None:
        worker_block(worker=worker, project=project, reason="spam", by=admin_user)

    out = race(block, submit_of(other, lease), monkeypatch)
    assert isinstance(out["submit"], Answer), out["submit"]
    assert out["submit_done"] < out["committing"]  # done while the block was still open
    assert LedgerEntry.objects.filter(worker=other).count() == 1


def race(block: Callable[[], None], submit: Callable[[], object], monkeypatch) -> dict:
    """Run `block` in a transaction that stays open HOLD seconds after it locked the worker's
    row, and `submit` on another connection meanwhile; what each side did, and when."""
    locked, out = threading.Event(), {}
    hold_after_lock(locked, monkeypatch)

    def blocking() -> None:
        try:
            with transaction.atomic():
                block()
                out["committing"] = time.monotonic()
        except BaseException as exc:  # reported by the main thread
            out["block_error"] = exc
        finally:
            locked.set()
            connection.close()

    def submitting() -> None:
        try:
            if not locked.wait(30):
                raise AssertionError("the block never took the worker's row")
            out["submit"] = submit()
        except BaseException as exc:
            out["submit"] = exc
        finally:
            out["submit_done"] = time.monotonic()
            connection.close()

    threads = [threading.Thread(target=blocking), threading.Thread(target=submitting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert "block_error" not in out, out.get("block_error")
    return out
