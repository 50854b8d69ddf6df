import pytest

from apps.tasks.models import Item, Project
from tests.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

NEW_PROJECT = {
    "name": "Sentiment",
    "item_kind": "text",
    "labels": ["positive", "negative"],
    "min_overlap": 3,
    "max_overlap": 5,
    "confidence_threshold": 0.8,
}


def test_a_requester_creates_a_project_and_owns_it(api_client_for, requester):
    response = api_client_for(requester).post("/api/v1/projects/", NEW_PROJECT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "owner"
    assert body["labels"] == ["positive", "negative"]
    assert body["item_counts"]["waiting"] == 0
    assert Project.objects.get(pk=body["id"]).owner == requester


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labels": ["only-one"]}, "labels"),
        ({"labels": ["a", "a"]}, "labels"),
        ({"labels": "a,b"}, "labels"),
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"min_overlap": 4, "max_overlap": 2}, "max_overlap"),
        ({"item_kind": "video"}, "item_kind"),
        ({"gold_share": -0.1}, "gold_share"),
    ],
)
def test_it_names_the_invalid_field(api_client_for, requester, change, field):
    response = api_client_for(requester).post(
        "/api/v1/projects/", {**NEW_PROJECT, **change}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Project.objects.exists()


def test_the_list_holds_only_my_projects(api_client_for, requester, other_requester):
    mine = ProjectFactory(owner=requester)
    ProjectFactory(owner=other_requester)
    response = api_client_for(requester).get("/api/v1/projects/")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [mine.id]


def test_another_requester_gets_404_on_my_project(api_client_for, project, other_requester):
    client = api_client_for(other_requester)
    assert client.get(f"/api/v1/projects/{project.id}/").status_code == 404
    patch = client.patch(f"/api/v1/projects/{project.id}/", {"name": "mine"}, format="json")
    assert patch.status_code == 404
    project.refresh_from_db()
    assert project.name == "Animals"


def test_workers_and_anonymous_are_refused(api_client_for, project, worker):
    for client, code in [(api_client_for(worker), 403), (api_client_for(), 401)]:
        assert client.get("/api/v1/projects/").status_code == code
        assert client.get(f"/api/v1/projects/{project.id}/").status_code == code
        assert client.post("/api/v1/projects/", NEW_PROJECT, format="json").status_code == code


def test_an_admin_sees_every_project(api_client_for, project, admin_user):
    response = api_client_for(admin_user).get(f"/api/v1/projects/{project.id}/")
    assert response.status_code == 200


def test_the_owner_moves_the_slider(api_client_for, requester, project):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.id}/", {"confidence_threshold": 0.75}, format="json"
    )
    assert response.status_code == 200, response.content
    project.refresh_from_db()
    assert project.confidence_threshold == 0.75


def test_labels_in_use_cannot_be_removed_but_new_ones_can_be_added(
    api_client_for, requester, project
):
    ItemFactory(project=project, state=Item.State.WAITING)
    client = api_client_for(requester)
    url = f"/api/v1/projects/{project.id}/"
    removed = client.patch(url, {"labels": ["cat", "dog"]}, format="json")
    assert removed.status_code == 400
    assert "labels" in removed.json()["errors"]
    added = client.patch(url, {"labels": ["cat", "dog", "bird", "fish"]}, format="json")
    assert added.status_code == 200
    kind = client.patch(url, {"item_kind": "vector"}, format="json")
    assert kind.status_code == 400
    assert "item_kind" in kind.json()["errors"]


RULES = {
    "block_below_spam_score": 0.45,
    "block_below_skill": 0.3,
    "block_min_answers": 30,
    "block_gold_accuracy": 0.55,
    "block_min_gold": 8,
}


def test_the_blocking_rules_go_through_create_read_and_update(api_client_for, requester):
    client = api_client_for(requester)
    created = client.post("/api/v1/projects/", {**NEW_PROJECT, **RULES}, format="json")
    assert created.status_code == 201, created.content
    assert {name: created.json()[name] for name in RULES} == RULES
    project = Project.objects.get(pk=created.json()["id"])
    assert {name: getattr(project, name) for name in RULES} == RULES

    url = f"/api/v1/projects/{project.pk}/"
    off = {"block_below_spam_score": 0, "block_gold_accuracy": 0}
    assert client.patch(url, off, format="json").status_code == 200
    read = client.get(url).json()
    assert read["block_below_spam_score"] == 0 and read["block_gold_accuracy"] == 0
    assert read["block_min_gold"] == 8


def test_a_project_made_without_rules_gets_the_defaults_on(api_client_for, requester):
    body = api_client_for(requester).post("/api/v1/projects/", NEW_PROJECT, format="json").json()
    assert (
        body["block_below_spam_score"] == Project._meta.get_field("block_below_spam_score").default
    )
    assert body["block_below_spam_score"] > 0 and body["block_gold_accuracy"] > 0


@pytest.mark.parametrize(
    "change",
    [
        {"block_below_spam_score": 1.5},
        {"block_below_spam_score": -0.1},
        {"block_gold_accuracy": 2},
        {"block_below_skill": "high"},
        {"block_min_answers": -1},
        {"block_min_gold": 10**12},
    ],
)
def test_a_bad_blocking_rule_is_a_400_naming_the_field(api_client_for, requester, project, change):
    client = api_client_for(requester)
    created = client.post("/api/v1/projects/", {**NEW_PROJECT, **change}, format="json")
    assert created.status_code == 400
    assert set(change) <= set(created.json()["errors"])
    patched = client.patch(f"/api/v1/projects/{project.pk}/", change, format="json")
    assert patched.status_code == 400
    assert set(change) <= set(patched.json()["errors"])
