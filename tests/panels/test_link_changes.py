"""PATCH projects/{id}/panel-links/{link_id}/: the owner changes a link's requester-set fields
(apps.panels.services.panel_link_update); the token and the participants stay, and the
participant's way through follows the new values. Another requester gets 404, a worker 403,
no token 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.panels.errors import PanelQuotaReached
from apps.panels.models import PanelLink, PanelParticipant
from apps.panels.services import panel_link_update
from apps.tasks.models import AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests.factories import HITFactory, PanelLinkFactory, PanelParticipantFactory
from tests.helpers.panels import PID, entry_path

pytestmark = pytest.mark.django_db

PROLIFIC_DONE = "https://app.prolific.com/submissions/complete"


def link_url(link) -> str:
    return f"/api/v1/projects/{link.project_id}/panel-links/{link.pk}/"


@pytest.fixture
def link(project):
    project.gold_share = 0
    project.save()
    HITFactory.create_batch(4, item__project=project)
    return PanelLinkFactory(project=project, quota=3, completion_code="C1MBPM0K")


def answer(worker, project) -> None:
    lease = assignment_claim(worker=worker, project=project)
    assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)


def test_the_owner_changes_a_links_fields_and_the_trail_keeps_old_and_new(
    link, requester, api_client_for
):
    change = {
        "name": "Main study",
        "quota": 10,
        "completion_code": "NEWC0DE",
        "screened_out_code": "SCRN0UT",
        "completion_url": PROLIFIC_DONE,
        "participant_param": "workerId",
    }
    token = link.token
    response = api_client_for(requester).patch(link_url(link), change, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert {name: body[name] for name in change} == change
    assert body["entry_url"].endswith(
        f"/enter/{token}/?workerId={{{{%workerId%}}}}"
        "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    link.refresh_from_db()
    assert (link.token, link.quota, link.participant_param) == (token, 10, "workerId")
    event = AuditEvent.objects.get(action="panel_link_update")
    assert event.actor == requester and event.object_id == str(link.pk)
    assert event.changes["quota"] == [3, 10]
    assert event.changes["completion_code"] == ["C1MBPM0K", "NEWC0DE"]
    assert "study_param" not in event.changes  # not sent, not changed


def test_a_patch_that_changes_nothing_leaves_no_trail(link, requester, api_client_for):
    client = api_client_for(requester)
    assert client.patch(link_url(link), {"quota": 3}, format="json").status_code == 200
    assert client.patch(link_url(link), {}, format="json").status_code == 200
    assert not AuditEvent.objects.filter(action="panel_link_update").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quota": 0}, "quota"),
        ({"quota": "many"}, "quota"),
        ({"completion_code": ""}, "completion_code"),
        ({"completion_code": "has space"}, "completion_code"),
        ({"completion_url": "javascript:alert(1)"}, "completion_url"),
        ({"participant_param": "has space"}, "participant_param"),
        ({"study_param": "PROLIFIC_PID"}, "session_param"),  # names must differ
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field_and_change_nothing(
    link, requester, api_client_for, change, field
):
    response = api_client_for(requester).patch(link_url(link), change, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    fresh = PanelLink.objects.get(pk=link.pk)
    assert (fresh.quota, fresh.completion_code, fresh.study_param, fresh.name) == (
        3,
        "C1MBPM0K",
        "STUDY_ID",
        link.name,
    )


def test_a_new_expiry_reopens_an_expired_link_and_an_old_one_may_stay(
    project, requester, api_client_for
):
    past = timezone.now() - timedelta(minutes=1)
    link = PanelLinkFactory(project=project, expires_at=past)
    client = api_client_for(requester)
    # Sending the expiry it has is no change, even though it is past.
    same = client.patch(link_url(link), {"expires_at": past.isoformat()}, format="json")
    assert same.status_code == 200 and same.json()["state"] == "expired"
    later = (timezone.now() + timedelta(days=2)).isoformat()
    reopened = client.patch(link_url(link), {"expires_at": later}, format="json")
    assert reopened.status_code == 200 and reopened.json()["state"] == "active"
    never = client.patch(link_url(link), {"expires_at": None}, format="json")
    assert never.status_code == 200 and never.json()["expires_at"] is None


def test_a_revoked_link_stays_revoked_when_changed(project, requester, api_client_for):
    link = PanelLinkFactory(project=project, revoked=True)
    response = api_client_for(requester).patch(link_url(link), {"quota": 9}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["quota"]) == ("revoked", 9)


def test_a_lower_quota_holds_from_the_participants_next_task(link, project):
    participant = PanelParticipantFactory(link=link)
    answer(participant.user, project)
    answer(participant.user, project)
    assignment_claim(worker=participant.user, project=project)  # below 3: served
    panel_link_update(link=link, by=None, quota=2)
    with pytest.raises(PanelQuotaReached):
        assignment_claim(worker=participant.user, project=project)


def test_new_parameter_names_let_the_same_participant_back_under_them(link):
    assert Client().get(entry_path(link)).status_code == 302
    first = PanelParticipant.objects.get(link=link)

    link = panel_link_update(link=link, by=None, participant_param="workerId")
    # Under the old name the id is missing now: refused, as any visit without it is.
    assert Client().get(f"/enter/{link.token}/?PROLIFIC_PID={PID}").status_code == 400
    again = Client()
    assert again.get(entry_path(link)).status_code == 302  # ?workerId=PID
    assert PanelParticipant.objects.get(link=link) == first
    assert int(again.session["_auth_user_id"]) == first.user_id


def test_another_requester_gets_404_a_worker_403_and_no_token_401(
    link, other_requester, worker, api_client_for
):
    for user, status in ((other_requester, 404), (worker, 403), (None, 401)):
        response = api_client_for(user).patch(link_url(link), {"quota": 1}, format="json")
        assert response.status_code == status, user
    assert PanelLink.objects.get(pk=link.pk).quota == 3


def test_a_link_is_changed_only_through_its_own_project(link, requester, api_client_for):
    mine = PanelLinkFactory(project__owner=requester).project
    url = f"/api/v1/projects/{mine.pk}/panel-links/{link.pk}/"
    assert api_client_for(requester).patch(url, {"quota": 1}, format="json").status_code == 404
    assert PanelLink.objects.get(pk=link.pk).quota == 3


def test_an_admin_changes_any_projects_link(link, admin_user, api_client_for):
    response = api_client_for(admin_user).patch(link_url(link), {"quota": 4}, format="json")
    assert response.status_code == 200 and response.json()["quota"] == 4
