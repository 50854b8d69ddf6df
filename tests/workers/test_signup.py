"""Sign-up through the API and the page, in each mode of WORKER_SIGNUP and REQUESTER_SIGNUP:
who gets in, who gets 403 (or the invite's 404 / 410), bad fields as 400s naming the field,
an invite link's group joined with the account, and the rate limit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.crowds.models import InviteLink, Membership
from apps.crowds.services import invite_create
from apps.workers.models import User
from tests import factories
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup/"
GOOD = {"username": "newbie", "email": "newbie@example.org", "password": "plum-orchard-42"}
PAGE = {
    "username": "newbie",
    "email": "newbie@example.org",
    "password1": "plum-orchard-42",
    "password2": "plum-orchard-42",
}


@pytest.fixture
def invite(requester):
    group = factories.WorkerGroupFactory(owner=requester, name="Volunteers")
    return invite_create(group=group, by=requester, max_uses=1)


def mode(settings, worker: str, requester: str = "closed") -> None:
    settings.WORKER_SIGNUP = worker
    settings.REQUESTER_SIGNUP = requester


def test_the_default_outside_debug_is_sign_up_by_invite(settings):
    assert (settings.WORKER_SIGNUP, settings.REQUESTER_SIGNUP) == ("invite", "closed")


# --- API ---------------------------------------------------------------------------------------


def test_open_sign_up_makes_a_worker_account(settings, api_client_for):
    mode(settings, "open")
    response = api_client_for(None).post(SIGNUP, GOOD, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "id": User.objects.get(username="newbie").pk,
        "username": "newbie",
        "email": "newbie@example.org",
        "role": "worker",
        "email_verified": False,
        "verification_sent": False,  # tests run with EMAIL_BACKEND none
        "group": None,
    }
    user = User.objects.get(username="newbie")
    assert user.check_password("plum-orchard-42") and user.is_worker
    token = api_client_for(None).post(
        "/api/v1/auth/token/", {"username": "newbie", "password": "plum-orchard-42"}
    )
    assert token.status_code == 200


def test_closed_sign_up_is_a_403(settings, api_client_for, invite):
    mode(settings, "closed")
    for body in (GOOD, {**GOOD, "invite": invite.token}, {}):
        response = api_client_for(None).post(SIGNUP, body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "signup_closed"
    assert not User.objects.filter(username="newbie").exists()


def test_invite_mode_without_a_link_is_a_403(settings, api_client_for):
    mode(settings, "invite")
    response = api_client_for(None).post(SIGNUP, GOOD, format="json")
    assert response.status_code == 403 and response.json()["code"] == "signup_invite_only"
    assert not User.objects.filter(username="newbie").exists()


def test_invite_mode_with_a_link_makes_the_account_in_its_group(settings, api_client_for, invite):
    mode(settings, "invite")
    response = api_client_for(None).post(SIGNUP, {**GOOD, "invite": invite.token}, format="json")
    assert response.status_code == 201
    assert response.json()["group"] == {"id": invite.invite.group_id, "name": "Volunteers"}
    membership = Membership.objects.get()
    assert membership.worker.username == "newbie" and membership.invite == invite.invite
    assert InviteLink.objects.get().uses == 1


def test_open_mode_with_a_link_joins_too(settings, api_client_for, invite):
    mode(settings, "open")
    response = api_client_for(None).post(SIGNUP, {**GOOD, "invite": invite.token}, format="json")
    assert response.status_code == 201 and response.json()["group"]["name"] == "Volunteers"


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [("unknown-token", 404, "not_found"), ("used", 410, "invite_used_up")],
)
def test_a_dead_or_unknown_link_makes_no_account(
    settings, api_client_for, invite, token, status, code
):
    mode(settings, "invite")
    if token == "used":
        InviteLink.objects.update(uses=1)
        token = invite.token
    response = api_client_for(None).post(SIGNUP, {**GOOD, "invite": token}, format="json")
    assert response.status_code == status and response.json()["code"] == code
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "no spaces please"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"username": "OWNER"}, "username"),  # taken, whatever the case
        ({"email": "not-an-address"}, "email"),
        ({"email": "OWNER@example.org"}, "email"),  # in use
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),  # common
        ({"password": "12345678901"}, "password"),  # numeric
        ({"password": "newbie123"}, "password"),  # like the username
        ({"role": "admin"}, "role"),
        ({"username": None}, "username"),
        ({"email": ["a@b.c"]}, "email"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(settings, api_client_for, requester, change, field):
    mode(settings, "open")
    requester.email = "owner@example.org"
    requester.save()
    response = api_client_for(None).post(SIGNUP, {**GOOD, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not User.objects.filter(email__iexact="newbie@example.org").exists()


def test_a_requester_signs_up_only_where_it_is_open(settings, api_client_for):
    mode(settings, "open", requester="closed")
    closed = api_client_for(None).post(SIGNUP, {**GOOD, "role": "requester"}, format="json")
    assert closed.status_code == 403 and closed.json()["code"] == "signup_closed"
    mode(settings, "closed", requester="open")
    opened = api_client_for(None).post(SIGNUP, {**GOOD, "role": "requester"}, format="json")
    assert opened.status_code == 201
    assert User.objects.get(username="newbie").is_requester


def test_a_requester_does_not_sign_up_through_an_invite(settings, api_client_for, invite):
    mode(settings, "open", requester="open")
    body = {**GOOD, "role": "requester", "invite": invite.token}
    response = api_client_for(None).post(SIGNUP, body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["invite"]


def test_sign_ups_from_one_address_are_limited(settings, api_client_for):
    mode(settings, "open")
    settings.SIGNUP_RATE_PER_CLIENT = "2/hour"
    client = api_client_for(None)
    assert client.post(SIGNUP, {"username": ""}, format="json").status_code == 400
    assert client.post(SIGNUP, GOOD, format="json").status_code == 201
    third = client.post(SIGNUP, {**GOOD, "username": "other"}, format="json")
    assert third.status_code == 429 and int(third["Retry-After"]) > 0
    assert not User.objects.filter(username="other").exists()


# --- The page ----------------------------------------------------------------------------------


def test_the_page_signs_up_and_logs_in_in_open_mode(settings):
    mode(settings, "open")
    client = client_for(None)
    assert client.get(reverse("signup")).status_code == 200
    response = client.post(reverse("signup"), PAGE, follow=True)
    assert response.status_code == 200
    assert response.context["user"].username == "newbie"
    assert b"no confirmation link was sent" in response.content


@pytest.mark.parametrize(("worker_mode", "status"), [("closed", 403), ("invite", 403)])
def test_the_page_refuses_without_a_way_in(settings, worker_mode, status):
    mode(settings, worker_mode)
    client = client_for(None)
    assert client.get(reverse("signup")).status_code == status
    assert client.post(reverse("signup"), PAGE).status_code == status
    assert not User.objects.filter(username="newbie").exists()


def test_an_invite_link_opens_the_page_and_joins_its_group(settings, invite, requester):
    mode(settings, "invite")
    factories.ProjectFactory(
        owner=requester, name="Hidden", visibility="private", groups=[invite.invite.group]
    )
    client = client_for(None)
    client.get(reverse("invite-open", args=[invite.token]))
    assert b"Sign up" in client.get(reverse("invite")).content
    page = client.get(reverse("signup"))
    assert page.status_code == 200 and b"Volunteers" in page.content
    response = client.post(reverse("signup"), PAGE, follow=True)
    assert Membership.objects.get().worker.username == "newbie"
    assert b"Hidden" in response.content  # the worker's projects, with the private one


def test_bad_fields_on_the_page_are_shown_by_the_field(settings, requester):
    mode(settings, "open")
    response = client_for(None).post(
        reverse("signup"), {**PAGE, "username": "owner", "password1": "short", "password2": "x"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "password2" in form.errors
    response = client_for(None).post(
        reverse("signup"), {**PAGE, "password1": "password123", "password2": "password123"}
    )
    assert response.status_code == 400
    assert "password1" in response.context["form"].errors
    assert not User.objects.filter(username="newbie").exists()


def test_the_login_page_offers_sign_up_only_where_it_takes_people(settings):
    mode(settings, "closed")
    assert b"Sign up" not in client_for(None).get(reverse("login")).content
    mode(settings, "open")
    assert b"Sign up" in client_for(None).get(reverse("login")).content


def test_a_signed_in_visitor_is_sent_home(settings, worker):
    mode(settings, "open")
    assert client_for(worker).get(reverse("signup")).status_code == 302
