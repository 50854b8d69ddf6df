"""A HIT type's project (kind mturk): no label set needed, a lease as long as MTurk allowed,
and the native learning loop (uploads, predictions, retraining, the consensus) kept off it,
while native projects keep their rules."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.tasks.models import HIT, AggregationRun, AggregationState, Project
from apps.tasks.selectors.invariants import project_invariants_broken
from apps.tasks.services.consensus.scheduling import aggregation_request, consensus_drain
from hitlcrowd.errors import InvalidInput, full_clean
from tests import factories

YEAR = 365 * 24 * 3600


def test_an_mturk_project_needs_no_label_set_and_may_lease_for_a_year(db):
    project = factories.HITTypeFactory(assignment_duration_seconds=YEAR).project
    assert (project.kind, project.labels, project.lease_seconds) == ("mturk", [], YEAR)
    full_clean(project)
    assert not project.has_consensus


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labels": []}, "labels"),
        ({"labels": ["one"]}, "labels"),
        ({"lease_seconds": 86401}, "lease_seconds"),
    ],
)
def test_a_native_project_keeps_its_label_set_and_its_day_long_lease(db, change, field):
    project = factories.ProjectFactory.build(owner=factories.RequesterFactory(), **change)
    with pytest.raises(InvalidInput) as raised:
        full_clean(project)
    assert list(raised.value.errors) == [field]


def test_a_native_project_made_through_the_api_still_needs_its_labels(requester, api_client_for):
    client = api_client_for(requester)
    response = client.post("/api/v1/projects/", {"name": "p", "labels": ["x"]}, format="json")
    assert response.status_code == 400 and "labels" in response.json()["errors"]


@pytest.fixture
def mturk_project(db) -> Project:
    return factories.MturkHITFactory().hit_type.project


@pytest.mark.parametrize(
    ("path", "body", "word"),
    [
        ("batches/", {"file": None}, "uploading a batch"),
        ("predict", {"payload": {"text": "x"}}, "predict"),
        ("models/retrain", None, "retraining a model"),
    ],
)
def test_the_learning_loop_refuses_an_mturk_project(
    mturk_project, api_client_for, path, body, word
):
    client = api_client_for(mturk_project.owner)
    url = f"/api/v1/projects/{mturk_project.pk}/{path}"
    if path == "batches/":
        response = client.post(url, b"external_id,text\na,b\n", content_type="text/csv")
    else:
        response = client.post(url, body, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "mturk_project" and word in response.json()["detail"]
    assert mturk_project.items.count() == 1  # the HIT's own item, nothing more


def test_a_consensus_request_on_an_mturk_project_runs_nothing(mturk_project):
    assert aggregation_request(project_id=mturk_project.pk)
    assert consensus_drain(project_id=mturk_project.pk) == 0
    assert not AggregationRun.objects.exists()
    assert not AggregationState.objects.get(project=mturk_project).pending


def test_the_native_api_lists_a_hit_types_project(mturk_project, api_client_for):
    response = api_client_for(mturk_project.owner).get("/api/v1/projects/")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [mturk_project.pk]


def test_the_requesters_pages_and_api_show_a_hit_types_project(
    mturk_project, api_client_for, client
):
    response = api_client_for(mturk_project.owner).get(f"/api/v1/projects/{mturk_project.pk}/")
    assert response.status_code == 200 and response.json()["labels"] == []
    client.force_login(mturk_project.owner)
    for url in (
        reverse("requester-projects"),
        reverse("requester-project", args=[mturk_project.pk]),
    ):
        assert client.get(url).status_code == 200


def test_an_mturk_projects_waiting_items_of_done_or_expired_hits_break_no_invariant(db):
    done = factories.MturkHITFactory(task_hit__state=HIT.State.DONE)
    project = done.hit_type.project
    factories.MturkHITFactory(hit_type=done.hit_type, task_hit__state=HIT.State.EXPIRED)
    assert project_invariants_broken(project_id=project.pk) == {}
    native = factories.HITFactory(state=HIT.State.DONE).project  # its waiting item is stranded
    assert "waiting_hit_closed" in project_invariants_broken(project_id=native.pk)
