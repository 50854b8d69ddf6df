"""A worker labels in a real browser: hotkeys, countdown, skip, history."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.tasks.models import Answer, Assignment
from apps.tasks.selectors.assignments import item_ref
from tests.factories import GuidelineVersionFactory, HITFactory, ItemFactory
from tests.helpers.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT_DIR = os.environ.get("HITLCROWD_SCREENSHOTS")


def shown_item(page) -> str:
    return page.locator(".item").get_attribute("data-item")


def test_a_worker_answers_with_a_hotkey_skips_with_s_and_finds_the_answer_in_history(
    page, worker, project
):
    from playwright.sync_api import expect

    GuidelineVersionFactory(project=project, number=1, text="# Animals\n\nPick **the animal**.")
    for n in range(3):
        HITFactory(item=ItemFactory(project=project, payload={"text": f"A small animal #{n}"}))

    log_in(page, worker.username)
    page.get_by_role("link", name="Start labeling").click()
    # A published guideline must be acknowledged before the first task.
    acknowledge = page.get_by_role("button", name="I have read version 1: show me tasks")
    expect(acknowledge).to_be_visible()
    acknowledge.click()

    expect(page.locator(".item-text")).to_contain_text("A small animal #")
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^(9|10):\d\d$"))
    expect(page.locator("button[data-key='2']")).to_contain_text("dog")
    page.locator("details.guideline summary").click()
    expect(page.locator(".guideline-text strong")).to_have_text("the animal")
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "task-text.png"), full_page=True)
    first = shown_item(page)

    page.wait_for_timeout(300)  # so the measured time is clearly above zero
    page.keyboard.press("2")
    expect(page.locator(".message")).to_contain_text("Saved")
    second = shown_item(page)
    assert second != first

    page.fill("#skip-reason", "")
    page.keyboard.type("2 cats, so unsure")  # keys typed into the reason must not act
    page.keyboard.press("Escape")
    assert shown_item(page) == second
    page.keyboard.press("s")
    expect(page.locator(".message")).to_contain_text("Skipped")
    assert shown_item(page) not in (first, second)

    page.get_by_role("link", name="History").click()
    expect(page.locator("td.answer-label")).to_have_text(["dog"])

    answer = Answer.objects.get(worker=worker)
    shown = item_ref(worker_id=answer.worker_id, item_id=answer.item_id)
    assert (shown, answer.label) == (first, "dog")
    assert 0.3 <= answer.seconds_spent < 60
    skipped = Assignment.objects.get(worker=worker, state=Assignment.State.SKIPPED)
    shown = item_ref(worker_id=skipped.worker_id, item_id=skipped.hit.item_id)
    assert (shown, skipped.skip_reason) == (second, "2 cats, so unsure")


def test_the_countdown_tells_the_worker_when_the_lease_expired(page, worker, project):
    from playwright.sync_api import expect

    from apps.tasks.services.assignments.claim import assignment_claim

    HITFactory(item=ItemFactory(project=project, payload={"text": "Quick, quick"}))
    log_in(page, worker.username)
    assignment = assignment_claim(worker=worker, project=project)
    # Test setup: the lease runs out a few seconds after the page opens (a few, not one:
    # on a loaded CI machine the page itself can take a second or two).
    Assignment.objects.filter(pk=assignment.pk).update(
        lease_expires_at=timezone.now() + timedelta(seconds=4)
    )
    page.goto(f"/work/projects/{project.id}/task/")
    expect(page.locator(".countdown")).to_have_text(re.compile(r"^0:0[0-4]$"))
    expect(page.locator("button[data-key='1']")).to_be_enabled()
    expect(page.locator("#lease-expired")).to_be_visible(timeout=8_000)
    expect(page.locator("#lease-expired")).to_contain_text("expired")
    expect(page.locator("button[data-key='1']")).to_be_disabled()


def test_a_click_on_a_label_answers_with_it_once(page, worker, project):
    """The page's script records the time on submit; a click used to go through it into a
    requestSubmit() the browser ignores inside a submit event: nothing was sent."""
    from playwright.sync_api import expect

    for n in range(2):
        HITFactory(item=ItemFactory(project=project, payload={"text": f"Clicked #{n}"}))
    log_in(page, worker.username)
    page.goto(f"/work/projects/{project.id}/task/")
    page.wait_for_timeout(300)
    page.locator("button.label-button", has_text="bird").dblclick()
    expect(page.locator(".message")).to_contain_text("Saved “bird”")

    (answer,) = Answer.objects.filter(worker=worker)
    assert answer.label == "bird" and 0.3 <= answer.seconds_spent < 60
