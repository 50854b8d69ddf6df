"""The password reset pages, end to end in Chromium under the Content-Security-Policy: the
link on the login page, the request, the emailed link, the new password, the login with it."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.helpers.mail import link_in, sent_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "violet-kettle-harbour-42"


def test_a_worker_resets_a_forgotten_password_in_the_browser(page, worker, email_on, sync_q):
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.click("text=Forgot your password?")
    page.fill("#id_email", worker.email)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your inbox")

    [message] = sent_to(worker.email)
    link = link_in(message)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Password changed")

    page.click("text=Log in")
    page.fill("#id_username", worker.username)
    page.fill("#id_password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/work/$"))
    assert len(mail.outbox) == 1


def test_without_email_the_reset_page_says_so(page, worker):
    from playwright.sync_api import expect

    page.goto("/accounts/password-reset/")
    expect(page.locator("[role=alert]")).to_have_text(
        "This deployment sends no email: ask an admin."
    )
    expect(page.locator("#id_email")).to_have_count(0)
