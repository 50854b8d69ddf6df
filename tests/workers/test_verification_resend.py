"""A new email verification link, asked for by address: POST auth/verify-email/resend/ and the
page /accounts/verify-email/resend/ (linked from the worker's account page). The answer is the
same whatever the address, and the request does the same work (it queues one job, which looks
for the account); limited per client address (429) and per address asked for (silently)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from apps.workers.models import User
from apps.workers.signup import VERIFICATION_REQUESTED
from tests import factories
from tests.helpers.mail import delivered, link_in, sent_to
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

API = "/api/v1/auth/verify-email/resend/"
PAGE = "/accounts/verify-email/resend/"


@pytest.fixture
def unverified(db) -> User:
    return factories.WorkerFactory(username="newbie", email="newbie@example.org")


def ask(api_client_for, email: str, **extra):
    with delivered():
        return api_client_for(None).post(API, {"email": email}, format="json", **extra)


def test_an_unverified_account_gets_a_new_link_that_verifies_it(
    unverified, email_on, api_client_for
):
    response = ask(api_client_for, "newbie@example.org")

    assert response.status_code == 202
    assert response.json() == {"detail": VERIFICATION_REQUESTED}
    [message] = sent_to("newbie@example.org")
    path = link_in(message).removeprefix("http://127.0.0.1:8000")
    assert client_for(None).get(path).status_code == 200
    unverified.refresh_from_db()
    assert unverified.email_verified


def test_the_address_is_matched_in_any_case(unverified, email_on, api_client_for):
    assert ask(api_client_for, "  NewBie@Example.ORG ").status_code == 202
    assert len(sent_to("newbie@example.org")) == 1


def test_every_address_gets_the_same_answer_and_only_an_unverified_account_mail(
    unverified, email_on, api_client_for
):
    verified = factories.WorkerFactory(email="done@example.org")
    verified.email_verified_at = verified.date_joined
    verified.save()
    factories.WorkerFactory(email="gone@example.org", is_active=False)
    answers = {
        address: ask(api_client_for, address)
        for address in ("newbie@example.org", "done@example.org", "gone@example.org", "no@x.org")
    }
    assert {(a.status_code, a.content) for a in answers.values()} == {
        (202, answers["no@x.org"].content)
    }
    assert [m.to for m in mail.outbox] == [["newbie@example.org"]]


def test_the_request_does_the_same_work_whether_or_not_an_account_has_the_address(
    unverified, email_on, api_client_for, django_assert_num_queries
):
    """One job queued after the commit, nothing looked up: neither the answer nor its timing
    depends on the address."""
    for address in ("newbie@example.org", "nobody@example.org"):
        with (
            TestCase.captureOnCommitCallbacks(execute=False) as queued,
            django_assert_num_queries(0),
        ):
            response = api_client_for(None).post(API, {"email": address}, format="json")
        assert response.status_code == 202 and len(queued) == 1


def test_past_the_per_address_limit_nothing_more_is_sent_and_the_answer_is_the_same(
    unverified, email_on, api_client_for, settings
):
    settings.VERIFY_EMAIL_RATE_PER_EMAIL = "2/hour"
    answers = [
        ask(api_client_for, "NEWBIE@example.org", REMOTE_ADDR=f"203.0.113.{n}") for n in range(4)
    ]
    assert {(a.status_code, a.content) for a in answers} == {(202, answers[0].content)}
    assert len(sent_to("newbie@example.org")) == 2


def test_past_the_per_client_limit_it_is_a_429(unverified, email_on, api_client_for, settings):
    settings.VERIFY_EMAIL_RATE_PER_CLIENT = "2/hour"
    for n in range(2):
        assert ask(api_client_for, f"someone{n}@example.org").status_code == 202
    refused = ask(api_client_for, "newbie@example.org")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert sent_to("newbie@example.org") == []
    other = ask(api_client_for, "newbie@example.org", REMOTE_ADDR="198.51.100.9")
    assert other.status_code == 202 and len(sent_to("newbie@example.org")) == 1


@pytest.mark.parametrize("body", [{"email": "not an address"}, {"email": ""}, {}])
def test_something_that_is_not_an_address_is_a_400_naming_email(email_on, api_client_for, body):
    response = api_client_for(None).post(API, body, format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_without_email_it_is_a_409_and_nothing_is_sent(unverified, api_client_for):
    response = ask(api_client_for, "newbie@example.org")
    assert response.status_code == 409 and response.json()["code"] == "email_disabled"
    assert mail.outbox == []


# --- The page --------------------------------------------------------------------------------


def test_the_account_page_links_the_page_while_the_address_is_unconfirmed(unverified, email_on):
    client = client_for(unverified)
    assert reverse("verify-email-resend") in client.get("/work/account/").content.decode()
    page = client.get(PAGE)
    assert page.status_code == 200 and page.context["form"]["email"].value() == unverified.email
    unverified.email_verified_at = unverified.date_joined
    unverified.save()
    assert reverse("verify-email-resend") not in client.get("/work/account/").content.decode()


def test_the_account_page_offers_no_link_when_no_email_is_sent(unverified):
    assert PAGE not in client_for(unverified).get("/work/account/").content.decode()
    page = client_for(unverified).get(PAGE)
    assert b"sends no email" in page.content and b'name="email"' not in page.content


def test_the_page_says_the_same_for_every_address_and_mails_the_unverified_account(
    unverified, email_on
):
    shown = []
    for address in ("newbie@example.org", "nobody@example.org"):
        with delivered():
            response = client_for(None).post(PAGE, {"email": address}, follow=True)
        assert response.redirect_chain == [(PAGE, 302)]
        shown.append([str(m) for m in response.context["messages"]])
    assert shown == [[VERIFICATION_REQUESTED], [VERIFICATION_REQUESTED]]
    assert [m.to for m in mail.outbox] == [["newbie@example.org"]]


def test_the_page_refuses_past_the_per_client_limit(email_on, settings):
    settings.VERIFY_EMAIL_RATE_PER_CLIENT = "1/hour"
    client = client_for(None)
    assert client.post(PAGE, {"email": "a@example.org"}).status_code == 302
    refused = client.post(PAGE, {"email": "b@example.org"})
    assert refused.status_code == 429 and "Retry-After" in refused
    assert b"Too many requests for confirmation links" in refused.content


def test_the_page_shows_a_bad_address_under_its_field(email_on):
    response = client_for(None).post(PAGE, {"email": "nope"})
    assert response.status_code == 400 and response.context["form"].errors["email"]


def test_a_link_that_no_longer_works_points_to_the_page(unverified):
    response = client_for(None).get("/accounts/verify-email/MQ/bad-token/")
    assert response.status_code == 400 and PAGE in response.content.decode()
