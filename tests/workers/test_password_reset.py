"""Password reset through Django's views: a link by email (only when the deployment sends
email), used once, setting a password the validators accept, ending the account's other
sessions and tokens; the form tells nobody which addresses have accounts and cannot be used to
flood an inbox."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD, WorkerFactory
from tests.helpers.mail import delivered, link_in, sent_to
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

RESET = "/accounts/password-reset/"
SENT = "/accounts/password-reset/sent/"
NEW_PASSWORD = "violet-kettle-harbour-42"


def ask_for_reset(email: str, client: Client | None = None, **extra):
    with delivered():
        return (client or Client()).post(RESET, {"email": email}, **extra)


def choose_password(link: str, password: str = NEW_PASSWORD, client: Client | None = None):
    """Follow the emailed link (it redirects to a URL without the token) and post the form."""
    client = client or Client()
    path = urlsplit(link).path
    opened = client.get(path)
    assert opened.status_code == 302, opened.status_code
    form_url = opened["Location"]
    return client, client.post(form_url, {"new_password1": password, "new_password2": password})


def can_log_in(username: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def test_the_login_pages_link_to_the_reset(client, email_on):
    assert RESET.encode() in client.get("/accounts/login/").content
    assert b"/admin/password_reset/" in client.get("/admin/login/").content


def test_a_worker_resets_the_password_through_the_emailed_link(worker, email_on):
    response = ask_for_reset(worker.email)
    assert response.status_code == 302
    assert response["Location"] == SENT
    [message] = sent_to(worker.email)
    assert message.subject == "Your HITLCrowd password"
    assert message.from_email == "HITLCrowd <hitlcrowd@localhost>"
    _, done = choose_password(link_in(message))
    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"
    assert can_log_in(worker.username, NEW_PASSWORD)
    assert not can_log_in(worker.username, PASSWORD)


def test_with_the_console_backend_the_printed_link_resets_the_password(worker, settings, capsys):
    """`make run`'s setting (EMAIL_BACKEND=console): the message is printed on the output of
    the process that sends it, and its link works like a mailed one."""
    settings.EMAIL_DELIVERY = "console"
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    capsys.readouterr()
    assert ask_for_reset(worker.email)["Location"] == SENT

    printed = capsys.readouterr().out
    assert f"To: {worker.email}" in printed and "Subject: Your HITLCrowd password" in printed
    [link] = re.findall(r"https?://\S+/accounts/reset/\S+", printed)
    assert mail.outbox == []  # printed, not delivered anywhere else
    _, done = choose_password(link)
    assert done["Location"] == "/accounts/reset/done/"
    assert can_log_in(worker.username, NEW_PASSWORD)


def test_the_link_is_built_on_site_url_not_on_the_host_header(worker, email_on, settings):
    settings.SITE_URL = "https://labels.example.org/"
    settings.ALLOWED_HOSTS = ["labels.example.org", "evil.example.net"]
    ask_for_reset(worker.email, HTTP_HOST="evil.example.net")
    [message] = sent_to(worker.email)
    assert link_in(message).startswith("https://labels.example.org/accounts/reset/")


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(worker, email_on):
    known = ask_for_reset(worker.email)
    unknown = ask_for_reset("nobody@example.org")
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert sent_to("nobody@example.org") == []
    assert len(mail.outbox) == 1


def test_an_inactive_account_gets_no_link(email_on):
    gone = WorkerFactory(username="gone", is_active=False)
    response = ask_for_reset(gone.email)
    assert response["Location"] == SENT
    assert mail.outbox == []


def test_without_email_the_page_says_so_and_sends_nothing(client, worker):
    page = client.get(RESET)
    assert b"This deployment sends no email: ask an admin." in page.content
    assert b'name="email"' not in page.content
    response = ask_for_reset(worker.email, client=client)
    assert response.status_code == 200
    assert b"This deployment sends no email" in response.content
    assert mail.outbox == []


def test_a_used_link_does_not_work_again(worker, email_on):
    ask_for_reset(worker.email)
    link = link_in(sent_to(worker.email)[0])
    choose_password(link)
    again = Client().get(urlsplit(link).path)
    assert again.status_code == 200
    assert b"This link does not work" in again.content
    assert can_log_in(worker.username, NEW_PASSWORD)


@pytest.mark.parametrize("part", ["token", "uid"])
def test_a_tampered_link_does_not_work(worker, other_worker, email_on, part):
    ask_for_reset(worker.email)
    _, _, _, uidb64, token, _ = urlsplit(link_in(sent_to(worker.email)[0])).path.split("/")
    if part == "token":
        token = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    else:
        from django.utils.encoding import force_bytes
        from django.utils.http import urlsafe_base64_encode

        uidb64 = urlsafe_base64_encode(force_bytes(other_worker.pk))
    client = Client()
    page = client.get(f"/accounts/reset/{uidb64}/{token}/")
    assert b"This link does not work" in page.content
    posted = client.post(
        f"/accounts/reset/{uidb64}/set-password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert b"This link does not work" in posted.content
    assert not can_log_in(worker.username, NEW_PASSWORD)
    assert not can_log_in(other_worker.username, NEW_PASSWORD)


def test_a_password_the_validators_refuse_is_not_set(worker, email_on):
    ask_for_reset(worker.email)
    _, response = choose_password(link_in(sent_to(worker.email)[0]), password="12345678")
    assert response.status_code == 200
    assert b"This password is too common." in response.content
    assert can_log_in(worker.username, PASSWORD)


def test_the_reset_ends_the_accounts_sessions_and_api_tokens(worker, other_worker, email_on):
    signed_in = client_for(worker)
    other_signed_in = client_for(other_worker)
    _, token = AuthToken.objects.create(worker)
    _, other_token = AuthToken.objects.create(other_worker)
    ask_for_reset(worker.email)
    choose_password(link_in(sent_to(worker.email)[0]))
    assert signed_in.get("/work/").status_code == 302  # to the login
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 401
    # Other accounts keep theirs.
    assert other_signed_in.get("/work/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {other_token}")
    assert api.get("/api/v1/me/").status_code == 200


def test_past_the_per_address_limit_nothing_more_is_sent_but_the_page_is_the_same(
    worker, email_on, settings
):
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "2/hour"
    # From four client addresses, in any case: the count is per address asked for.
    answers = [ask_for_reset(worker.email.upper(), REMOTE_ADDR=f"203.0.113.{n}") for n in range(4)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, SENT)}
    assert len(sent_to(worker.email)) == 2


def test_the_per_address_limit_counts_unknown_addresses_too(email_on, settings):
    """Otherwise the point where the page changes (it never does) or mail stops would tell
    which addresses have accounts."""
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "1/hour"
    late = WorkerFactory(username="late", email="elsewhere@example.org")
    ask_for_reset("late@example.org")  # no account has it yet
    late.email = "late@example.org"
    late.save()
    ask_for_reset("late@example.org")
    assert sent_to("late@example.org") == []


def test_past_the_per_client_limit_the_form_answers_429(worker, email_on, settings):
    settings.PASSWORD_RESET_RATE_PER_CLIENT = "3/hour"
    for n in range(3):
        assert ask_for_reset(f"someone{n}@example.org").status_code == 302
    refused = ask_for_reset(worker.email)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert b"Password resets from this address are paused" in refused.content
    assert sent_to(worker.email) == []
    # Another client is not held up.
    assert ask_for_reset(worker.email, REMOTE_ADDR="198.51.100.9").status_code == 302
    assert len(sent_to(worker.email)) == 1
