"""The project page's "Panel entry links" section: the owner sees each link's full entry URL,
creates and revokes links, and changes one on its edit page; nobody else can
(apps/panels/web/requester.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.panels.models import PanelLink
from tests.factories import PanelLinkFactory, PanelParticipantFactory
from tests.helpers.panels import done_path
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Prolific main",
    "quota": "25",
    "completion_code": "C1MBPM0K",
    "screened_out_code": "",
    "completion_url": "https://app.prolific.com/submissions/complete",
    "participant_param": "PROLIFIC_PID",
    "study_param": "STUDY_ID",
    "session_param": "SESSION_ID",
    "expires_at": "",
}


def page_of(project) -> str:
    return f"/requester/projects/{project.pk}/"


def create_url(project) -> str:
    return f"/requester/projects/{project.pk}/panel-links/"


def revoke_url(link) -> str:
    return f"/requester/projects/{link.project_id}/panel-links/{link.pk}/revoke/"


def test_the_project_page_shows_each_link_with_its_full_entry_url(project, requester, settings):
    settings.SITE_URL = "https://labels.example.org"
    link = PanelLinkFactory(project=project, name="Pilot", quota=7)
    text = client_for(requester).get(page_of(project)).content.decode()
    assert 'id="panel-links"' in text and "Pilot" in text
    entry = f"https://labels.example.org/enter/{link.token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
    assert f'value="{entry}&amp;STUDY_ID=' in text
    assert revoke_url(link) in text


def test_the_owner_creates_a_link_from_the_form(project, requester):
    client = client_for(requester)
    response = client.post(create_url(project), FORM)
    assert response.status_code == 302
    assert response["Location"] == f"{page_of(project)}#panel-links"
    link = PanelLink.objects.get(project=project)
    assert (link.name, link.quota, link.created_by) == ("Prolific main", 25, requester)
    assert link.token in client.get(page_of(project)).content.decode()


def test_a_bad_form_shows_the_page_again_with_the_errors(project, requester):
    body = {**FORM, "completion_url": "javascript:alert(1)", "study_param": "PROLIFIC_PID"}
    response = client_for(requester).post(create_url(project), body)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Enter a valid URL." in text
    assert "must differ" in text
    assert not PanelLink.objects.exists()


def test_an_expiry_in_the_past_is_refused_by_the_service(project, requester):
    body = {**FORM, "expires_at": "2020-01-01T10:00"}
    response = client_for(requester).post(create_url(project), body)
    assert response.status_code == 400 and "Must be in the future" in response.content.decode()


def test_the_owner_revokes_a_link(project, requester):
    link = PanelLinkFactory(project=project)
    client = client_for(requester)
    response = client.post(revoke_url(link))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == requester
    assert revoke_url(link) not in client.get(page_of(project)).content.decode()


def test_nobody_else_creates_or_revokes(project, other_requester, worker):
    link = PanelLinkFactory(project=project)
    for client, status in ((client_for(other_requester), 404), (client_for(worker), 403)):
        assert client.post(create_url(project), FORM).status_code == status
        assert client.post(revoke_url(link)).status_code == status
    anonymous = Client()
    assert anonymous.post(create_url(project), FORM)["Location"].startswith("/accounts/login/")
    link.refresh_from_db()
    assert link.revoked_at is None and PanelLink.objects.count() == 1


def test_another_requesters_page_does_not_list_my_links(project, other_requester):
    PanelLinkFactory(project=project, name="Secret study")
    mine = PanelLinkFactory(project__owner=other_requester).project
    text = client_for(other_requester).get(page_of(mine)).content.decode()
    assert "Secret study" not in text


# --- Changing a link on its own page ---------------------------------------------------------


def edit_url(link) -> str:
    return f"/requester/projects/{link.project_id}/panel-links/{link.pk}/"


def test_the_project_page_links_each_link_to_its_edit_page(project, requester):
    link = PanelLinkFactory(project=project)
    assert edit_url(link) in client_for(requester).get(page_of(project)).content.decode()


def test_the_edit_page_shows_the_links_values_in_its_form(project, requester):
    expires = timezone.now() + timedelta(days=3)
    link = PanelLinkFactory(project=project, name="Pilot", quota=7, expires_at=expires)
    response = client_for(requester).get(edit_url(link))
    assert response.status_code == 200
    form = response.context["form"]
    assert (form["name"].value(), form["quota"].value()) == ("Pilot", 7)
    shown = timezone.localtime(expires).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{shown}"' in response.content.decode()  # a datetime-local input reads it


def test_the_owner_saves_changes_and_goes_back_to_the_section(project, requester):
    link = PanelLinkFactory(project=project, name="Pilot", quota=7)
    body = {**FORM, "name": "Main", "quota": "12", "completion_code": "NEWC0DE"}
    response = client_for(requester).post(edit_url(link), body)
    assert response.status_code == 302
    assert response["Location"] == f"{page_of(project)}#panel-links"
    link.refresh_from_db()
    assert (link.name, link.quota, link.completion_code) == ("Main", 12, "NEWC0DE")


def test_a_bad_change_shows_the_form_again_and_saves_nothing(project, requester):
    link = PanelLinkFactory(project=project, name="Pilot", quota=7)
    body = {**FORM, "quota": "0", "study_param": "PROLIFIC_PID"}
    response = client_for(requester).post(edit_url(link), body)
    assert response.status_code == 400
    text = response.content.decode()
    assert "must differ" in text and "greater than or equal to 1" in text
    assert "Panel link “Pilot”" in text  # the title keeps the saved name
    link.refresh_from_db()
    assert (link.quota, link.study_param) == (7, "STUDY_ID")


def test_an_expiry_moved_into_the_past_is_refused_by_the_service(project, requester):
    link = PanelLinkFactory(project=project)
    response = client_for(requester).post(
        edit_url(link), {**FORM, "expires_at": "2020-01-01T10:00"}
    )
    assert response.status_code == 400 and "Must be in the future" in response.content.decode()
    link.refresh_from_db()
    assert link.expires_at is None


def test_a_new_code_is_what_a_participant_who_comes_back_sees(project, requester):
    link = PanelLinkFactory(project=project, completion_code="OLDC0DE")
    participant = PanelParticipantFactory(link=link, done=True)
    client_for(requester).post(edit_url(link), {**FORM, "completion_code": "NEWC0DE"})
    page = client_for(participant.user).get(done_path(link))
    assert page.status_code == 200
    assert "NEWC0DE" in page.content.decode() and "OLDC0DE" not in page.content.decode()


def test_nobody_else_sees_or_changes_the_edit_page(project, other_requester, worker):
    link = PanelLinkFactory(project=project, quota=7)
    for client, status in ((client_for(other_requester), 404), (client_for(worker), 403)):
        assert client.get(edit_url(link)).status_code == status
        assert client.post(edit_url(link), {**FORM, "quota": "1"}).status_code == status
    assert Client().get(edit_url(link))["Location"].startswith("/accounts/login/")
    link.refresh_from_db()
    assert link.quota == 7
