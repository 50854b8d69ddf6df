"""An admin in a real browser blocks one worker by hand from the worker's page, rejects a
chosen set of their answers, unblocks them; the worker reads the reasons on their pages."""

from __future__ import annotations

import os
import re

import pytest

from apps.workers.models import Block, LedgerEntry
from tests.factories import PASSWORD
from tests.helpers.paid import answer_one, make_paid_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT_DIR = os.environ.get("HITLCROWD_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SCREENSHOT_DIR:
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)


def admin_log_in(page, username: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def worker_page(browser, live_server, username: str):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.goto("/accounts/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(r"/work/$"))
    return tab


def test_an_admin_blocks_rejects_and_unblocks_by_hand_and_the_worker_reads_why(
    page, browser, live_server, admin_user, worker, requester
):
    from playwright.sync_api import expect

    page.set_default_timeout(30_000)  # the shared machine is slow under load
    paid = make_paid_project(requester)
    answers = [answer_one(worker, paid) for _ in range(3)]
    admin_log_in(page, admin_user.username)
    worker_url = f"/admin/workers/user/{worker.pk}/change/"

    # Block on the project, keeping the pay.
    page.goto(worker_url)
    expect(page.locator(".active-blocks")).to_have_text("Not blocked.")
    page.click("a.block")
    page.select_option("#id_project", str(paid.pk))
    page.fill("#id_reason", "Your labels look random: please reread the guideline")
    page.check("input[name=which][value=none]")
    shot(page, "admin-block.png")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text(f"Blocked {worker.username} on Paid.")
    expect(page.locator(".active-blocks")).to_contain_text("please reread the guideline")

    # Reject two chosen answers.
    page.click("a.reject")
    page.select_option("#id_project", str(paid.pk))
    page.click("input[type=submit]")
    page.check(f"input[name=answers][value='{answers[0].pk}']")
    page.check(f"input[name=answers][value='{answers[2].pk}']")
    page.fill("#id_reason", "Two answers contradict the picture")
    shot(page, "admin-reject.png")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Rejected 2 answer(s).")
    reversed_ = LedgerEntry.objects.filter(kind="reversal").values_list("answer_id", flat=True)
    assert set(reversed_) == {answers[0].pk, answers[2].pk}

    # The worker reads both reasons.
    tab = worker_page(browser, live_server, worker.username)
    expect(tab.locator(".notice.blocked")).to_contain_text(
        "by an administrator: Your labels look random"
    )
    shot(tab, "worker-blocked.png")
    tab.goto("/work/history/")
    expect(tab.locator(".answer-status", has_text="Rejected: Two answers")).to_have_count(2)
    tab.goto("/work/earnings/")
    expect(tab.locator(".admin-notes")).to_contain_text("2 answers rejected")
    shot(tab, "worker-earnings.png")

    # Unblock: the worker may work again.
    page.goto(worker_url)
    page.click("a.unblock")
    page.fill("#id_reason", "Explained on the forum")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Lifted 1 block(s).")
    expect(page.locator(".active-blocks")).to_have_text("Not blocked.")
    assert not Block.objects.filter(lifted_at__isnull=True).exists()
    tab.goto("/work/")
    expect(tab.get_by_role("link", name="Start labeling")).to_be_visible()
    tab.context.close()
