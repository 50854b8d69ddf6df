"""A requester in a real browser marks a HIT type's answer field categorical on its project
page, sees a refusal under the field it names, and makes the answers free form again (under
the Content-Security-Policy: tests/e2e/conftest.py fails on a blocked resource)."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_requester_sets_and_clears_the_categorical_field_on_the_page(page, requester):
    from playwright.sync_api import expect

    hit_type = factories.HITTypeFactory(requester=requester)
    page.goto("/accounts/login/")
    page.fill("#id_username", requester.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/requester/$"))
    page.goto(f"/requester/projects/{hit_type.project_id}/")
    form = page.locator("#label-field-form")
    expect(page.locator("#mturk")).to_contain_text(hit_type.hit_type_id)

    form.locator("#id_field").fill("breed")
    form.locator("#id_labels").fill("husky")
    form.get_by_role("button", name="Save the answer field").click()
    expect(form.get_by_role("alert")).to_contain_text("between 2 and 50 labels")

    form.locator("#id_labels").fill("husky\nmalamute\nsamoyed")
    form.get_by_role("button", name="Save the answer field").click()
    expect(page.locator("#mturk")).to_contain_text("The answer field breed is categorical")
    hit_type.project.refresh_from_db()
    assert hit_type.project.labels == ["husky", "malamute", "samoyed"]

    page.get_by_role("button", name="Make the answers free form again").click()
    expect(page.locator("#mturk")).to_contain_text("The answers are free form")
    hit_type.project.refresh_from_db()
    assert hit_type.project.labels == []
