"""A project's visibility and groups, through the project API and the project page: only the
owner's groups, at most 20, a 400 naming `groups` otherwise; the audit trail records it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tasks.models import AuditEvent, Project
from apps.tasks.selectors.visibility import MAX_GROUPS_PER_PROJECT
from tests import factories
from tests.helpers.web import NEW_PROJECT, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(requester):
    return factories.WorkerGroupFactory(owner=requester, name="Lab")


def test_a_project_is_public_by_default(api_client_for, requester, project):
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/").json()
    assert (body["visibility"], body["groups"]) == ("public", [])


def test_the_owner_makes_a_project_private_to_a_group(api_client_for, requester, project, group):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/",
        {"visibility": "private", "groups": [group.pk]},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["visibility"], response.json()["groups"]) == ("private", [group.pk])
    project.refresh_from_db()
    assert list(project.groups.all()) == [group]
    event = AuditEvent.objects.get(action="project_update")
    assert event.changes == {"groups": [[], [group.pk]], "visibility": ["public", "private"]}


def test_a_project_is_created_private(api_client_for, requester, group):
    body = {"name": "P", "labels": ["a", "b"], "visibility": "private", "groups": [group.pk]}
    response = api_client_for(requester).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201
    assert Project.objects.get().groups.get() == group


def test_another_requesters_group_is_a_400_naming_groups(
    api_client_for, requester, other_requester, project
):
    theirs = factories.WorkerGroupFactory(owner=other_requester)
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"groups": [theirs.pk]}, format="json"
    )
    missing = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"groups": [987654]}, format="json"
    )
    assert response.status_code == missing.status_code == 400
    assert list(response.json()["errors"]) == ["groups"]
    assert response.json()["errors"]["groups"][0].replace(str(theirs.pk), "N") == missing.json()[
        "errors"
    ]["groups"][0].replace("987654", "N")
    assert not project.groups.exists()


def test_an_admin_cannot_open_a_project_to_a_group_of_someone_else(
    api_client_for, admin_user, project, other_requester
):
    theirs = factories.WorkerGroupFactory(owner=other_requester)
    response = api_client_for(admin_user).patch(
        f"/api/v1/projects/{project.pk}/", {"groups": [theirs.pk]}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["groups"]


def test_at_most_20_groups(api_client_for, requester, project):
    many = [
        factories.WorkerGroupFactory(owner=requester).pk for _ in range(MAX_GROUPS_PER_PROJECT + 1)
    ]
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"groups": many}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["groups"]


@pytest.mark.parametrize("value", ["secret", "", None, 1])
def test_a_bad_visibility_is_a_400_naming_it(api_client_for, requester, project, value):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"visibility": value}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["visibility"]


def test_the_project_page_sets_visibility_and_groups(requester, project, group):
    client = client_for(requester)
    page = client.get(reverse("requester-project", args=[project.pk]))
    assert b"Who sees it" in page.content and b"Lab" in page.content
    response = client.post(
        reverse("requester-project-visibility", args=[project.pk]),
        {"visibility": "private", "groups": [group.pk]},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.visibility == "private" and list(project.groups.all()) == [group]


def test_the_project_page_offers_only_my_groups(requester, other_requester, project):
    theirs = factories.WorkerGroupFactory(owner=other_requester, name="Not yours")
    client = client_for(requester)
    assert b"Not yours" not in client.get(reverse("requester-project", args=[project.pk])).content
    response = client.post(
        reverse("requester-project-visibility", args=[project.pk]),
        {"visibility": "private", "groups": [theirs.pk]},
    )
    assert response.status_code == 400
    assert not project.groups.exists()


def test_the_new_project_form_still_makes_a_public_project(requester):
    response = client_for(requester).post(reverse("requester-project-create"), NEW_PROJECT)
    assert response.status_code == 302
    assert Project.objects.get().visibility == "public"


def test_another_requester_cannot_change_it(other_requester, project):
    response = client_for(other_requester).post(
        reverse("requester-project-visibility", args=[project.pk]), {"visibility": "private"}
    )
    assert response.status_code == 404
    project.refresh_from_db()
    assert project.visibility == "public"
