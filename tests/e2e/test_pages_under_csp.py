"""The pages work under the Content-Security-Policy (tests/e2e/conftest.py fails a test on any
report of a blocked resource): the requester's pages with the slider and the model charts,
the admin, and Swagger UI served from our own static files."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/(work|requester)/$"))


def test_the_requester_pages_and_the_api_docs_work_under_the_policy(page, requester, project):
    from playwright.sync_api import expect

    assert page.goto("/accounts/login/").headers["content-security-policy"]
    log_in(page, requester.username)
    page.goto(f"/requester/projects/{project.pk}/")
    slider = page.locator("#id_confidence_threshold")
    slider.fill("0.42")
    expect(page.locator("#threshold-value")).to_have_text("0.42")

    page.goto(f"/requester/projects/{project.pk}/models/")
    expect(page.locator("h1")).to_be_visible()

    page.goto("/api/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("HITLCrowd API")
    expect(page.locator("#swagger-ui .opblock-tag").first).to_be_visible()


def test_the_admin_works_under_the_policy(page, admin_user):
    from playwright.sync_api import expect

    page.goto("/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/tasks/project/add/")
    expect(page.locator("form#project_form")).to_be_visible()
