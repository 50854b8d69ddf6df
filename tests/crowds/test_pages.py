"""The requester's group pages and the invite page a worker opens."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.crowds.models import InviteLink, Membership, WorkerGroup
from apps.crowds.services import invite_create
from tests import factories
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(requester):
    return factories.WorkerGroupFactory(owner=requester, name="Volunteers")


def group_pages(group, worker_id: int, invite_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("requester-group", args=[group.pk]), {}),
        ("post", reverse("requester-group-rename", args=[group.pk]), {"name": "X"}),
        ("post", reverse("requester-member-add", args=[group.pk]), {"username": "worker"}),
        ("post", reverse("requester-member-remove", args=[group.pk, worker_id]), {}),
        ("post", reverse("requester-invite-create", args=[group.pk]), {"days": "3"}),
        ("post", reverse("requester-invite-revoke", args=[group.pk, invite_id]), {}),
        ("post", reverse("requester-group-delete", args=[group.pk]), {}),
    ]


def test_a_requester_creates_a_group_and_manages_it_on_its_page(requester, worker):
    client = client_for(requester)
    response = client.post(reverse("requester-groups"), {"name": "Lab"})
    group = WorkerGroup.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "requester-group", args=[group.pk]
    )
    assert b"Lab" in client.get(reverse("requester-groups")).content
    client.post(reverse("requester-member-add", args=[group.pk]), {"username": "worker"})
    assert Membership.objects.get().worker == worker
    page = client.get(reverse("requester-group", args=[group.pk]))
    assert b"worker" in page.content and b"Added by the requester" in page.content
    client.post(reverse("requester-member-remove", args=[group.pk, worker.pk]))
    assert not Membership.objects.exists()
    client.post(reverse("requester-group-rename", args=[group.pk]), {"name": "Lab 2"})
    group.refresh_from_db()
    assert group.name == "Lab 2"
    client.post(reverse("requester-group-delete", args=[group.pk]))
    assert not WorkerGroup.objects.exists()


def test_a_new_link_is_shown_once_on_the_page(requester, group):
    client = client_for(requester)
    response = client.post(
        reverse("requester-invite-create", args=[group.pk]), {"days": "3", "max_uses": "10"}
    )
    assert response.status_code == 201
    url = re.search(rb'value="(http://[^"]+/invite/([^"/]+)/)"', response.content)
    assert url is not None
    token = url.group(2).decode()
    invite = InviteLink.objects.get()
    assert invite.max_uses == 10
    later = client.get(reverse("requester-group", args=[group.pk]))
    assert token.encode() not in later.content
    assert invite.hint.encode() in later.content


@pytest.mark.parametrize("data", [{"days": "0"}, {"days": "366"}, {"days": "3", "max_uses": "0"}])
def test_bad_link_settings_are_refused_on_the_page(requester, group, data):
    response = client_for(requester).post(reverse("requester-invite-create", args=[group.pk]), data)
    assert response.status_code == 400
    assert not InviteLink.objects.exists()


def test_an_unknown_worker_is_a_form_error(requester, group):
    response = client_for(requester).post(
        reverse("requester-member-add", args=[group.pk]), {"username": "ghost"}
    )
    assert response.status_code == 400
    assert b"No active worker has this username." in response.content


def test_another_requester_gets_404_on_every_group_page(other_requester, group, worker):
    factories.MembershipFactory(group=group, worker=worker)
    invite = factories.InviteLinkFactory(group=group)
    client = client_for(other_requester)
    for method, url, data in group_pages(group, worker.pk, invite.pk):
        assert getattr(client, method)(url, data).status_code == 404, url
    assert b"Volunteers" not in client.get(reverse("requester-groups")).content
    assert WorkerGroup.objects.get().name == "Volunteers"
    assert Membership.objects.exists()
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_a_worker_gets_403_and_nobody_the_login_page(worker, group):
    for method, url, data in group_pages(group, worker.pk, 1):
        assert getattr(client_for(worker), method)(url, data).status_code == 403, url
        response = getattr(client_for(None), method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response.url


# --- The invite page ---------------------------------------------------------------------------


def test_opening_a_link_moves_the_token_out_of_the_address_and_changes_nothing(
    requester, group, worker
):
    new = invite_create(group=group, by=requester)
    client = client_for(worker)
    opened = client.get(reverse("invite-open", args=[new.token]))
    assert opened.status_code == 302 and opened.url == reverse("invite")
    page = client.get(reverse("invite"))
    assert page.status_code == 200
    assert b"Join the group" in page.content and b"Volunteers" in page.content
    assert new.token.encode() not in page.content
    assert not Membership.objects.exists()
    new.invite.refresh_from_db()
    assert new.invite.uses == 0


def test_a_signed_in_worker_joins_with_one_button(requester, group, worker):
    factories.ProjectFactory(owner=requester, name="Hidden", visibility="private", groups=[group])
    new = invite_create(group=group, by=requester)
    client = client_for(worker)
    client.get(reverse("invite-open", args=[new.token]))
    joined = client.post(reverse("invite"))
    assert joined.status_code == 302 and joined.url == reverse("worker-projects")
    assert Membership.objects.get().worker == worker
    assert b"Hidden" in client.get(reverse("worker-projects")).content
    client.get(reverse("invite-open", args=[new.token]))
    assert b"already in this group" in client.get(reverse("invite")).content


def test_a_signed_out_visitor_is_offered_to_log_in_and_joins_after(requester, group, worker):
    new = invite_create(group=group, by=requester)
    client = client_for(None)
    client.get(reverse("invite-open", args=[new.token]))
    page = client.get(reverse("invite"))
    assert b"Log in" in page.content and b"Join the group" not in page.content
    assert client.post(reverse("invite")).status_code == 302
    assert not Membership.objects.exists()
    logged_in = client.post(
        reverse("login") + "?next=/invite/",
        {"username": "worker", "password": factories.PASSWORD, "next": "/invite/"},
    )
    assert logged_in.status_code == 302
    assert Membership.objects.filter(worker=worker, group=group).exists()


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"expires_at": timezone.now()}, 410, b"expired"),
        ({"revoked_at": timezone.now()}, 410, b"withdrawn"),
        ({"max_uses": 1, "uses": 1}, 410, b"as many times as it allows"),
    ],
)
def test_a_dead_link_says_why(worker, group, requester, change, status, text):
    new = invite_create(group=group, by=requester)
    InviteLink.objects.filter(pk=new.invite.pk).update(**change)
    client = client_for(worker)
    client.get(reverse("invite-open", args=[new.token]))
    page = client.get(reverse("invite"))
    assert page.status_code == status and text in page.content
    assert b"Join the group" not in page.content
    assert client.post(reverse("invite")).status_code == status
    assert not Membership.objects.exists()


def test_an_unknown_link_is_a_404(worker):
    client = client_for(worker)
    client.get(reverse("invite-open", args=["not-a-token"]))
    assert client.get(reverse("invite")).status_code == 404
    assert client_for(worker).get(reverse("invite")).status_code == 404  # no token at all
