"""Every learning endpoint: the owner may, another requester gets 404, a worker 403, no
token 401; plus the settings and listing endpoints themselves."""

from __future__ import annotations

import pytest

from apps.models.models import LearningSettings, ModelVersion, TrainingRun
from apps.models.services.training import model_retrain
from tests.helpers.pets import labeled, waiting

ENDPOINTS = [
    ("get", "models/", None),
    ("get", "models/active", None),
    ("get", "models/runs", None),
    ("post", "models/retrain", None),
    ("get", "models/rescore", None),
    ("get", "learning-settings", None),
    ("patch", "learning-settings", {"audit_share": 0.2}),
    ("post", "predict", {"payload": {"text": "meow"}}),
    ("post", "items/{item}/feedback", {"label": "cat", "accepted": False}),
]


@pytest.fixture
def item(pets):
    return waiting(pets, ["meow"])[0]


def call(client, method, pets, item, path, body):
    url = f"/api/v1/projects/{pets.pk}/" + path.format(item=item.pk)
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "status"), [("other_requester", 404), ("worker", 403), (None, 401)]
)
def test_only_the_owner_may_use_it(
    request, api_client_for, pets, item, method, path, body, who, status
):
    user = request.getfixturevalue(who) if who else None
    response = call(api_client_for(user), method, pets, item, path, body)
    assert response.status_code == status, response.content
    assert set(response.json()) >= {"code", "detail", "errors"}


# What the owner gets on a project with no model yet: the 409s are the endpoints' own answer
# to "nothing trained or re-scored yet", not a refusal of the caller.
OWNER_GETS = {
    ("get", "models/"): 200,
    ("get", "models/active"): 409,
    ("get", "models/runs"): 200,
    ("post", "models/retrain"): 202,  # queued on commit: no run exists yet, so never 409
    ("get", "models/rescore"): 409,
    ("get", "learning-settings"): 200,
    ("patch", "learning-settings"): 200,
    ("post", "predict"): 202,  # no model: the item goes to people
    ("post", "items/{item}/feedback"): 201,
}
NOT_YET = {"models/active": "no_active_model", "models/rescore": "no_rescore"}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_the_owner_and_an_admin_may_use_it(
    api_client_for, requester, admin_user, pets, item, method, path, body, sync_q
):
    for user in (requester, admin_user):
        response = call(api_client_for(user), method, pets, item, path, body)
        assert response.status_code == OWNER_GETS[(method, path)], response.content
        if response.status_code == 409:
            assert response.json()["code"] == NOT_YET[path]


def test_versions_and_the_active_one_are_listed(pets, worker, requester, api_client_for):
    labeled(pets, 100, worker)
    model_retrain(project_id=pets.pk)
    model_retrain(project_id=pets.pk)
    client = api_client_for(requester)

    versions = client.get(f"/api/v1/projects/{pets.pk}/models/").json()
    active = client.get(f"/api/v1/projects/{pets.pk}/models/active").json()
    runs = client.get(f"/api/v1/projects/{pets.pk}/models/runs").json()

    assert [v["number"] for v in versions] == [2, 1]
    assert active["number"] == 1 and active["labels_by_source"] == {"crowd": 100}
    assert [r["status"] for r in runs] == ["kept_old", "promoted"]


def test_manual_retrain_through_the_api_runs_the_job(
    pets, worker, requester, api_client_for, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(requester).post(f"/api/v1/projects/{pets.pk}/models/retrain")
    assert response.status_code == 202
    assert TrainingRun.objects.get(project=pets).trigger == "manual"
    assert ModelVersion.objects.filter(project=pets, is_active=True).exists()
    progress = api_client_for(requester).get(f"/api/v1/projects/{pets.pk}/models/rescore")
    assert progress.status_code == 200 and progress.json()["status"] == "finished"


def test_a_retrain_while_one_runs_is_a_conflict(pets, requester, api_client_for):
    TrainingRun.objects.create(project=pets)
    response = api_client_for(requester).post(f"/api/v1/projects/{pets.pk}/models/retrain")
    assert response.status_code == 409 and response.json()["code"] == "retrain_running"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"audit_share": 2}, "audit_share"),
        ({"strategy": "psychic"}, "strategy"),
        ({"promotion_metric": "vibes"}, "promotion_metric"),
        ({"learning_config": {"C": 1, "bogus": 2}}, "learning_config"),
        ({"retrain_after_labels": 0}, "retrain_after_labels"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(pets, requester, api_client_for, body, field):
    url = f"/api/v1/projects/{pets.pk}/learning-settings"
    response = api_client_for(requester).patch(url, body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_settings_are_changed_and_pre_annotation_starts_off(requester, api_client_for):
    from tests import factories

    project = factories.ProjectFactory(owner=requester)
    url = f"/api/v1/projects/{project.pk}/learning-settings"
    client = api_client_for(requester)
    assert client.get(url).json()["pre_annotation"] is False
    response = client.patch(url, {"strategy": "cluster_margin", "audit_share": 0.1})
    assert response.status_code == 200 and response.json()["strategy"] == "cluster_margin"
    assert LearningSettings.objects.get(project=project).audit_share == 0.1


def test_the_dashboard_page_shows_versions_and_charts_to_the_owner_only(
    pets, worker, requester, other_requester, client, django_assert_max_num_queries
):
    labeled(pets, 100, worker)
    model_retrain(project_id=pets.pk)
    url = f"/requester/projects/{pets.pk}/models/"

    client.force_login(requester)
    with django_assert_max_num_queries(18):  # 4 for the loop card (loop_now)
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"p{pets.pk}-v1" in body and body.count("<svg") == 3

    client.force_login(other_requester)
    assert client.get(url).status_code == 404
    client.force_login(worker)
    assert client.get(url).status_code == 403
