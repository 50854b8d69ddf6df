import csv
import io
import json

import pytest

from apps.tasks.models import Item
from apps.tasks.selectors.items import item_iter_values, item_list_for_project
from tests.factories import BatchFactory, ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def export(client, project, query=""):
    return client.get(f"/api/v1/projects/{project.id}/export?{query}")


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def jsonl_rows(response) -> list[dict]:
    return [json.loads(line) for line in body(response).splitlines()]


@pytest.fixture
def labeled(project):
    batch = BatchFactory(project=project)
    return [
        ItemFactory(
            project=project,
            batch=batch,
            external_id="auto-1",
            payload={"text": "a cat", "source": "web"},
            prediction="cat",
            confidence=0.96,
            model_version="m1",
            state=Item.State.AUTO_LABELED,
            final_label="cat",
            label_source=Item.Source.MODEL,
            final_confidence=0.96,
        ),
        ItemFactory(
            project=project,
            batch=batch,
            external_id="crowd-1",
            payload={"text": 'a dog, "quoted"\nover two lines'},
            prediction="cat",
            confidence=0.4,
            state=Item.State.CONSENSUS,
            final_label="dog",
            label_source=Item.Source.CROWD,
            final_confidence=0.9,
            posterior={"cat": 0.05, "dog": 0.9, "bird": 0.05},
        ),
        ItemFactory(
            project=project,
            external_id="gold-1",
            payload={"text": "a bird"},
            is_gold=True,
            gold_label="bird",
        ),
    ]


def test_the_csv_export_has_one_row_per_item_with_results_and_payload(
    api_client_for, requester, project, labeled
):
    response = export(api_client_for(requester), project, "format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="animals-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows = csv_rows(response)
    assert [r["external_id"] for r in rows] == ["auto-1", "crowd-1", "gold-1"]
    auto, crowd, gold = rows
    assert (auto["state"], auto["final_label"], auto["label_source"]) == (
        "auto_labeled",
        "cat",
        "model",
    )
    assert (auto["final_confidence"], auto["model_version"]) == ("0.96", "m1")
    assert auto["batch"] == str(labeled[0].batch_id)
    assert (auto["text"], auto["source"]) == ("a cat", "web")
    assert (crowd["p_cat"], crowd["p_dog"], crowd["p_bird"]) == ("0.05", "0.9", "0.05")
    assert crowd["text"] == 'a dog, "quoted"\nover two lines'
    assert (gold["is_gold"], gold["gold_label"], gold["source"]) == ("true", "bird", "")
    assert gold["final_label"] == ""


def test_the_jsonl_export_keeps_the_payload_and_posterior_as_objects(
    api_client_for, requester, project, labeled
):
    response = export(api_client_for(requester), project, "format=jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.jsonl"')
    rows = jsonl_rows(response)
    assert [r["external_id"] for r in rows] == ["auto-1", "crowd-1", "gold-1"]
    assert rows[0]["payload"] == {"text": "a cat", "source": "web"}
    assert rows[1]["posterior"] == {"cat": 0.05, "dog": 0.9, "bird": 0.05}
    assert rows[1]["final_confidence"] == 0.9
    assert (rows[2]["is_gold"], rows[2]["gold_label"]) == (True, "bird")
    assert rows[2]["prediction"] is None


def test_it_filters_by_state_and_batch(api_client_for, requester, project, labeled):
    client = api_client_for(requester)
    rows = jsonl_rows(export(client, project, "format=jsonl&state=consensus,auto_labeled"))
    assert [r["external_id"] for r in rows] == ["auto-1", "crowd-1"]
    rows = jsonl_rows(export(client, project, "format=jsonl&state=waiting&state=consensus"))
    assert [r["external_id"] for r in rows] == ["crowd-1", "gold-1"]
    batch = labeled[0].batch_id
    rows = csv_rows(export(client, project, f"format=csv&batch={batch}&state=consensus"))
    assert [r["external_id"] for r in rows] == ["crowd-1"]


def test_an_empty_csv_export_still_has_its_header(api_client_for, requester, project):
    text = body(export(api_client_for(requester), project, "format=csv&state=resolved"))
    assert text.startswith("external_id,state,final_label")
    assert len(text.splitlines()) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [("format=xml", "format"), ("state=done", "state"), ("batch=x1", "batch")],
)
def test_a_bad_parameter_is_a_400_naming_the_field(
    api_client_for, requester, project, query, field
):
    response = export(api_client_for(requester), project, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_batch_of_another_project_is_a_400(api_client_for, requester, project, other_requester):
    foreign = BatchFactory(project=ProjectFactory(owner=other_requester))
    response = export(api_client_for(requester), project, f"batch={foreign.id}")
    assert response.status_code == 400
    assert "batch" in response.json()["errors"]


def test_only_the_owner_and_admins_may_export(
    api_client_for, project, labeled, other_requester, worker, admin_user
):
    assert export(api_client_for(other_requester), project).status_code == 404
    assert export(api_client_for(worker), project).status_code == 403
    assert export(api_client_for(), project).status_code == 401
    assert len(csv_rows(export(api_client_for(admin_user), project))) == 3


def test_keyset_chunks_cover_every_item_once(project):
    made = ItemFactory.create_batch(7, project=project)
    ItemFactory(project=ProjectFactory())
    chunks = list(item_iter_values(item_list_for_project(project=project), [], chunk_size=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert [row[0] for c in chunks for row in c] == [i.id for i in made]


def test_the_export_reads_in_chunks_with_a_bounded_query_count(
    api_client_for, requester, project, django_assert_max_num_queries
):
    ItemFactory.create_batch(30, project=project)
    client = api_client_for(requester)
    # token + project + payload keys + one chunk + the empty end: independent of item count.
    with django_assert_max_num_queries(7):
        assert len(csv_rows(export(client, project, "format=csv"))) == 30
