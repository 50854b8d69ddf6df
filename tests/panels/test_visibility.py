"""A panel identity sees its link's project and nothing else, on every worker path (the one
visibility rule, apps/tasks/selectors/visibility.py), even a private project of its link; and
a participant who is done no longer counts as a worker who may answer an item."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.tasks.selectors.eligibility import eligible_worker_count, eligible_workers
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import (
    HITFactory,
    PanelLinkFactory,
    PanelParticipantFactory,
    ProjectFactory,
    WorkerGroupFactory,
)
from tests.helpers.panels import entry_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_project(requester):
    project = ProjectFactory(owner=requester, name="Elsewhere", gold_share=0)
    HITFactory.create_batch(2, item__project=project)
    return project


@pytest.fixture
def link(project):
    project.gold_share = 0
    project.save()
    HITFactory.create_batch(3, item__project=project)
    return PanelLinkFactory(project=project, quota=1)


@pytest.fixture
def panel_client(link) -> Client:
    client = Client()
    assert client.get(entry_path(link)).status_code == 302
    return client


def test_the_worker_pages_show_only_the_links_project(panel_client, project, other_project):
    listing = panel_client.get("/work/").content.decode()
    assert project.name in listing and other_project.name not in listing
    assert panel_client.get(f"/work/projects/{other_project.pk}/task/").status_code == 404
    assert panel_client.get(f"/work/projects/{project.pk}/task/").status_code == 200


def test_the_worker_api_shows_only_the_links_project(link, project, other_project, api_client_for):
    participant = PanelParticipantFactory(link=link)
    client = api_client_for(participant.user)
    listed = client.get("/api/v1/work/projects/").json()["results"]
    assert [row["id"] for row in listed] == [project.pk]
    refused = client.post("/api/v1/work/next/", {"project": other_project.pk}, format="json")
    assert refused.status_code == 400 and "project" in refused.json()["errors"]
    task = client.post("/api/v1/work/next/", {}, format="json")
    assert task.status_code == 200 and task.json()["project"]["id"] == project.pk


def test_a_private_projects_link_lets_its_participants_in(requester):
    group = WorkerGroupFactory(owner=requester)
    private = ProjectFactory(owner=requester, visibility="private", groups=[group], gold_share=0)
    HITFactory(item__project=private)
    link = PanelLinkFactory(project=private)
    client = Client()
    response = client.get(entry_path(link))
    assert response["Location"] == f"/work/projects/{private.pk}/task/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b'id="answer-form"' in page.content


def test_a_participant_counts_as_eligible_until_done_here_and_never_elsewhere(
    link, project, other_project
):
    participant = PanelParticipantFactory(link=link)
    user = participant.user
    assert user in eligible_workers(project=project)
    assert user not in eligible_workers(project=other_project)

    lease = assignment_claim(worker=user, project=project)
    assignment_submit(worker=user, assignment_id=lease.pk, label="cat", seconds_spent=1)
    # At the quota (1): the claim refuses them, so no item may wait for their answer.
    assert user not in eligible_workers(project=project)
    items = list(project.items.values_list("pk", flat=True))
    assert sum(eligible_worker_count(project=project, item_ids=items).values()) == 0
