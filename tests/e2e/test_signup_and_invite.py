"""Coming in through the pages in a real browser: signing up where sign-up is open, and
joining a private group through an invite link (sign up through the link, land in the group,
see its private project and work on it); a link that has expired or was revoked shows a clear
page and lets nobody in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.crowds.models import Membership
from apps.crowds.services import invite_create, invite_revoke
from apps.workers.models import User
from tests.factories import (
    GuidelineVersionFactory,
    HITFactory,
    ProjectFactory,
    WorkerGroupFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "plum-orchard-42"


def fill_signup(page, username: str, *, again: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(again)
    page.get_by_role("button", name="Sign up").click()


def test_a_visitor_signs_up_on_the_page_where_sign_up_is_open(page, settings):
    from playwright.sync_api import expect

    settings.WORKER_SIGNUP = "open"
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.locator("h1")).to_have_text("Sign up")
    expect(page.locator("main")).to_contain_text("This deployment sends no email")

    # The form's own check first: the page comes back with the error and the fields.
    fill_signup(page, "newbie", again="something-else-42")
    expect(page.locator(".error")).to_contain_text("The two passwords differ.")
    assert not User.objects.filter(username="newbie").exists()

    fill_signup(page, "newbie")
    page.wait_for_url("**/work/")
    expect(page.locator(".message").first).to_contain_text("Welcome, newbie.")
    expect(page.locator(".who")).to_contain_text("newbie")
    user = User.objects.get(username="newbie")
    assert (user.role, user.email, user.email_verified) == (
        "worker",
        "newbie@example.org",
        False,
    )

    # The account works: the account page shows it, unconfirmed.
    page.goto("/work/account/")
    expect(page.locator(".account-email")).to_contain_text("newbie@example.org (not confirmed)")


@pytest.fixture
def private_crowd(requester):
    group = WorkerGroupFactory(owner=requester, name="Bird watchers")
    project = ProjectFactory(
        owner=requester, name="Rare birds", visibility="private", groups=[group], gold_share=0
    )
    GuidelineVersionFactory(project=project, number=1, text="Name **the bird**.")
    HITFactory(item__project=project, item__payload={"text": "A small red bird"})
    ProjectFactory(owner=requester, name="Other private", visibility="private")
    return group, project


def test_a_visitor_signs_up_through_an_invite_link_and_lands_in_the_group(
    page, settings, private_crowd, requester
):
    from playwright.sync_api import expect

    settings.WORKER_SIGNUP = "invite"
    group, project = private_crowd
    new = invite_create(group=group, by=requester, max_uses=5)

    page.goto(f"/invite/{new.token}/")
    page.wait_for_url("**/invite/")  # the token leaves the address bar
    expect(page.locator("h1")).to_have_text("Join “Bird watchers”")
    page.get_by_role("link", name="Sign up").click()
    expect(page.locator("main")).to_contain_text("You are joining “Bird watchers”")
    fill_signup(page, "birder")

    page.wait_for_url("**/work/")
    expect(page.locator(".message").first).to_contain_text("You are in “Bird watchers”")
    main = page.locator("main")
    expect(main).to_contain_text("Rare birds")
    expect(main).not_to_contain_text("Other private")
    birder = User.objects.get(username="birder")
    membership = Membership.objects.get(worker=birder)
    assert (membership.group_id, membership.source) == (group.pk, "invite")
    new.invite.refresh_from_db()
    assert new.invite.uses == 1

    # The private project serves them its task.
    page.goto(f"/work/projects/{project.pk}/task/")
    page.get_by_role("button", name="I have read version 1: show me tasks").click()
    expect(page.locator(".item-text")).to_contain_text("A small red bird")


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        ("expire", "This invite link has expired. Ask the requester for a new one."),
        ("revoke", "This invite link was withdrawn. Ask the requester for a new one."),
    ],
)
def test_an_expired_or_revoked_link_shows_a_clear_page_and_lets_nobody_in(
    page, settings, private_crowd, requester, spoil, says
):
    from playwright.sync_api import expect

    settings.WORKER_SIGNUP = "invite"
    group, _ = private_crowd
    new = invite_create(group=group, by=requester)
    if spoil == "expire":
        type(new.invite).objects.filter(pk=new.invite.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    else:
        invite_revoke(invite=new.invite)

    response = page.goto(f"/invite/{new.token}/")
    assert response.status == 410
    expect(page.locator("h1")).to_have_text("Join “Bird watchers”")
    expect(page.locator("[role=alert]")).to_have_text(says)
    expect(page.get_by_role("link", name="Sign up")).to_have_count(0)
    expect(page.get_by_role("button", name="Join the group")).to_have_count(0)

    # The sign-up page, opened by hand with the spoilt link in the session, refuses as well.
    response = page.goto("/accounts/signup/")
    assert response.status == 410
    expect(page.locator("[role=alert]")).to_be_visible()
    expect(page.locator("form button", has_text="Sign up")).to_have_count(0)
    assert not Membership.objects.filter(group=group).exists()


def test_an_unknown_link_is_a_clear_404_page(page, settings):
    from playwright.sync_api import expect

    settings.WORKER_SIGNUP = "invite"
    response = page.goto("/invite/not-a-real-token/")
    assert response.status == 404
    expect(page.locator("[role=alert]")).to_be_visible()
