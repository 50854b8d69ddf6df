"""My account through the API: me/ shows my address; me/password/ and me/email/ change mine
only (there is no way to name another account), after my current password; a new password
ends my other tokens and sessions but not the one in use; a new address waits for its link
when the deployment sends email."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.mturk.workers import worker_id_of
from tests.factories import PASSWORD
from tests.helpers.mail import delivered, link_in, sent_to
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-kettle-harbour-42"


def token_client(user) -> tuple[APIClient, AuthToken]:
    instance, token = AuthToken.objects.create(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client, instance


def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    body = {"current_password": current, "new_password": new}
    return client.post("/api/v1/me/password/", body, format="json")


def change_email(client, email, current=PASSWORD):
    with delivered():
        body = {"email": email, "current_password": current}
        return client.post("/api/v1/me/email/", body, format="json")


def can_log_in(username: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_me_shows_my_address(api_client_for, worker):
    body = api_client_for(worker).get("/api/v1/me/").json()
    assert body == {
        "id": worker.pk,
        "username": "worker",
        "role": "worker",
        "is_staff": False,
        "email": "worker@example.org",
        "email_verified": False,
        "mturk_worker_id": worker_id_of(worker),
    }


@pytest.mark.parametrize("path", ["/api/v1/me/password/", "/api/v1/me/email/"])
def test_anonymous_callers_get_401(path):
    assert APIClient().post(path, {}, format="json").status_code == 401


def test_a_new_password_ends_my_other_tokens_and_sessions_but_not_this_token(worker, other_worker):
    client, used = token_client(worker)
    other_token_client, _ = token_client(worker)
    signed_in = client_for(worker)
    bystander, _ = token_client(other_worker)
    bystander_session = client_for(other_worker)

    assert change_password(client).status_code == 204

    assert client.get("/api/v1/me/").status_code == 200
    assert list(AuthToken.objects.filter(user=worker)) == [used]
    assert other_token_client.get("/api/v1/me/").status_code == 401
    assert signed_in.get("/work/").status_code == 302
    assert bystander.get("/api/v1/me/").status_code == 200
    assert bystander_session.get("/work/").status_code == 200
    assert can_log_in("worker", NEW_PASSWORD)
    assert not can_log_in("worker", PASSWORD)


def test_a_new_password_through_the_session_keeps_that_session(worker):
    session = APIClient()
    session.force_login(worker)
    other_session = client_for(worker)
    assert change_password(session).status_code == 204
    assert session.get("/api/v1/me/").status_code == 200
    assert session.get("/work/").status_code == 200
    assert other_session.get("/work/").status_code == 302


def test_a_wrong_current_password_is_a_400_naming_it_and_changes_nothing(worker):
    client, _ = token_client(worker)
    _, other = token_client(worker)
    response = change_password(client, current="guess")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["current_password"]
    assert can_log_in("worker", PASSWORD)
    assert AuthToken.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize(
    ("new", "message"),
    [("12345678", "This password is too common."), ("worker", "too short"), ("", "blank")],
)
def test_a_new_password_the_validators_refuse_is_a_400_naming_it(worker, new, message):
    client, _ = token_client(worker)
    response = change_password(client, new=new)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["new_password"]
    assert message in " ".join(response.json()["errors"]["new_password"])
    assert can_log_in("worker", PASSWORD)


def test_a_requester_changes_their_own_password_too(requester):
    client, _ = token_client(requester)
    assert change_password(client).status_code == 204
    assert can_log_in("owner", NEW_PASSWORD)


def test_without_email_a_new_address_is_used_at_once_unverified(worker):
    worker.email_verified_at = timezone.now()
    worker.save()
    client, _ = token_client(worker)
    response = change_email(client, "new@example.org")
    assert response.status_code == 200
    assert response.json() == {"email": "new@example.org", "pending_email": None}
    worker.refresh_from_db()
    assert (worker.email, worker.email_verified) == ("new@example.org", False)
    assert mail.outbox == []


def test_with_email_the_new_address_waits_for_its_link(worker, email_on):
    client, _ = token_client(worker)
    response = change_email(client, "New@Example.org")
    assert response.status_code == 202
    assert response.json() == {"email": "worker@example.org", "pending_email": "New@example.org"}
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"
    [notice] = sent_to("worker@example.org")
    assert "New@example.org" in notice.body
    [message] = sent_to("New@example.org")
    link = link_in(message)
    page = Client()
    shown = page.get(link)
    assert shown.status_code == 200
    assert b"New@example.org" in shown.content
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"  # opening it shows; the button changes
    done = page.post(link)
    assert done.status_code == 200
    assert b"Address changed" in done.content
    worker.refresh_from_db()
    assert worker.email == "New@example.org"
    me = client.get("/api/v1/me/").json()
    assert (me["email"], me["email_verified"]) == ("New@example.org", True)


def test_a_confirmation_link_works_once(worker, email_on):
    client, _ = token_client(worker)
    change_email(client, "new@example.org")
    link = link_in(sent_to("new@example.org")[0])
    assert Client().post(link).status_code == 200
    again = Client().post(link)
    assert again.status_code == 410
    assert b"This link does not work" in again.content


def test_a_later_request_makes_an_earlier_link_stale_once_either_is_used(worker, email_on):
    client, _ = token_client(worker)
    change_email(client, "first@example.org")
    change_email(client, "second@example.org")
    first = link_in(sent_to("first@example.org")[0])
    second = link_in(sent_to("second@example.org")[0])
    assert Client().post(second).status_code == 200
    assert Client().post(first).status_code == 410
    worker.refresh_from_db()
    assert worker.email == "second@example.org"


def test_a_forged_or_altered_link_changes_nothing(worker, email_on):
    client, _ = token_client(worker)
    change_email(client, "new@example.org")
    link = link_in(sent_to("new@example.org")[0])
    altered = link.replace("/confirm/", "/confirm/x")
    assert Client().post(altered).status_code == 410
    assert Client().post("/accounts/email/confirm/abc:def/").status_code == 410
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"


def test_a_deactivated_account_cannot_use_its_link(worker, email_on):
    client, _ = token_client(worker)
    change_email(client, "new@example.org")
    link = link_in(sent_to("new@example.org")[0])
    worker.is_active = False
    worker.save()
    assert Client().post(link).status_code == 410


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address", "current_password": PASSWORD}, "email"),
        ({"email": "new@example.org", "current_password": "guess"}, "current_password"),
        ({"email": "new@example.org"}, "current_password"),
        ({"current_password": PASSWORD}, "email"),
    ],
)
def test_a_bad_email_change_is_a_400_naming_the_field(worker, email_on, body, field):
    client, _ = token_client(worker)
    with delivered():
        response = client.post("/api/v1/me/email/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert mail.outbox == []
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"


def test_another_accounts_address_is_refused(worker, other_worker):
    client, _ = token_client(worker)
    response = change_email(client, "OTHER-WORKER@example.org")
    assert response.status_code == 400
    assert response.json()["errors"] == {"email": ["An account already uses this address."]}


def test_an_address_taken_meanwhile_is_refused_when_the_link_is_opened(
    worker, other_worker, email_on
):
    client, _ = token_client(worker)
    change_email(client, "new@example.org")
    link = link_in(sent_to("new@example.org")[0])
    other_worker.email = "new@example.org"
    other_worker.save()
    refused = Client().post(link)
    assert refused.status_code == 400
    assert b"An account already uses this address." in refused.content
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"


def test_my_change_leaves_another_account_alone(worker, other_worker):
    client, _ = token_client(worker)
    change_email(client, "new@example.org")
    change_password(client)
    other_worker.refresh_from_db()
    assert other_worker.email == "other-worker@example.org"
    assert can_log_in("other-worker", PASSWORD)
