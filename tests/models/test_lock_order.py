"""Writers of many items and HITs lock them in one order (hitlcrowd.locking), so two of them
never deadlock; the rare cycle left is retried (PostgreSQL: real row locks, two connections).

Each test holds, in one transaction, the row a writer needs first, lets the writer run in
another thread until PostgreSQL shows it waiting, then takes the row the writer would lock
first if it went out of order. In order, the writer holds nothing else yet and the second
lock is granted at once; out of order (the old code) it waits behind the writer, which waits
behind us: a deadlock, seen here as the lock timeout (shorter than deadlock_timeout)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.models.models import RescoreRun
from apps.models.services import scoring
from apps.models.services.common import learning_settings_of, model_load
from apps.models.services.training import model_retrain
from apps.tasks.models import HIT, AggregationRun, Assignment, Item
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.consensus.run import consensus_run
from hitlcrowd.locking import retry_on_lock_conflict
from tests import factories
from tests.helpers.crowd import LABELS, make_items, work
from tests.helpers.pets import labeled, text_of, waiting

pytestmark = pytest.mark.django_db(transaction=True)

# Below PostgreSQL's deadlock_timeout (1 s): we give up before the server breaks the cycle.
LOCK_TIMEOUT = "500ms"


class Writer(threading.Thread):
    """Runs `work` on its own connection; keeps its backend pid and what it raised."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.pid: int | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.ready.set()
            self.work()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.ready.set()
            connection.close()

    def wait_until_blocked(self) -> None:
        """Until PostgreSQL shows the writer waiting for a row lock we hold."""
        assert self.ready.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.is_alive():
            with connection.cursor() as cursor:  # pg_locks is live inside a transaction
                cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", [self.pid])
                if cursor.fetchone():
                    return
            time.sleep(0.02)
        raise AssertionError(f"the writer never waited for our lock (error: {self.error!r})")


def lock_with_timeout(model, pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    list(model.objects.select_for_update().filter(pk=pk).values_list("pk"))


def test_a_consensus_run_locks_the_items_it_writes_in_id_order(on_postgres):
    project = factories.ProjectFactory(labels=LABELS, min_overlap=2, max_overlap=2, gold_share=0)
    items = make_items(project, 8, lambda i: LABELS[i % 3])
    for name in ("a", "b"):
        work(factories.WorkerFactory(username=name), project, lambda item: LABELS[0])
    # Rows updated in reverse id order sit in the heap in that order, as after a busy day:
    # the run reads (and used to write) its stale items in heap order.
    for item in reversed(items):
        Item.objects.filter(pk=item.pk).update(updated_at=timezone.now())
    lowest, highest = items[0].pk, items[-1].pk
    run = Writer(lambda: consensus_run(project_id=project.pk))

    with transaction.atomic():  # e.g. a re-score chunk: its first item taken, its last next
        Item.objects.filter(pk=lowest).update(updated_at=timezone.now())
        run.start()
        run.wait_until_blocked()
        lock_with_timeout(Item, highest)
    run.join(60)

    assert run.error is None
    assert AggregationRun.objects.get(project=project).status == AggregationRun.Status.FINISHED
    assert set(Item.objects.filter(pk__in=[lowest, highest]).values_list("final_label", flat=True))


def test_a_rescore_chunk_waits_for_a_submit_on_its_hit_and_keeps_the_answer(
    on_postgres, pets, worker, other_worker
):
    labeled(pets, 100, worker)
    version = model_retrain(project_id=pets.pk).model_version  # its rescore job is only queued
    sure, _unsure = waiting(pets, [text_of("cat", 901), "meow purr woof bark"], prefix="x")
    lease = factories.AssignmentFactory(hit=sure.hit, worker=other_worker)
    rescore = scoring.rescore_start(model_version_id=version.pk)
    chunk = list(
        scoring._open_items(pets.pk, rescore.last_item_id).values(
            "pk", "payload", "is_gold", "hit__pk"
        )
    )
    model, row = model_load(version), learning_settings_of(pets)
    chunk_writer = Writer(lambda: scoring._rescore_chunk(pets, row, version, model, rescore, chunk))

    with transaction.atomic():  # a submit holding its assignment and its HIT
        assignment_submit(worker=other_worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
        chunk_writer.start()
        chunk_writer.wait_until_blocked()
    chunk_writer.join(60)

    assert chunk_writer.error is None
    sure.refresh_from_db()
    lease.refresh_from_db()
    # The model is sure, but someone answered it: it stays with people, the answer counts.
    assert sure.state == Item.State.WAITING and lease.state == Assignment.State.SUBMITTED
    assert HIT.objects.get(item=sure).state == HIT.State.OPEN
    assert RescoreRun.objects.get(pk=rescore.pk).done == len(chunk)


def test_a_writer_aborted_by_a_deadlock_is_run_again_in_a_new_transaction(on_postgres, project):
    first, second = (factories.ItemFactory(project=project, external_id=f"d{i}") for i in (1, 2))
    attempts: list[int] = []
    holding = threading.Event()

    def retried_work() -> None:
        attempts.append(1)
        Item.objects.filter(pk=first.pk).update(model_version=f"retried {len(attempts)}")
        holding.set()
        Item.objects.filter(pk=second.pk).update(model_version=f"retried {len(attempts)}")

    retried = Writer(lambda: retry_on_lock_conflict(retried_work))
    with transaction.atomic():  # the other writer, in the opposite order
        Item.objects.filter(pk=second.pk).update(model_version="other")
        retried.start()
        retried.wait_until_blocked()  # it holds `first` and waits for `second`
        # The retried writer has waited longest: PostgreSQL aborts it, not us.
        Item.objects.filter(pk=first.pk).update(model_version="other")
    retried.join(60)

    assert retried.error is None and len(attempts) == 2
    assert set(
        Item.objects.filter(pk__in=[first.pk, second.pk]).values_list("model_version", flat=True)
    ) == {"retried 2"}


def test_a_lock_conflict_is_given_up_after_the_last_attempt(db):
    class Aborted(DatabaseError):
        pass

    def always_aborted() -> None:
        cause = type("Cause", (Exception,), {"sqlstate": "40P01"})()
        raise Aborted("deadlock detected") from cause

    with pytest.raises(Aborted):
        retry_on_lock_conflict(always_aborted, attempts=2)
