"""A panel participant in a real browser: enter through the link with a Prolific id,
acknowledge the guideline, answer to the quota, see the completion code and be sent back to
the panel with ?cc=CODE; come back, and enter again from a second browser without getting a
second identity; and see no project but the link's."""

from __future__ import annotations

import re

import pytest

from apps.panels.models import PanelParticipant
from apps.tasks.models import Answer
from apps.workers.models import User
from tests.factories import (
    GuidelineVersionFactory,
    HITFactory,
    PanelLinkFactory,
    ProjectFactory,
)
from tests.helpers.panels import PID, entry_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROLIFIC = "https://app.prolific.com/submissions/complete"


def panel_side(context) -> list[str]:
    """Stand in for the panel: requests to Prolific get a small page (the machine is offline);
    the URLs it was sent to are returned."""
    visited: list[str] = []

    def answer(route) -> None:
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Back on Prolific</h1>")

    context.route(re.compile(r"^https://app\.prolific\.com/"), answer)
    return visited


@pytest.fixture
def link(project):
    project.gold_share = 0
    project.save()
    GuidelineVersionFactory(project=project, number=1, text="Pick **the animal**.")
    for n in range(5):
        HITFactory(item__project=project, item__payload={"text": f"An animal #{n}"})
    return PanelLinkFactory(
        project=project, quota=2, completion_code="C1MBPM0K", completion_url=PROLIFIC
    )


def answer_shown_task(page, label: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".item-text")).to_contain_text("An animal #")
    page.locator("button.label-button", has_text=label).click()


def test_a_participant_enters_answers_to_the_quota_and_goes_back_with_the_code(
    page, browser, live_server, link
):
    from playwright.sync_api import expect

    visited = panel_side(page.context)
    page.goto(entry_path(link, study="STUDY1", session="SESSION1"))
    acknowledge = page.get_by_role("button", name="I have read version 1: show me tasks")
    expect(acknowledge).to_be_visible()
    acknowledge.click()

    answer_shown_task(page, "cat")
    expect(page.locator(".message")).to_contain_text("Saved")
    answer_shown_task(page, "dog")

    # The quota is given: the completion page, then the panel with the code.
    expect(page.locator("#completion-code")).to_have_text("C1MBPM0K")
    expect(page.locator("#panel-onward")).to_have_attribute("href", f"{PROLIFIC}?cc=C1MBPM0K")
    page.wait_for_url(f"{PROLIFIC}?cc=C1MBPM0K", timeout=10_000)
    expect(page.locator("h1")).to_have_text("Back on Prolific")
    assert visited == [f"{PROLIFIC}?cc=C1MBPM0K"]

    participant = PanelParticipant.objects.get(link=link)
    assert (participant.participant_id, participant.study_id, participant.outcome) == (
        PID,
        "STUDY1",
        "quota_reached",
    )
    assert Answer.objects.filter(worker=participant.user).count() == 2

    # Back through the link: the same participant sees the completion page again.
    page.goto(entry_path(link, study="STUDY1", session="SESSION1"))
    expect(page.locator("#completion-code")).to_have_text("C1MBPM0K")

    # A second browser with the same participant id: the same identity, no new one.
    other = browser.new_context(base_url=live_server.url)
    try:
        panel_side(other)
        second = other.new_page()
        second.goto(entry_path(link, study="STUDY1", session="SESSION2"))
        expect(second.locator("#completion-code")).to_have_text("C1MBPM0K")
        expect(second.locator(".who")).to_contain_text(participant.user.username)
    finally:
        other.close()
    assert PanelParticipant.objects.filter(link=link).count() == 1
    assert User.objects.filter(username__startswith="panel-").count() == 1
    assert Answer.objects.filter(worker=participant.user).count() == 2


def test_a_participant_who_comes_back_in_another_browser_continues_where_they_stopped(
    page, browser, live_server, link, project
):
    from playwright.sync_api import expect

    elsewhere = ProjectFactory(owner=project.owner, name="Another study")
    HITFactory(item__project=elsewhere)
    panel_side(page.context)
    page.goto(entry_path(link))
    # The panel identity sees its link's project only.
    page.goto("/work/")
    expect(page.locator("main")).to_contain_text(project.name)
    expect(page.locator("main")).not_to_contain_text("Another study")
    assert page.goto(f"/work/projects/{elsewhere.pk}/task/").status == 404
    page.goto(f"/work/projects/{project.pk}/task/")
    page.get_by_role("button", name="I have read version 1: show me tasks").click()
    answer_shown_task(page, "bird")
    expect(page.locator(".message")).to_contain_text("Saved")
    username = page.locator(".who").inner_text()

    other = browser.new_context(base_url=live_server.url)
    try:
        visited = panel_side(other)
        second = other.new_page()
        second.goto(entry_path(link, session="SESSION2"))
        # The guideline was acknowledged by this identity already: straight to a task.
        expect(second.locator(".who")).to_have_text(username)
        answer_shown_task(second, "cat")
        expect(second.locator("#completion-code")).to_have_text("C1MBPM0K")
        second.wait_for_url(f"{PROLIFIC}?cc=C1MBPM0K", timeout=10_000)
        assert visited == [f"{PROLIFIC}?cc=C1MBPM0K"]
    finally:
        other.close()

    participant = PanelParticipant.objects.get(link=link)
    assert participant.session_id == "SESSION2"
    assert Answer.objects.filter(worker=participant.user).count() == 2
