"""The worker's account page: linked from the worker pages, for workers only; change my
password (Django's form: the current one, the validators; this browser stays signed in, the
others and my API tokens do not) and my address (its link when the deployment sends email);
my groups, and leaving one (mine only)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from knox.models import AuthToken

from apps.crowds.models import Membership
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, WorkerGroupFactory
from tests.helpers.mail import delivered, link_in, sent_to
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

PAGE = "/work/account/"
NEW_PASSWORD = "violet-kettle-harbour-42"


def change_password(client, old=PASSWORD, new=NEW_PASSWORD, again=None):
    body = {"old_password": old, "new_password1": new, "new_password2": again or new}
    return client.post(f"{PAGE}password/", body)


def change_email(client, email, password=PASSWORD):
    with delivered():
        return client.post(f"{PAGE}email/", {"email": email, "current_password": password})


def test_the_worker_pages_link_to_the_account_page(worker):
    assert PAGE.encode() in client_for(worker).get("/work/").content


def test_the_page_shows_my_address_and_both_forms(worker):
    page = client_for(worker).get(PAGE)
    assert page.status_code == 200
    assert b"worker@example.org" in page.content
    assert b'name="old_password"' in page.content
    assert b'name="current_password"' in page.content


def test_anonymous_visitors_go_to_the_login_and_requesters_get_403(client, requester):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client_for(requester).get(PAGE).status_code == 403
    assert client_for(requester).post(f"{PAGE}password/", {}).status_code == 403


def test_a_new_password_keeps_this_browser_and_ends_the_others(worker, other_worker):
    here = client_for(worker)
    elsewhere = client_for(worker)
    bystander = client_for(other_worker)
    AuthToken.objects.create(worker)
    AuthToken.objects.create(other_worker)

    response = change_password(here)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert here.get(PAGE).status_code == 200
    assert elsewhere.get(PAGE).status_code == 302
    assert bystander.get(PAGE).status_code == 200
    assert not AuthToken.objects.filter(user=worker).exists()
    assert AuthToken.objects.filter(user=other_worker).exists()
    login = {"username": "worker", "password": NEW_PASSWORD}
    assert Client().post("/accounts/login/", login).status_code == 302


@pytest.mark.parametrize(
    ("old", "new", "again", "message"),
    [
        ("guess", NEW_PASSWORD, None, b"Your old password was entered incorrectly"),
        (PASSWORD, "12345678", None, b"This password is too common."),
        (PASSWORD, NEW_PASSWORD, "something-else-42", b"The two password fields"),
    ],
)
def test_a_refused_password_change_shows_why_and_changes_nothing(worker, old, new, again, message):
    client = client_for(worker)
    response = change_password(client, old=old, new=new, again=again)
    assert response.status_code == 400
    assert message in response.content
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD)


def test_without_email_a_new_address_is_used_at_once(worker):
    client = client_for(worker)
    response = change_email(client, "new@example.org")
    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.email == "new@example.org"
    assert b"Your address is now new@example.org." in client.get(PAGE).content
    assert mail.outbox == []


def test_with_email_the_page_sends_a_link_to_the_new_address(worker, email_on):
    client = client_for(worker)
    change_email(client, "new@example.org")
    assert b"We sent a link to new@example.org" in client.get(PAGE).content
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"
    client.post(link_in(sent_to("new@example.org")[0]))
    worker.refresh_from_db()
    assert worker.email == "new@example.org"


def test_a_wrong_password_or_address_is_shown_on_the_email_form(worker, other_worker):
    client = client_for(worker)
    wrong = change_email(client, "new@example.org", password="guess")
    assert wrong.status_code == 400
    assert b"This is not your current password." in wrong.content
    taken = change_email(client, other_worker.email)
    assert taken.status_code == 400
    assert b"An account already uses this address." in taken.content
    worker.refresh_from_db()
    assert worker.email == "worker@example.org"


def test_an_identity_without_a_password_is_told_why_there_is_nothing_to_change(worker):
    worker.set_unusable_password()
    worker.save()
    page = client_for(worker).get(PAGE)
    assert page.status_code == 200
    assert b"signs in through a link and has no password" in page.content
    assert b'name="old_password"' not in page.content


# --- My groups --------------------------------------------------------------------------------


@pytest.fixture
def labs(requester):
    """The requester's group, a private project open to it, and another requester's group."""
    group = WorkerGroupFactory(owner=requester, name="Lab members")
    project = ProjectFactory(owner=requester, name="Lab only", visibility="private", groups=[group])
    elsewhere = WorkerGroupFactory(name="Other lab")
    return group, project, elsewhere


def test_the_page_lists_my_groups_and_not_other_workers(worker, other_worker, labs):
    group, _, elsewhere = labs
    MembershipFactory(group=group, worker=worker)
    MembershipFactory(group=elsewhere, worker=other_worker)
    page = client_for(worker).get(PAGE)
    assert b"Lab members" in page.content
    assert b"<td>owner</td>" in page.content  # the group's requester
    assert b"Other lab" not in page.content
    alone = client_for(other_worker).get(PAGE)
    assert b"Other lab" in alone.content
    assert b"Lab members" not in alone.content


def test_a_worker_in_no_group_is_told_so(worker):
    assert b"You are in no group" in client_for(worker).get(PAGE).content


def test_leaving_a_group_closes_its_private_projects(worker, other_worker, labs):
    group, project, _ = labs
    MembershipFactory(group=group, worker=worker)
    MembershipFactory(group=group, worker=other_worker)
    client = client_for(worker)
    assert b"Lab only" in client.get("/work/").content

    response = client.post(f"{PAGE}groups/{group.pk}/leave/")

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert b"You left Lab members" in client.get(PAGE).content
    assert not Membership.objects.filter(group=group, worker=worker).exists()
    assert b"Lab only" not in client.get("/work/").content
    assert client.get(f"/work/projects/{project.pk}/task/").status_code == 404
    # The other member stays.
    assert Membership.objects.filter(group=group, worker=other_worker).exists()


def test_leaving_a_group_i_am_not_in_is_a_404_and_changes_nothing(worker, other_worker, labs):
    _, _, elsewhere = labs
    MembershipFactory(group=elsewhere, worker=other_worker)
    response = client_for(worker).post(f"{PAGE}groups/{elsewhere.pk}/leave/")
    assert response.status_code == 404
    assert client_for(worker).post(f"{PAGE}groups/999999/leave/").status_code == 404
    assert Membership.objects.filter(group=elsewhere, worker=other_worker).exists()


def test_requesters_and_anonymous_visitors_cannot_leave_for_a_worker(
    client, requester, worker, labs
):
    group, _, _ = labs
    MembershipFactory(group=group, worker=worker)
    assert client_for(requester).post(f"{PAGE}groups/{group.pk}/leave/").status_code == 403
    anonymous = client.post(f"{PAGE}groups/{group.pk}/leave/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert Membership.objects.filter(group=group, worker=worker).exists()
