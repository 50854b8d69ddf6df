"""WorkerIds (issue 17 #2): one stable, opaque MTurk-shaped id per worker, the same for every
requester, made on first need; shown to the worker on their account page and in me/."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from apps.mturk.errors import WorkerIdInvalid
from apps.mturk.models import WorkerId
from apps.mturk.workers import worker_for_id, worker_id_of, workers_for_ids
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.web import client_for

SHAPE = re.compile(r"A[A-Z0-9]{13}")


@pytest.mark.django_db
def test_a_worker_gets_one_mturk_shaped_id_that_never_changes(worker, other_worker):
    first = worker_id_of(worker)
    assert SHAPE.fullmatch(first)
    assert worker_id_of(worker) == first
    assert worker_id_of(other_worker) != first
    assert WorkerId.objects.count() == 2
    assert worker_for_id(first) == worker
    assert workers_for_ids([first, "ANOSUCHWORKER1"]) == {first: worker}


@pytest.mark.django_db
def test_requesters_and_admins_have_no_worker_id(requester, admin_user):
    for user in (requester, admin_user):
        with pytest.raises(InvalidInput):
            worker_id_of(user)
    assert not WorkerId.objects.exists()


@pytest.mark.django_db
def test_an_id_that_names_no_worker_is_invalid(worker):
    with pytest.raises(WorkerIdInvalid, match=r"WorkerId is invalid\."):
        worker_for_id("A0000000000000")
    # Nor one that once named a worker whose account became a requester's.
    worker_id = worker_id_of(worker)
    worker.role = worker.Role.REQUESTER
    worker.save(update_fields=["role"])
    with pytest.raises(WorkerIdInvalid):
        worker_for_id(worker_id)


@pytest.mark.django_db
def test_the_account_page_and_me_show_the_same_id(worker, requester, api_client_for):
    page = client_for(worker).get("/work/account/").content.decode()
    worker_id = worker_id_of(worker)
    assert f"<code>{worker_id}</code>" in page
    assert api_client_for(worker).get("/api/v1/me/").json()["mturk_worker_id"] == worker_id
    assert api_client_for(requester).get("/api/v1/me/").json()["mturk_worker_id"] is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_calls_agree_on_one_id(on_postgres):
    worker = factories.WorkerFactory()
    got: list[str] = []
    errors: list[Exception] = []

    def first_call() -> None:
        try:
            got.append(worker_id_of(worker))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(got)) == 1 and len(got) == 6
    assert WorkerId.objects.get().worker_id == got[0]
