"""The requester's project page of a HIT type: set and clear its categorical answer field
(the service of the API's PUT label-field/), refusals under the form's fields, audited as the
API path is."""

from __future__ import annotations

import pytest

from apps.mturk.answers import question_form_answers
from apps.tasks.models import Answer, AuditEvent
from tests import factories
from tests.helpers.web import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def hit_type(requester):
    return factories.HITTypeFactory(requester=requester)


def url_of(hit_type) -> str:
    return f"/requester/mturk/hit-types/{hit_type.hit_type_id}/label-field/"


def page_of(hit_type) -> str:
    return f"/requester/projects/{hit_type.project_id}/"


def updates(project) -> list[tuple[object, dict]]:
    events = AuditEvent.objects.filter(project=project, action=AuditEvent.Action.PROJECT_UPDATE)
    return [(event.actor, event.changes) for event in events.order_by("pk")]


def test_the_project_page_shows_the_hit_type_and_its_form(requester, hit_type):
    page = client_for(requester).get(page_of(hit_type)).content.decode()

    assert hit_type.hit_type_id in page and 'id="label-field-form"' in page
    assert "The answers are free form" in page


def test_a_native_projects_page_has_no_mturk_section(requester):
    project = factories.ProjectFactory(owner=requester)
    page = client_for(requester).get(f"/requester/projects/{project.pk}/").content.decode()
    assert 'id="label-field-form"' not in page


def test_setting_the_field_labels_the_answers_and_is_audited(requester, hit_type):
    hit = factories.MturkHITFactory(hit_type=hit_type, requester=requester)
    given = factories.MturkAssignmentFactory(
        mturk_hit=hit, answer=question_form_answers([("category", "dog")])
    )
    client = client_for(requester)

    response = client.post(url_of(hit_type), {"field": " category ", "labels": "cat\ndog"})

    assert response.status_code == 302
    assert response["Location"] == page_of(hit_type) + "#mturk"
    hit_type.refresh_from_db()
    hit_type.project.refresh_from_db()
    assert (hit_type.label_field, hit_type.project.labels) == ("category", ["cat", "dog"])
    assert Answer.objects.get(assignment=given.task_assignment).label == "dog"
    assert updates(hit_type.project) == [
        (requester, {"label_field": ["", "category"], "labels": [[], ["cat", "dog"]]})
    ]
    page = client.get(page_of(hit_type)).content.decode()
    assert "is categorical" in page and "Make the answers free form again" in page


def test_clearing_it_makes_the_answers_free_form_again(requester, hit_type):
    client = client_for(requester)
    assert (
        client.post(url_of(hit_type), {"field": "category", "labels": "cat, dog"}).status_code
        == 302
    )

    response = client.post(url_of(hit_type), {"clear": "1", "field": "category", "labels": "x"})

    assert response.status_code == 302
    hit_type.refresh_from_db()
    hit_type.project.refresh_from_db()
    assert (hit_type.label_field, hit_type.project.labels) == ("", [])
    assert updates(hit_type.project)[-1] == (
        requester,
        {"label_field": ["category", ""], "labels": [["cat", "dog"], []]},
    )


def test_saving_the_same_values_again_records_no_event(requester, hit_type):
    client = client_for(requester)
    body = {"field": "category", "labels": "cat\ndog"}
    assert client.post(url_of(hit_type), body).status_code == 302
    assert client.post(url_of(hit_type), body).status_code == 302
    assert len(updates(hit_type.project)) == 1


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"field": "category", "labels": "cat"}, "labels", "between 2 and 50"),
        ({"field": "category", "labels": "cat\ncat"}, "labels", "distinct"),
        ({"field": "", "labels": "cat\ndog"}, "field", "Name the form field"),
        ({"field": "assignmentId", "labels": "cat\ndog"}, "field", "A form field"),
        ({"field": "x" * 256, "labels": "cat\ndog"}, "field", "at most 255"),
    ],
)
def test_a_refusal_is_shown_under_its_field(requester, hit_type, body, field, message):
    response = client_for(requester).post(url_of(hit_type), body)

    assert response.status_code == 400
    form = response.context["label_field_form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert message in response.content.decode()
    hit_type.project.refresh_from_db()
    assert hit_type.project.labels == []
    assert updates(hit_type.project) == []


def test_only_the_owner_may_set_it(other_requester, worker, client, hit_type):
    body = {"field": "category", "labels": "cat\ndog"}
    assert client_for(other_requester).post(url_of(hit_type), body).status_code == 404
    assert client_for(worker).post(url_of(hit_type), body).status_code == 403
    anonymous = client.post(url_of(hit_type), body)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    hit_type.project.refresh_from_db()
    assert hit_type.project.labels == []


def test_the_api_path_is_audited_the_same_way(requester, api_client_for, hit_type):
    response = api_client_for(requester).put(
        f"/api/v1/mturk/hit-types/{hit_type.hit_type_id}/label-field/",
        {"field": "category", "labels": ["cat", "dog"]},
        format="json",
    )
    assert response.status_code == 200
    assert updates(hit_type.project) == [
        (requester, {"label_field": ["", "category"], "labels": [[], ["cat", "dog"]]})
    ]
