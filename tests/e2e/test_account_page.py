"""The worker's account page in Chromium under the Content-Security-Policy: reached from the
worker pages' nav, a password change keeps this browser signed in."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "violet-kettle-harbour-42"


def test_a_worker_changes_the_password_on_the_account_page(page, worker):
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.fill("#id_username", worker.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/work/$"))
    page.click("nav >> text=Account")
    expect(page.locator("h1")).to_have_text("My account")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("#password button[type=submit]")
    expect(page.locator(".message")).to_contain_text("Password changed.")
    page.goto("/work/history/")
    expect(page.locator("h1")).to_have_text("My answers")  # still signed in
    worker.refresh_from_db()
    assert worker.check_password(NEW_PASSWORD)
