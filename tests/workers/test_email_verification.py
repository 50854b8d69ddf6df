"""Email verification at sign-up: the link (Django's token machinery) works once, stops
working when the address changes, and nothing is sent, and the page says so, when the
deployment sends no email (the account works unverified). Requesters see who is verified."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from apps.workers.models import User
from apps.workers.signup import email_verification_url, email_verify
from tests import factories
from tests.helpers.mail import delivered, link_in, sent_to
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup/"
GOOD = {"username": "newbie", "email": "newbie@example.org", "password": "plum-orchard-42"}


@pytest.fixture
def open_signup(settings) -> None:
    settings.WORKER_SIGNUP = "open"


def test_sign_up_mails_a_link_that_verifies_the_address_once(open_signup, email_on, api_client_for):
    with delivered():
        response = api_client_for(None).post(SIGNUP, GOOD, format="json")
    assert response.status_code == 201 and response.json()["verification_sent"] is True
    [message] = sent_to("newbie@example.org")
    url = link_in(message)
    assert url.startswith("http://127.0.0.1:8000/accounts/verify-email/")
    path = url.removeprefix("http://127.0.0.1:8000")
    first = client_for(None).get(path)
    assert first.status_code == 200 and b"Address confirmed" in first.content
    user = User.objects.get(username="newbie")
    assert user.email_verified
    verified_at = user.email_verified_at
    again = client_for(None).get(path)
    assert again.status_code == 400 and b"does not work" in again.content
    user.refresh_from_db()
    assert user.email_verified_at == verified_at


def test_the_sign_up_page_says_a_link_was_sent(open_signup, email_on):
    page = {
        "username": "newbie",
        "email": "newbie@example.org",
        "password1": "plum-orchard-42",
        "password2": "plum-orchard-42",
    }
    with delivered():
        response = client_for(None).post(reverse("signup"), page, follow=True)
    assert b"We sent a link to newbie@example.org" in response.content
    assert len(mail.outbox) == 1


def test_without_email_nothing_is_sent_and_the_account_works(open_signup, api_client_for):
    page = client_for(None).get(reverse("signup"))
    assert b"This deployment sends no email" in page.content
    with delivered():
        response = api_client_for(None).post(SIGNUP, GOOD, format="json")
    assert response.json()["verification_sent"] is False
    assert mail.outbox == []
    token = (
        api_client_for(None)
        .post("/api/v1/auth/token/", {"username": "newbie", "password": "plum-orchard-42"})
        .json()["token"]
    )
    client = api_client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/work/projects/").status_code == 200  # unverified may work


def test_a_link_stops_working_when_the_address_changes(worker):
    worker.email = "old@example.org"
    worker.save()
    url = email_verification_url(worker)
    worker.email = "new@example.org"
    worker.save()
    _, _, _, uid, token, _ = url.rsplit("/", 5)
    assert email_verify(uidb64=uid, token=token) is None
    worker.refresh_from_db()
    assert not worker.email_verified


@pytest.mark.parametrize(("uid", "token"), [("x", "y"), ("MTIzNDU2Nzg5", "abc-def"), ("", "")])
def test_a_forged_link_verifies_nothing(worker, uid, token):
    assert email_verify(uidb64=uid, token=token) is None
    assert (
        client_for(None).get(f"/accounts/verify-email/{uid or 'x'}/{token or 'y'}/").status_code
        == 400
    )


def test_the_requester_sees_whether_a_member_is_verified(api_client_for, requester, worker):
    group = factories.WorkerGroupFactory(owner=requester)
    factories.MembershipFactory(group=group, worker=worker)
    verified = factories.MembershipFactory(group=group).worker
    email_verify(
        uidb64=email_verification_url(verified).rsplit("/", 3)[1],
        token=email_verification_url(verified).rsplit("/", 2)[1],
    )
    members = api_client_for(requester).get(f"/api/v1/groups/{group.pk}/members/").json()
    shown = {row["username"]: row["email_verified"] for row in members["results"]}
    assert shown == {worker.username: False, verified.username: True}
    page = client_for(requester).get(reverse("requester-group", args=[group.pk]))
    assert b"not verified" in page.content
