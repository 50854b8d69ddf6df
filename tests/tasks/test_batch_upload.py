"""POST /api/v1/projects/{id}/batches/: formats, routing, idempotency and limits."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.tasks.models import HIT, Batch, Item
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

CSV = (
    "external_id,text,prediction,confidence\n"
    "a1,a purring thing,cat,0.9\n"
    "a2,a barking thing,dog,0.8999999\n"
    "a3,a thing,,\n"
)
ROWS = [
    {"external_id": "a1", "text": "a purring thing", "prediction": "cat", "confidence": 0.9},
    {"external_id": "a2", "text": "a barking thing", "prediction": "dog", "confidence": 0.8999999},
    {"external_id": "a3", "text": "a thing"},
]


def url(project) -> str:
    return f"/api/v1/projects/{project.id}/batches/"


def post(client, project, body, content_type="text/csv", query="", **headers):
    if isinstance(body, str):
        body = body.encode()
    return client.post(url(project) + query, body, content_type=content_type, **headers)


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def assert_routed_at_the_threshold(project, body) -> None:
    """a1 sits exactly at the 0.9 threshold (auto-labeled); a2 just below it; a3 has none."""
    assert body["rows"] == 3
    assert body["created"] == 3
    assert body["auto_labeled"] == 1
    assert body["sent_to_people"] == 2
    assert body["done"] == 1
    auto = Item.objects.get(project=project, external_id="a1")
    assert auto.state == Item.State.AUTO_LABELED
    assert (auto.final_label, auto.label_source, auto.final_confidence) == ("cat", "model", 0.9)
    assert not HIT.objects.filter(item=auto).exists()
    for external_id in ("a2", "a3"):
        item = Item.objects.get(project=project, external_id=external_id)
        assert item.state == Item.State.WAITING
        assert item.final_label == ""
        assert item.hit.answers_wanted == project.min_overlap
        assert item.hit.priority == 0
        assert not item.hit.is_gold
    assert Item.objects.get(external_id="a2").prediction == "dog"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/csv", CSV),
        ("application/json", json.dumps(ROWS)),
        ("application/x-ndjson", jsonl(ROWS)),
        ("application/jsonl", jsonl(ROWS)),
    ],
)
def test_each_format_routes_rows_at_the_threshold(
    api_client_for, requester, project, content_type, body
):
    response = post(api_client_for(requester), project, body, content_type)
    assert response.status_code == 201, response.content
    assert response.json()["format"] in ("csv", "json", "jsonl")
    assert_routed_at_the_threshold(project, response.json())
    assert Item.objects.get(external_id="a1").payload == {"text": "a purring thing"}


def test_a_multipart_file_is_imported(api_client_for, requester, project):
    upload = SimpleUploadedFile("animals.csv", CSV.encode(), content_type="text/csv")
    response = api_client_for(requester).post(
        url(project), {"file": upload, "model_version": "m-7"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["file_name"] == "animals.csv"
    assert_routed_at_the_threshold(project, response.json())
    assert set(Item.objects.values_list("model_version", flat=True)) == {"m-7"}


def test_the_format_query_parameter_overrides_the_content_type(api_client_for, requester, project):
    response = post(
        api_client_for(requester),
        project,
        jsonl(ROWS),
        "application/octet-stream",
        "?format=jsonl&model_version=v2",
    )
    assert response.status_code == 201, response.content
    assert response.json()["format"] == "jsonl"
    assert Item.objects.get(external_id="a1").model_version == "v2"


def test_an_unknown_format_is_named(api_client_for, requester, project):
    response = post(api_client_for(requester), project, CSV, "application/octet-stream")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]


def test_a_row_model_version_beats_the_batch_one(api_client_for, requester, project):
    rows = [{**ROWS[0], "model_version": "row-v"}, ROWS[1]]
    response = post(
        api_client_for(requester),
        project,
        jsonl(rows),
        "application/x-ndjson",
        "?model_version=batch-v",
    )
    assert response.status_code == 201
    versions = dict(Item.objects.values_list("external_id", "model_version"))
    assert versions == {"a1": "row-v", "a2": "batch-v"}


def test_a_gold_row_waits_for_people_as_a_gold_hit_even_when_confident(
    api_client_for, requester, project
):
    rows = [{"external_id": "g1", "text": "meow", "gold_label": "cat", "prediction": "cat",
             "confidence": 0.99}]  # fmt: skip
    response = post(api_client_for(requester), project, jsonl(rows), "application/x-ndjson")
    assert response.status_code == 201, response.content
    assert response.json()["gold"] == 1
    item = Item.objects.get(external_id="g1")
    assert (item.state, item.is_gold, item.gold_label, item.final_label) == (
        "waiting", True, "cat", "",
    )  # fmt: skip
    assert item.hit.is_gold


def test_a_json_row_may_carry_its_payload_object(api_client_for, requester, project):
    rows = [{"external_id": 7, "payload": {"text": "hi", "lang": "en"}}]
    response = post(api_client_for(requester), project, json.dumps(rows), "application/json")
    assert response.status_code == 201, response.content
    assert Item.objects.get(external_id="7").payload == {"text": "hi", "lang": "en"}


def test_vector_features_in_a_csv_cell_are_parsed_as_json(api_client_for, requester):
    from tests.factories import ProjectFactory

    project = ProjectFactory(owner=requester, item_kind="vector")
    body = 'external_id,features,source\nv1,"[0.5, 1, -2]",lab\n'
    response = post(api_client_for(requester), project, body)
    assert response.status_code == 201, response.content
    assert Item.objects.get(external_id="v1").payload == {"features": [0.5, 1, -2], "source": "lab"}


# --- Idempotency --------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_first_batch_and_creates_nothing(
    api_client_for, requester, project
):
    client = api_client_for(requester)
    first = post(client, project, CSV, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, project, CSV, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Batch.objects.count() == 1
    assert (Item.objects.count(), HIT.objects.count()) == (3, 2)


def test_the_same_key_with_another_body_is_a_conflict(api_client_for, requester, project):
    client = api_client_for(requester)
    assert post(client, project, CSV, HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    other = post(client, project, CSV + "a4,new,,\n", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert Item.objects.count() == 3


def test_the_same_body_without_a_key_is_a_replay(api_client_for, requester, project):
    client = api_client_for(requester)
    first = post(client, project, CSV)
    again = post(client, project, CSV)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert (Batch.objects.count(), Item.objects.count(), HIT.objects.count()) == (1, 3, 2)


def test_rows_sent_again_in_a_new_file_are_skipped_not_doubled(api_client_for, requester, project):
    client = api_client_for(requester)
    assert post(client, project, CSV).status_code == 201
    response = post(client, project, CSV + "a4,something new,,\n")
    assert response.status_code == 201, response.content
    assert (response.json()["rows"], response.json()["created"]) == (4, 1)
    assert response.json()["sent_to_people"] == 1
    assert (Item.objects.count(), HIT.objects.count()) == (4, 3)


def test_a_rejected_upload_does_not_use_up_its_key(api_client_for, requester, project):
    client = api_client_for(requester)
    bad = post(client, project, CSV.replace("cat,0.9", "lion,0.9"), HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 400
    good = post(client, project, CSV, HTTP_IDEMPOTENCY_KEY="k-2")
    assert good.status_code == 201, good.content
    assert Batch.objects.get(pk=bad.json()["batch_id"]).idempotency_key is None


# --- Limits -------------------------------------------------------------------------------


def test_a_body_over_the_byte_limit_gets_413(api_client_for, requester, project, settings):
    settings.UPLOAD_MAX_BYTES = 40
    response = post(api_client_for(requester), project, CSV)
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert not Item.objects.exists()
    assert not Batch.objects.exists()


def test_a_multipart_file_over_the_byte_limit_gets_413(
    api_client_for, requester, project, settings
):
    settings.UPLOAD_MAX_BYTES = 60
    upload = SimpleUploadedFile("big.csv", CSV.encode() * 3, content_type="text/csv")
    response = api_client_for(requester).post(url(project), {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert not Item.objects.exists()


def test_a_body_over_the_row_limit_gets_413(api_client_for, requester, project, settings):
    settings.UPLOAD_MAX_ROWS = 2
    response = post(api_client_for(requester), project, CSV)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_rows"
    assert "UPLOAD_MAX_ROWS" in response.json()["detail"]
    assert not Item.objects.exists()


def test_an_existing_identical_item_from_another_path_is_skipped(
    api_client_for, requester, project
):
    ItemFactory(project=project, external_id="a3", payload={"text": "a thing"})
    response = post(api_client_for(requester), project, CSV)
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2
    assert Item.objects.filter(project=project).count() == 3
