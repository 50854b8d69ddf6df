"""Accept takes the HIT previewed, as on MTurk: the task page's Accept and the work API's
`hit` lease THAT HIT under the claim's rules (same lease, same slots), or refuse saying why;
the page then previews the next HIT."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from apps.mturk.assignment_ids import assignment_id_of
from apps.tasks.models import HIT, Assignment
from apps.workers.services import worker_block_for_requester
from tests import factories
from tests.helpers.web import client_for


@pytest.fixture
def first(db):
    """The HIT the claim's order puts first (created first), wanting one answer."""
    return factories.MturkHITFactory()


@pytest.fixture
def second(first):
    """Another HIT of the same type, after `first` in the claim's order."""
    return factories.MturkHITFactory(hit_type=first.hit_type)


@pytest.fixture
def project(first):
    return first.hit_type.project


def accept(client, project, hit_id: str):
    return client.post(f"/work/projects/{project.pk}/accept/", {"hit": hit_id})


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def previewed(client, project) -> str:
    found = re.search(r'data-hit="([^"]+)"', client.get(f"/work/projects/{project.pk}/task/").text)
    return found.group(1) if found else ""


def test_the_preview_form_names_the_hit_previewed(worker, project, first):
    page = client_for(worker).get(f"/work/projects/{project.pk}/task/").text
    assert f'name="hit" value="{first.hit_id}"' in page


def test_accept_leases_the_hit_named_not_the_next_free_one(worker, project, first, second):
    client = client_for(worker)
    response = accept(client, project, second.hit_id)

    assert response.status_code == 302
    lease = Assignment.objects.get()
    assert (lease.worker, lease.hit_id, lease.state) == (worker, second.task_hit_id, "leased")
    duration = (lease.lease_expires_at - lease.leased_at).total_seconds()
    assert duration == pytest.approx(first.hit_type.assignment_duration_seconds, abs=1)
    assert HIT.objects.get(pk=second.task_hit_id).slots_taken == 1
    assert HIT.objects.get(pk=first.task_hit_id).slots_taken == 0
    assert previewed(client, project) == second.hit_id


def test_accepting_the_same_hit_again_keeps_the_one_lease(worker, project, first):
    client = client_for(worker)
    accept(client, project, first.hit_id)
    accept(client, project, first.hit_id)
    assert Assignment.objects.count() == 1
    assert HIT.objects.get(pk=first.task_hit_id).slots_taken == 1


def test_a_hit_taken_meanwhile_is_refused_and_the_next_one_previewed(
    worker, other_worker, project, first, second
):
    client = client_for(worker)
    assert previewed(client, project) == first.hit_id
    accept(client_for(other_worker), project, first.hit_id)  # its one slot goes

    response = accept(client, project, first.hit_id)

    assert "Every assignment of this HIT is taken" in said(response)
    assert not Assignment.objects.filter(worker=worker).exists()
    assert previewed(client, project) == second.hit_id


def test_an_expired_hit_is_refused_saying_so(worker, project, first, second):
    HIT.objects.filter(pk=first.task_hit_id).update(expires_at=timezone.now() - timedelta(1))
    response = accept(client_for(worker), project, first.hit_id)
    assert "expired" in said(response)
    assert not Assignment.objects.exists()


def test_a_hit_the_worker_worked_on_is_refused(worker, project, first):
    first.task_hit.answers_wanted = 2
    first.task_hit.save()
    client = client_for(worker)
    accept(client, project, first.hit_id)
    lease = Assignment.objects.get()
    client.post("/mturk/externalSubmit", {"assignmentId": assignment_id_of(lease.pk), "a": "1"})

    response = accept(client, project, first.hit_id)

    assert "You already worked on this HIT" in said(response)
    assert Assignment.objects.count() == 1


def test_holding_another_hit_of_the_type_refuses_a_second(worker, project, first, second):
    first.task_hit.answers_wanted = 2
    first.task_hit.save()
    client = client_for(worker)
    accept(client, project, first.hit_id)
    response = accept(client, project, second.hit_id)
    assert "You hold another HIT of this project" in said(response)
    assert list(Assignment.objects.values_list("hit_id", flat=True)) == [first.task_hit_id]


def test_a_blocked_worker_is_refused_the_hit(worker, project, first):
    worker_block_for_requester(worker=worker, requester=first.requester, reason="spam")
    response = accept(client_for(worker), project, first.hit_id)
    assert "spam" in said(response) or "blocked" in said(response)
    assert not Assignment.objects.exists()


def test_a_hit_of_another_project_is_not_offered_here(worker, project, first):
    elsewhere = factories.MturkHITFactory()
    response = accept(client_for(worker), project, elsewhere.hit_id)
    assert "No open HIT with this HITId" in said(response)
    assert not Assignment.objects.exists()


# --- The work API ---------------------------------------------------------------------------


def test_the_api_leases_the_hit_named(worker, project, first, second, api_client_for):
    api = api_client_for(worker)
    task = api.post("/api/v1/work/next/", {"hit": second.hit_id}, format="json")
    assert task.status_code == 200, task.content
    lease = Assignment.objects.get()
    assert lease.hit_id == second.task_hit_id and task.json()["assignment_id"] == lease.pk
    assert task.json()["question"]["url"].count(f"hitId={second.hit_id}") == 1


def test_the_api_refuses_a_full_hit_with_a_409(worker, other_worker, first, api_client_for):
    api_client_for(other_worker).post("/api/v1/work/next/", {"hit": first.hit_id}, format="json")
    refused = api_client_for(worker).post(
        "/api/v1/work/next/", {"hit": first.hit_id}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "hit_unavailable"
    assert "Every assignment" in refused.json()["detail"]


@pytest.mark.parametrize("value", ["3NOSUCHHIT", 7])
def test_the_api_names_the_field_of_a_hit_it_does_not_know(worker, first, api_client_for, value):
    refused = api_client_for(worker).post("/api/v1/work/next/", {"hit": value}, format="json")
    assert refused.status_code == 400 and "hit" in refused.json()["errors"]


def test_the_api_refuses_a_hit_of_another_project_than_named(worker, first, api_client_for):
    native = factories.HITFactory()
    body = {"hit": first.hit_id, "project": native.project_id}
    refused = api_client_for(worker).post("/api/v1/work/next/", body, format="json")
    assert refused.status_code == 400 and "hit" in refused.json()["errors"]
    assert not Assignment.objects.exists()


def test_a_private_projects_hit_is_unknown_to_a_worker_outside_it(worker, first, api_client_for):
    project = first.hit_type.project
    project.visibility = "private"
    project.save()
    refused = api_client_for(worker).post(
        "/api/v1/work/next/", {"hit": first.hit_id}, format="json"
    )
    assert refused.status_code == 400 and "hit" in refused.json()["errors"]
