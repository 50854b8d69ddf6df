"""projects/{id}/panel-links/...: the owner lists, creates, reads and revokes a project's
panel entry links; another requester gets 404, a worker 403, no token 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.panels.models import PanelLink
from apps.tasks.models import AuditEvent
from tests.factories import PanelLinkFactory, PanelParticipantFactory

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Pilot on Prolific",
    "quota": 20,
    "completion_code": "C1MBPM0K",
    "completion_url": "https://app.prolific.com/submissions/complete",
}


def links_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/panel-links/"


def link_url(link, action: str = "") -> str:
    return f"/api/v1/projects/{link.project_id}/panel-links/{link.pk}/{action}"


def test_the_owner_creates_a_link_and_gets_its_entry_url(
    project, requester, api_client_for, settings
):
    settings.SITE_URL = "https://labels.example.org/"
    response = api_client_for(requester).post(links_url(project), NEW, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    link = PanelLink.objects.get(pk=body["id"])
    assert len(link.token) >= 32
    assert body["entry_url"] == (
        f"https://labels.example.org/enter/{link.token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
        "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert (body["state"], body["quota"], body["participants"], body["done"]) == (
        "active",
        20,
        0,
        0,
    )
    assert (body["participant_param"], body["study_param"], body["session_param"]) == (
        "PROLIFIC_PID",
        "STUDY_ID",
        "SESSION_ID",
    )
    assert link.created_by == requester
    event = AuditEvent.objects.get(action="panel_link_create")
    assert event.actor == requester and event.changes == {"name": NEW["name"], "quota": 20}


def test_custom_parameter_names_make_the_entry_url(project, requester, api_client_for):
    body = {**NEW, "participant_param": "workerId", "study_param": "hitId", "session_param": "a"}
    response = api_client_for(requester).post(links_url(project), body, format="json")
    assert response.status_code == 201
    assert response.json()["entry_url"].endswith(
        "?workerId={{%workerId%}}&hitId={{%hitId%}}&a={{%a%}}"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quota": 0}, "quota"),
        ({"quota": 100_001}, "quota"),
        ({"completion_code": ""}, "completion_code"),
        ({"completion_code": "has space"}, "completion_code"),
        ({"screened_out_code": "=HYPERLINK()"}, "screened_out_code"),
        ({"completion_url": "javascript:alert(1)"}, "completion_url"),
        ({"completion_url": "ftp://example.org/"}, "completion_url"),
        ({"participant_param": "has space"}, "participant_param"),
        ({"study_param": "PROLIFIC_PID"}, "session_param"),  # names must differ
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(project, requester, api_client_for, change, field):
    response = api_client_for(requester).post(links_url(project), {**NEW, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not PanelLink.objects.exists()


def test_the_owner_lists_and_reads_the_links_with_their_counts(project, requester, api_client_for):
    old = PanelLinkFactory(project=project, name="old")
    new = PanelLinkFactory(project=project, name="new")
    PanelParticipantFactory(link=new)
    PanelParticipantFactory(link=new, done=True)
    PanelLinkFactory(name="elsewhere")
    client = api_client_for(requester)

    listed = client.get(links_url(project)).json()
    assert [row["name"] for row in listed] == ["new", "old"]
    assert (listed[0]["participants"], listed[0]["done"]) == (2, 1)
    detail = client.get(link_url(old))
    assert detail.status_code == 200 and detail.json()["name"] == "old"


def test_revoking_ends_the_link_once(project, requester, api_client_for):
    link = PanelLinkFactory(project=project)
    client = api_client_for(requester)
    first = client.post(link_url(link, "revoke/"))
    assert first.status_code == 200 and first.json()["state"] == "revoked"
    revoked_at = first.json()["revoked_at"]
    again = client.post(link_url(link, "revoke/"))
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked_at
    assert AuditEvent.objects.filter(action="panel_link_revoke").count() == 1


def test_an_expired_link_reads_as_expired(project, requester, api_client_for):
    link = PanelLinkFactory(project=project, expires_at=timezone.now() - timedelta(seconds=1))
    assert api_client_for(requester).get(link_url(link)).json()["state"] == "expired"


def test_another_requester_can_neither_see_nor_create_nor_revoke(
    project, other_requester, api_client_for
):
    link = PanelLinkFactory(project=project)
    client = api_client_for(other_requester)
    assert client.get(links_url(project)).status_code == 404
    assert client.post(links_url(project), NEW, format="json").status_code == 404
    assert client.get(link_url(link)).status_code == 404
    assert client.post(link_url(link, "revoke/")).status_code == 404
    assert client.get(link_url(link, "export")).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None and PanelLink.objects.count() == 1


def test_a_link_is_reached_only_through_its_own_project(project, requester, api_client_for):
    """My other project's id with this link's id: 404, not the link."""
    link = PanelLinkFactory(project=project)
    mine = PanelLinkFactory(project__owner=requester).project
    client = api_client_for(requester)
    assert client.get(f"/api/v1/projects/{mine.pk}/panel-links/{link.pk}/").status_code == 404


def test_a_worker_gets_403_and_no_token_401(project, worker, api_client_for):
    link = PanelLinkFactory(project=project)
    for client, status in ((api_client_for(worker), 403), (api_client_for(None), 401)):
        assert client.get(links_url(project)).status_code == status
        assert client.post(links_url(project), NEW, format="json").status_code == status
        assert client.post(link_url(link, "revoke/")).status_code == status
        assert client.get(link_url(link, "export")).status_code == status


def test_an_admin_manages_any_projects_links(project, admin_user, api_client_for):
    response = api_client_for(admin_user).post(links_url(project), NEW, format="json")
    assert response.status_code == 201
