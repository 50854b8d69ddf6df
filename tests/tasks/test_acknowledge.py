"""A worker acknowledges a new guideline version before taking more tasks (API and page)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.tasks.errors import GuidelineNotAcknowledged
from apps.tasks.models import Assignment, GuidelineAcknowledgement
from apps.tasks.selectors.assignments import item_ref
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.guidelines import (
    guideline_acknowledge,
    guideline_draft_create,
    guideline_publish,
)
from hitlcrowd.errors import Conflict
from tests import factories

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/work/next/"


def guideline_url(project) -> str:
    return f"/api/v1/work/projects/{project.pk}/guideline"


@pytest.fixture
def open_project(project):
    project.gold_share = 0
    project.save()
    factories.HITFactory.create_batch(2, item__project=project)
    return project


@pytest.fixture
def v1(open_project):
    return factories.GuidelineVersionFactory(
        project=open_project, number=1, text="# Rules\n\nPick **one**.", change_note="first"
    )


def test_a_project_without_a_published_guideline_needs_no_acknowledgement(
    api_client_for, worker, open_project
):
    factories.GuidelineVersionFactory(project=open_project, number=None, published_at=None)
    response = api_client_for(worker).post(NEXT, {"project": open_project.pk})
    assert response.status_code == 200


def test_next_task_is_a_409_naming_the_version_and_where_to_read_it(
    api_client_for, worker, v1, open_project
):
    response = api_client_for(worker).post(NEXT, {"project": open_project.pk})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "guideline_not_acknowledged"
    assert body["guideline"]["number"] == 1
    assert body["guideline"]["url"] == guideline_url(open_project)
    assert not Assignment.objects.exists()


def test_next_task_without_a_project_also_asks_for_the_acknowledgement(api_client_for, worker, v1):
    response = api_client_for(worker).post(NEXT, {})
    assert response.status_code == 409
    assert response.json()["guideline"]["number"] == 1


def test_next_task_without_a_project_serves_another_project_first(
    api_client_for, worker, v1, requester
):
    other = factories.ProjectFactory(owner=requester, gold_share=0)
    hit = factories.HITFactory(item__project=other)
    response = api_client_for(worker).post(NEXT, {})
    assert response.status_code == 200
    assert response.json()["item"]["ref"] == item_ref(worker_id=worker.pk, item_id=hit.item_id)


def test_the_worker_reads_acknowledges_and_then_gets_a_task(
    api_client_for, worker, v1, open_project
):
    client = api_client_for(worker)
    read = client.get(guideline_url(open_project))
    assert read.status_code == 200
    body = read.json()
    assert (body["number"], body["acknowledged"], body["change_note"]) == (1, False, "first")
    assert "<strong>one</strong>" in body["html"]

    acknowledged = client.post(f"{guideline_url(open_project)}/acknowledge", {"version": 1})
    assert acknowledged.status_code == 200
    assert acknowledged.json()["acknowledged"] is True

    task = client.post(NEXT, {"project": open_project.pk})
    assert task.status_code == 200
    assert task.json()["guideline"]["number"] == 1


def test_acknowledging_twice_keeps_one_row(api_client_for, worker, v1, open_project):
    client = api_client_for(worker)
    for _ in range(2):
        response = client.post(f"{guideline_url(open_project)}/acknowledge", {"version": 1})
        assert response.status_code == 200
    assert GuidelineAcknowledgement.objects.filter(worker=worker).count() == 1


@pytest.mark.parametrize("version", [2, 0, "x", None])
def test_a_bad_version_is_a_400_naming_the_field(api_client_for, worker, v1, open_project, version):
    body = {} if version is None else {"version": version}
    response = api_client_for(worker).post(f"{guideline_url(open_project)}/acknowledge", body)
    assert response.status_code == 400
    assert "version" in response.json()["errors"]


def test_a_draft_cannot_be_acknowledged(api_client_for, worker, v1, open_project, requester):
    guideline_draft_create(project=open_project, text="next", author=requester)
    response = api_client_for(worker).post(
        f"{guideline_url(open_project)}/acknowledge", {"version": 2}
    )
    assert response.status_code == 400


def test_a_new_version_asks_again(api_client_for, worker, v1, open_project, admin_user):
    guideline_acknowledge(worker=worker, project=open_project, number=1)
    draft = guideline_draft_create(project=open_project, text="v2", author=admin_user)
    guideline_publish(guideline=draft, by=admin_user)

    response = api_client_for(worker).post(NEXT, {"project": open_project.pk})
    assert response.status_code == 409
    assert response.json()["guideline"]["number"] == 2


def test_a_task_already_taken_may_still_be_answered_after_a_new_version(
    worker, v1, open_project, admin_user
):
    guideline_acknowledge(worker=worker, project=open_project, number=1)
    lease = assignment_claim(worker=worker, project=open_project)
    draft = guideline_draft_create(project=open_project, text="v2", author=admin_user)
    guideline_publish(guideline=draft, by=admin_user)
    assert assignment_claim(worker=worker, project=open_project).pk == lease.pk


def test_the_claim_service_raises_the_409(worker, v1, open_project):
    with pytest.raises(GuidelineNotAcknowledged) as refused:
        assignment_claim(worker=worker, project=open_project)
    assert isinstance(refused.value, Conflict) and refused.value.number == 1


def test_the_gate_is_one_query_on_the_claim_with_or_without_a_guideline(
    worker, other_worker, v1, open_project, requester
):
    plain = factories.ProjectFactory(owner=requester, gold_share=0)
    factories.HITFactory.create_batch(2, item__project=plain)
    guideline_acknowledge(worker=worker, project=open_project, number=1)

    with CaptureQueriesContext(connection) as without_guideline:
        assert assignment_claim(worker=other_worker, project=plain) is not None
    with CaptureQueriesContext(connection) as with_guideline:
        assert assignment_claim(worker=worker, project=open_project) is not None

    assert len(with_guideline) == len(without_guideline)
    for captured in (without_guideline, with_guideline):
        gate = [q for q in captured.captured_queries if "guidelineacknowledgement" in q["sql"]]
        assert len(gate) == 1


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("requester", 403), ("other_requester", 403)]
)
def test_non_workers_cannot_read_or_acknowledge(
    api_client_for, v1, open_project, who, status, requester, other_requester
):
    user = {"anonymous": None, "requester": requester, "other_requester": other_requester}[who]
    client = api_client_for(user)
    assert client.get(guideline_url(open_project)).status_code == status
    response = client.post(f"{guideline_url(open_project)}/acknowledge", {"version": 1})
    assert response.status_code == status


def test_a_closed_or_unknown_project_is_a_404(api_client_for, worker, v1, open_project):
    client = api_client_for(worker)
    assert client.get(f"/api/v1/work/projects/{open_project.pk + 99}/guideline").status_code == 404
    open_project.is_open = False
    open_project.save()
    assert client.get(guideline_url(open_project)).status_code == 404
    response = client.post(f"{guideline_url(open_project)}/acknowledge", {"version": 1})
    assert response.status_code == 404


def test_a_project_without_guideline_has_none_to_read(api_client_for, worker, open_project):
    assert api_client_for(worker).get(guideline_url(open_project)).status_code == 404


# --- The worker's page ----------------------------------------------------------------------


@pytest.fixture
def browser(worker) -> Client:
    client = Client()
    client.force_login(worker)
    return client


def test_the_task_page_shows_the_guideline_with_an_acknowledge_button(browser, v1, open_project):
    factories.GuidelineVersionFactory(
        project=open_project, number=2, text="<script>alert(1)</script>\n\n**Birds** too."
    )
    response = browser.get(reverse("worker-task", args=[open_project.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="acknowledge-form"' in page
    assert 'name="version" value="2"' in page
    assert "<strong>Birds</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert 'id="answer-form"' not in page
    assert not Assignment.objects.exists()


def test_acknowledging_on_the_page_leads_to_a_task(browser, worker, v1, open_project):
    url = reverse("worker-guideline-acknowledge", args=[open_project.pk])
    response = browser.post(url, {"version": "1"}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="answer-form"' in page
    assert GuidelineAcknowledgement.objects.filter(worker=worker, guideline=v1).exists()


def test_a_bad_version_on_the_page_is_an_error_message_not_a_500(browser, v1, open_project):
    url = reverse("worker-guideline-acknowledge", args=[open_project.pk])
    response = browser.post(url, {"version": "nope"}, follow=True)
    assert response.status_code == 200
    assert "could not be acknowledged" in response.content.decode()
    assert 'id="acknowledge-form"' in response.content.decode()


def test_a_requester_cannot_use_the_acknowledge_page(requester, v1, open_project):
    client = Client()
    client.force_login(requester)
    url = reverse("worker-guideline-acknowledge", args=[open_project.pk])
    assert client.post(url, {"version": "1"}).status_code == 403
