"""Invite links: made by the group's owner (the token shown once, stored hashed), joined by
workers through the API; expired, revoked, used up and replayed links; the last use taken by
many at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.crowds.errors import InviteExpired, InviteNotFound, InviteUsedUp
from apps.crowds.models import InviteLink, Membership, invite_token_hash
from apps.crowds.services import invite_create, invite_join, invite_revoke
from hitlcrowd.errors import Forbidden
from tests import factories

pytestmark = pytest.mark.django_db

JOIN = "/api/v1/work/invites/join/"


@pytest.fixture
def group(requester):
    return factories.WorkerGroupFactory(owner=requester, name="Volunteers")


def test_a_new_link_shows_its_token_once_and_keeps_only_its_hash(api_client_for, requester, group):
    client = api_client_for(requester)
    created = client.post(f"/api/v1/groups/{group.pk}/invites/", {"max_uses": 2}, format="json")
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert len(token) >= 43
    assert body["url"] == f"http://127.0.0.1:8000/invite/{token}/"
    assert (body["state"], body["uses"], body["max_uses"]) == ("live", 0, 2)
    invite = InviteLink.objects.get()
    assert invite.token_hash == invite_token_hash(token)
    assert token not in str(InviteLink.objects.values().get())
    listed = client.get(f"/api/v1/groups/{group.pk}/invites/").json()["results"]
    assert [row["id"] for row in listed] == [invite.pk]
    assert "token" not in listed[0] and "url" not in listed[0]
    assert token not in str(listed)


def test_links_are_unguessable_and_distinct(group, requester):
    tokens = {invite_create(group=group, by=requester).token for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) == 43 for t in tokens)


def test_a_link_expires_in_14_days_unless_told(group, requester):
    invite = invite_create(group=group, by=requester).invite
    assert timedelta(days=13, hours=23) < invite.expires_at - timezone.now() <= timedelta(days=14)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": "lots"}, "max_uses"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "soon"}, "expires_at"),
    ],
)
def test_a_bad_link_setting_is_a_400_naming_the_field(
    api_client_for, requester, group, body, field
):
    response = api_client_for(requester).post(
        f"/api/v1/groups/{group.pk}/invites/", body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not InviteLink.objects.exists()


def test_a_worker_joins_through_a_link_once(api_client_for, group, requester, worker):
    new = invite_create(group=group, by=requester, max_uses=5)
    client = api_client_for(worker)
    first = client.post(JOIN, {"token": new.token}, format="json")
    assert first.status_code == 201
    assert first.json() | {"joined_at": None} == {
        "id": group.pk,
        "name": "Volunteers",
        "owner": "owner",
        "source": "invite",
        "joined_at": None,
        "joined": True,
    }
    again = client.post(JOIN, {"token": new.token}, format="json")
    assert again.status_code == 200 and again.json()["joined"] is False
    new.invite.refresh_from_db()
    assert new.invite.uses == 1
    membership = Membership.objects.get()
    assert (membership.worker, membership.invite) == (worker, new.invite)


def test_a_member_added_by_hand_takes_no_use_through_a_link(group, requester, worker):
    factories.MembershipFactory(group=group, worker=worker)
    new = invite_create(group=group, by=requester, max_uses=1)
    assert invite_join(worker=worker, token=new.token).joined is False
    new.invite.refresh_from_db()
    assert new.invite.uses == 0


def test_an_expired_link_is_refused(api_client_for, worker):
    invite = factories.InviteLinkFactory(token="t" * 43, expires_at=timezone.now())
    response = api_client_for(worker).post(JOIN, {"token": "t" * 43}, format="json")
    assert response.status_code == 410 and response.json()["code"] == "invite_expired"
    with pytest.raises(InviteExpired):
        invite_join(worker=worker, token="t" * 43)
    invite.refresh_from_db()
    assert invite.uses == 0 and not Membership.objects.exists()


def test_a_revoked_link_is_refused_and_those_who_joined_stay(
    api_client_for, group, requester, worker, other_worker
):
    new = invite_create(group=group, by=requester)
    invite_join(worker=worker, token=new.token)
    revoked = api_client_for(requester).post(
        f"/api/v1/groups/{group.pk}/invites/{new.invite.pk}/revoke/"
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    response = api_client_for(other_worker).post(JOIN, {"token": new.token}, format="json")
    assert response.status_code == 410 and response.json()["code"] == "invite_revoked"
    assert list(Membership.objects.values_list("worker", flat=True)) == [worker.pk]
    when = InviteLink.objects.get().revoked_at
    invite_revoke(invite=new.invite)  # again: no-op
    assert InviteLink.objects.get().revoked_at == when


def test_a_used_up_link_is_refused(api_client_for, group, requester, worker, other_worker):
    new = invite_create(group=group, by=requester, max_uses=1)
    assert api_client_for(worker).post(JOIN, {"token": new.token}).status_code == 201
    response = api_client_for(other_worker).post(JOIN, {"token": new.token}, format="json")
    assert response.status_code == 410 and response.json()["code"] == "invite_used_up"
    with pytest.raises(InviteUsedUp):
        invite_join(worker=other_worker, token=new.token)
    new.invite.refresh_from_db()
    assert new.invite.uses == 1


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 65])
def test_an_unknown_token_reads_as_no_link(api_client_for, worker, token):
    factories.InviteLinkFactory()
    response = api_client_for(worker).post(JOIN, {"token": token}, format="json")
    # A token longer than any issued one is refused as input before it is looked up.
    assert response.status_code == (404 if len(token) <= 64 else 400)
    with pytest.raises(InviteNotFound):
        invite_join(worker=worker, token=token)


def test_a_requester_does_not_join(group, requester, other_requester, api_client_for):
    new = invite_create(group=group, by=requester)
    with pytest.raises(Forbidden):
        invite_join(worker=other_requester, token=new.token)
    assert api_client_for(other_requester).post(JOIN, {"token": new.token}).status_code == 403


def test_another_requester_cannot_list_or_revoke_my_links(api_client_for, other_requester, group):
    invite = factories.InviteLinkFactory(group=group)
    client = api_client_for(other_requester)
    assert client.get(f"/api/v1/groups/{group.pk}/invites/").status_code == 404
    revoke = client.post(f"/api/v1/groups/{group.pk}/invites/{invite.pk}/revoke/")
    assert revoke.status_code == 404
    own = factories.WorkerGroupFactory(owner=other_requester)
    assert client.post(f"/api/v1/groups/{own.pk}/invites/{invite.pk}/revoke/").status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_joining_opens_the_groups_private_projects(api_client_for, group, requester, worker):
    factories.ProjectFactory(owner=requester, name="Hidden", visibility="private", groups=[group])
    client = api_client_for(worker)
    assert client.get("/api/v1/work/projects/").json()["count"] == 0
    client.post(JOIN, {"token": invite_create(group=group, by=requester).token}, format="json")
    assert [p["name"] for p in client.get("/api/v1/work/projects/").json()["results"]] == ["Hidden"]


# --- Concurrency (PostgreSQL: real row locks) ---------------------------------------------------

RACERS = 8


def _join(worker, token: str, outcomes: list, start: threading.Barrier) -> None:
    try:
        start.wait(timeout=30)
        outcomes.append(invite_join(worker=worker, token=token).joined)
    except InviteUsedUp:
        outcomes.append("used_up")
    except Exception as exc:  # reported by the main thread
        outcomes.append(exc)
    finally:
        connection.close()


def _race(pairs: list[tuple[object, str]]) -> list:
    outcomes: list = []
    start = threading.Barrier(len(pairs))
    threads = [threading.Thread(target=_join, args=(w, t, outcomes, start)) for w, t in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_many_workers_racing_for_the_last_uses_never_pass_the_limit(on_postgres):
    group = factories.WorkerGroupFactory()
    new = invite_create(group=group, by=group.owner, max_uses=3)
    workers = factories.WorkerFactory.create_batch(RACERS)

    outcomes = _race([(worker, new.token) for worker in workers])

    assert sorted(map(str, outcomes)) == ["True"] * 3 + ["used_up"] * (RACERS - 3)
    new.invite.refresh_from_db()
    assert new.invite.uses == 3
    assert Membership.objects.filter(group=group).count() == 3


@pytest.mark.django_db(transaction=True)
def test_one_worker_racing_with_themselves_is_one_membership_and_one_use(on_postgres):
    group = factories.WorkerGroupFactory()
    new = invite_create(group=group, by=group.owner, max_uses=5)
    worker = factories.WorkerFactory()

    outcomes = _race([(worker, new.token)] * RACERS)

    assert sorted(map(str, outcomes)) == ["False"] * (RACERS - 1) + ["True"]
    new.invite.refresh_from_db()
    assert new.invite.uses == 1
    assert Membership.objects.filter(group=group, worker=worker).count() == 1
