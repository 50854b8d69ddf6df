"""Requester endpoints for worker groups and their members: the owner manages them, another
requester gets 404 on every one of them, a worker 403, nobody 401."""

from __future__ import annotations

import pytest

from apps.crowds.models import Membership, WorkerGroup
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(requester):
    return factories.WorkerGroupFactory(owner=requester, name="Volunteers")


def group_urls(group, worker_id: int) -> list[tuple[str, str, dict]]:
    base = f"/api/v1/groups/{group.pk}"
    return [
        ("get", f"{base}/", {}),
        ("patch", f"{base}/", {"name": "Renamed"}),
        ("get", f"{base}/members/", {}),
        ("post", f"{base}/members/", {"username": "worker"}),
        ("delete", f"{base}/members/{worker_id}/", {}),
        ("get", f"{base}/invites/", {}),
        ("post", f"{base}/invites/", {}),
        ("delete", f"{base}/", {}),
    ]


def test_a_requester_creates_lists_renames_and_deletes_a_group(api_client_for, requester):
    client = api_client_for(requester)
    created = client.post("/api/v1/groups/", {"name": " Lab team "}, format="json")
    assert created.status_code == 201
    group_id = created.json()["id"]
    assert created.json()["name"] == "Lab team"
    listed = client.get("/api/v1/groups/").json()
    assert [(g["id"], g["member_count"]) for g in listed["results"]] == [(group_id, 0)]
    renamed = client.patch(f"/api/v1/groups/{group_id}/", {"name": "Lab"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Lab"
    assert client.delete(f"/api/v1/groups/{group_id}/").status_code == 204
    assert not WorkerGroup.objects.exists()


def test_a_second_group_with_the_same_name_is_a_400_naming_the_field(
    api_client_for, requester, group
):
    response = api_client_for(requester).post("/api/v1/groups/", {"name": "Volunteers"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]


def test_another_requester_may_use_the_same_name(api_client_for, other_requester, group):
    response = api_client_for(other_requester).post("/api/v1/groups/", {"name": "Volunteers"})
    assert response.status_code == 201


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}])
def test_a_bad_name_is_a_400_naming_the_field(api_client_for, requester, body):
    response = api_client_for(requester).post("/api/v1/groups/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]


def test_another_requester_gets_404_on_everything_under_my_group(
    api_client_for, other_requester, group, worker
):
    factories.MembershipFactory(group=group, worker=worker)
    client = api_client_for(other_requester)
    for method, url, body in group_urls(group, worker.pk):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "not_found"
    assert client.get("/api/v1/groups/").json()["count"] == 0
    group.refresh_from_db()
    assert group.name == "Volunteers"
    assert Membership.objects.filter(group=group).count() == 1


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("worker", 403)])
def test_workers_and_nobody_are_refused(api_client_for, request, group, who, status):
    client = api_client_for(request.getfixturevalue(who) if who else None)
    assert client.get("/api/v1/groups/").status_code == status
    assert client.post("/api/v1/groups/", {"name": "x"}).status_code == status
    for method, url, body in group_urls(group, 1):
        assert getattr(client, method)(url, body, format="json").status_code == status, url


def test_an_admin_sees_every_group(api_client_for, admin_user, group):
    client = api_client_for(admin_user)
    assert client.get(f"/api/v1/groups/{group.pk}/").status_code == 200


def test_the_owner_adds_and_removes_a_worker(api_client_for, requester, group, worker):
    client = api_client_for(requester)
    base = f"/api/v1/groups/{group.pk}/members/"
    added = client.post(base, {"username": "worker"}, format="json")
    assert added.status_code == 201
    assert added.json() | {"joined_at": None} == {
        "worker_id": worker.pk,
        "username": "worker",
        "source": "added",
        "joined_at": None,
        "email_verified": False,
    }
    assert client.post(base, {"username": "worker"}, format="json").status_code == 200
    assert Membership.objects.filter(group=group).count() == 1
    assert client.get(base).json()["count"] == 1
    assert client.get(f"/api/v1/groups/{group.pk}/").json()["member_count"] == 1
    assert client.delete(f"{base}{worker.pk}/").status_code == 204
    assert client.delete(f"{base}{worker.pk}/").status_code == 404
    assert not Membership.objects.exists()


@pytest.mark.parametrize("username", ["nobody", "owner", ""])
def test_only_an_existing_worker_is_added(api_client_for, requester, group, username):
    response = api_client_for(requester).post(
        f"/api/v1/groups/{group.pk}/members/", {"username": username}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["username"]


def test_a_worker_lists_and_leaves_their_groups(api_client_for, requester, group, worker):
    factories.MembershipFactory(group=group, worker=worker)
    factories.MembershipFactory(worker=factories.WorkerFactory())  # someone else's
    client = api_client_for(worker)
    mine = client.get("/api/v1/work/groups/").json()["results"]
    assert [(g["id"], g["name"], g["owner"]) for g in mine] == [(group.pk, "Volunteers", "owner")]
    assert client.post(f"/api/v1/work/groups/{group.pk}/leave/").status_code == 204
    assert client.post(f"/api/v1/work/groups/{group.pk}/leave/").status_code == 404
    assert client.get("/api/v1/work/groups/").json()["count"] == 0


def test_deleting_a_group_closes_its_private_projects_to_its_members(
    api_client_for, requester, group, worker
):
    factories.MembershipFactory(group=group, worker=worker)
    factories.ProjectFactory(owner=requester, visibility="private", groups=[group])
    client = api_client_for(worker)
    assert client.get("/api/v1/work/projects/").json()["count"] == 1
    api_client_for(requester).delete(f"/api/v1/groups/{group.pk}/")
    assert client.get("/api/v1/work/projects/").json()["count"] == 0
