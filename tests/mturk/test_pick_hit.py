"""A type's HITs to pick from, as MTurk listed a HIT group's HITs: the worker's list shows the
HITs they could accept now (a keyset page at a time, one query for the HITs whatever the
page), each previewed on its own (`?hit=`) and then accepted; a HIT gone meanwhile is said
so and the next one previewed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.tasks.models import HIT, Assignment
from apps.workers.services import worker_block_for_requester
from apps.workers.web import mturk_task
from tests import factories
from tests.helpers.web import client_for


@pytest.fixture
def hits(db):
    first = factories.MturkHITFactory()
    rest = [factories.MturkHITFactory(hit_type=first.hit_type) for _ in range(4)]
    return [first, *rest]


@pytest.fixture
def project(hits):
    return hits[0].hit_type.project


def listed(client, project, query: str = "") -> list[str]:
    response = client.get(f"/work/projects/{project.pk}/hits/{query}")
    assert response.status_code == 200
    return re.findall(r"<td><code>([A-Z0-9]+)</code></td>", response.text)


def test_the_list_shows_the_hits_the_worker_could_accept(worker, other_worker, project, hits):
    HIT.objects.filter(pk=hits[1].task_hit_id).update(expires_at=timezone.now() - timedelta(1))
    client_for(other_worker).post(f"/work/projects/{project.pk}/accept/", {"hit": hits[2].hit_id})
    client = client_for(worker)
    client.post(f"/work/projects/{project.pk}/accept/", {"hit": hits[3].hit_id})
    lease = Assignment.objects.get(worker=worker)
    client.post("/mturk/externalSubmit", {"assignmentId": assignment_id_of(lease.pk), "a": "1"})
    factories.MturkHITFactory()  # another type's

    assert listed(client, project) == [hits[0].hit_id, hits[4].hit_id]


def test_the_list_pages_by_keyset(worker, project, hits, monkeypatch):
    monkeypatch.setattr(mturk_task, "HITS_PAGE", 2)
    client = client_for(worker)
    page = client.get(f"/work/projects/{project.pk}/hits/").text
    after = re.search(r'href="\?after=(\d+)"', page).group(1)

    assert listed(client, project, f"?after={after}") == [hits[2].hit_id, hits[3].hit_id]
    last = client.get(f"/work/projects/{project.pk}/hits/?after={hits[3].task_hit_id}").text
    assert re.findall(r"<code>([A-Z0-9]+)</code>", last) == [hits[4].hit_id]
    assert 'rel="next"' not in last


def test_a_pages_queries_do_not_grow_with_its_size(worker, project, hits, monkeypatch):
    client = client_for(worker)
    client.get(f"/work/projects/{project.pk}/hits/")  # the session and the like, once
    counts = []
    for size in (1, 5):
        monkeypatch.setattr(mturk_task, "HITS_PAGE", size)
        with CaptureQueriesContext(connection) as queries:
            assert len(listed(client, project)) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_picked_hit_is_previewed_and_accepted(worker, project, hits):
    client = client_for(worker)
    page = client.get(f"/work/projects/{project.pk}/task/?hit={hits[3].hit_id}").text
    assert f'data-hit="{hits[3].hit_id}"' in page
    assert f'name="hit" value="{hits[3].hit_id}"' in page

    client.post(f"/work/projects/{project.pk}/accept/", {"hit": hits[3].hit_id})
    assert Assignment.objects.get().hit_id == hits[3].task_hit_id


def test_a_picked_hit_gone_meanwhile_is_said_so_and_the_next_previewed(
    worker, other_worker, project, hits
):
    client_for(other_worker).post(f"/work/projects/{project.pk}/accept/", {"hit": hits[3].hit_id})
    page = client_for(worker).get(f"/work/projects/{project.pk}/task/?hit={hits[3].hit_id}").text
    assert 'id="picked-gone"' in page
    assert f'data-hit="{hits[0].hit_id}"' in page


def test_a_blocked_worker_gets_no_list(worker, project, hits):
    worker_block_for_requester(worker=worker, requester=hits[0].requester, reason="spam")
    response = client_for(worker).get(f"/work/projects/{project.pk}/hits/")
    assert response.status_code == 403 and "<code>" not in response.text


def test_no_list_for_a_native_project_or_one_the_worker_may_not_see(worker, project):
    native = factories.HITFactory().project
    assert client_for(worker).get(f"/work/projects/{native.pk}/hits/").status_code == 404
    project.visibility = "private"
    project.save()
    assert client_for(worker).get(f"/work/projects/{project.pk}/hits/").status_code == 404
