"""An admin at work in a real browser: publishing a guideline with a re-queue shows the count
before confirming, the diff stays within the page, and the disagreement queue shows the item
the way the worker saw it."""

from __future__ import annotations

import pytest

from apps.tasks.models import HIT, Answer, GuidelineVersion, Item
from tests.factories import (
    PASSWORD,
    AnswerFactory,
    GuidelineVersionFactory,
    HITFactory,
    ItemFactory,
    ProjectFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_as_staff(page, admin_user) -> None:
    from playwright.sync_api import expect

    page.goto("/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def answered(item: Item, worker, label: str, guideline: GuidelineVersion) -> Answer:
    return AnswerFactory(
        assignment__hit=HIT.objects.get(item=item),
        assignment__worker=worker,
        assignment__guideline_version=guideline,
        label=label,
    )


def test_publishing_with_a_requeue_shows_how_many_items_before_confirming(
    page, admin_user, worker, project
):
    from playwright.sync_api import expect

    v1 = GuidelineVersionFactory(project=project, number=1, text="Say what it is.")
    for n, label in enumerate(["cat", "cat", "dog"]):
        item = ItemFactory(project=project, external_id=f"i{n}", state="consensus")
        Item.objects.filter(pk=item.pk).update(final_label=label, label_source="crowd")
        HITFactory(item=item, state="done")
        answered(item, worker, label, v1)
    draft = GuidelineVersion.objects.create(project=project, text="| a | b |\n|---|---|\n| 1 | 2 |")

    log_in_as_staff(page, admin_user)
    page.goto(f"/admin/tasks/guidelineversion/{draft.pk}/publish/")
    expect(page.locator(".guideline-preview table td").first).to_have_text("1")
    page.get_by_label("Re-queue those whose consensus is one of these labels").check()
    page.locator("#publish-form input[name=labels][value=cat]").check()
    page.locator("#publish-form input[type=submit]").click()

    expect(page.locator("#requeue-count")).to_contain_text("re-queue 2 items")
    draft.refresh_from_db()
    assert not draft.is_published
    page.get_by_role("button", name="Publish and re-queue 2 items").click()

    expect(page.locator(".messagelist")).to_contain_text(
        "Published version 2; 2 item(s) re-queued."
    )
    assert Answer.objects.filter(superseded_by__isnull=False).count() == 2


def test_the_diff_of_long_lines_stays_within_the_page(page, admin_user, project):
    long_line = "A very long rule " * 40 + "x" * 300
    old = GuidelineVersionFactory(project=project, number=1, text="Short.\n" + long_line)
    new = GuidelineVersionFactory(project=project, number=2, text="Short!\n" + long_line + " more")

    log_in_as_staff(page, admin_user)
    page.goto(f"/admin/tasks/guidelineversion/{new.pk}/diff/?other={old.pk}")
    box = page.locator("#guideline-diff")
    assert box.is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert page.evaluate("(b) => b.scrollWidth <= b.clientWidth", box.element_handle())


def test_resolving_a_digit_and_an_image_in_the_queue_shows_them_as_the_worker_saw_them(
    page, admin_user, requester, live_server
):
    from playwright.sync_api import expect

    digits = ProjectFactory(owner=requester, name="Digits", labels=[str(n) for n in range(10)])
    pixels = [0] * 27 + [16] * 10 + [0] * 27
    digit = ItemFactory(
        project=digits,
        external_id="d7",
        payload={"pixels": pixels},
        state="needs_review",
        final_label="1",
        final_confidence=0.4,
        posterior={"1": 0.4, "7": 0.35},
    )
    image_url = f"{live_server.url}/static/admin/img/icon-yes.svg"
    photo = ItemFactory(
        project=digits,
        external_id="p1",
        payload={"image_url": image_url},
        state="needs_review",
        final_label="4",
        final_confidence=0.5,
    )
    for item in (digit, photo):
        HITFactory(item=item, state="done")

    log_in_as_staff(page, admin_user)
    page.goto(f"/admin/tasks/reviewitem/?project__id__exact={digits.pk}")
    row = page.locator("#result_list tbody tr", has_text="d7")
    expect(row.locator("svg.item-pixels rect")).to_have_count(64)

    row.get_by_role("link", name="d7").click()
    drawn = page.locator(".field-as_the_worker_saw_it svg.item-pixels")
    expect(drawn).to_have_attribute("width", "256")
    expect(drawn.locator("rect")).to_have_count(64)
    expect(page.locator(".field-as_the_worker_saw_it")).not_to_contain_text("[0, 0, 0")
    page.select_option("#id_resolution", "7")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    digit.refresh_from_db()
    assert (digit.state, digit.final_label, digit.label_source) == ("resolved", "7", "admin")

    page.goto(f"/admin/tasks/reviewitem/{photo.pk}/change/")
    image = page.locator(".field-as_the_worker_saw_it img.item-image")
    expect(image).to_have_attribute("src", image_url)
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    page.select_option("#id_resolution", "4")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    photo.refresh_from_db()
    assert (photo.state, photo.final_label) == ("resolved", "4")
