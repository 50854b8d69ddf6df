"""Racing uploads of the same rows create every item once (PostgreSQL: real concurrency)."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection

from apps.tasks.models import HIT, Batch, Item
from apps.tasks.services.batches import BatchImportResult, batch_import
from tests.factories import ProjectFactory, RequesterFactory

CSV = b"external_id,text,prediction,confidence\n" + b"".join(
    b"r%d,row %d,cat,0.%d\n" % (n, n, n % 10) for n in range(2000)
)


def race(project, user, bodies: list[bytes], keys: list[str | None]) -> list[BatchImportResult]:
    results: list[BatchImportResult] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(bodies))

    def one(body: bytes, key: str | None) -> None:
        try:
            start.wait()
            result = batch_import(
                project=project, user=user, stream=io.BytesIO(body), fmt="csv", idempotency_key=key
            )
            results.append(result)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=pair) for pair in zip(bodies, keys, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("keys", [[None, None, None], ["same", "same", "same"]])
def test_racing_identical_uploads_import_once(on_postgres, keys):
    user = RequesterFactory(username="racer")
    project = ProjectFactory(owner=user)
    results = race(project, user, [CSV, CSV, CSV], keys)
    assert sorted(r.replayed for r in results) == [False, True, True]
    assert len({r.batch.pk for r in results}) == 1
    assert Batch.objects.count() == 1
    assert Item.objects.count() == 2000
    assert HIT.objects.count() == Item.objects.filter(state=Item.State.WAITING).count()


@pytest.mark.django_db(transaction=True)
def test_racing_overlapping_uploads_skip_the_shared_rows(on_postgres):
    user = RequesterFactory(username="racer")
    project = ProjectFactory(owner=user)
    extra = CSV + b"only-in-second,x,,\n"
    results = race(project, user, [CSV, extra], [None, None])
    assert Item.objects.count() == 2001
    # Whichever commits first creates its rows; the other creates only what is left.
    assert sorted(r.batch.created_count for r in results) in ([1, 2000], [0, 2001])
    assert HIT.objects.count() == Item.objects.filter(state=Item.State.WAITING).count()
