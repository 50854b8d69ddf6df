"""One bad row rejects the whole batch: 400 `invalid_rows`, nothing written, a rejected Batch."""

from __future__ import annotations

import json

import pytest

from apps.tasks.models import HIT, Batch, Item
from tests.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

HEADER = b"external_id,text,prediction,confidence\n"
GOOD = b"a1,a purring thing,cat,0.95\n"
CSV, JSON, JSONL = "text/csv", "application/json", "application/x-ndjson"


def upload(client, project, body: bytes, content_type: str = CSV):
    return client.post(f"/api/v1/projects/{project.id}/batches/", body, content_type=content_type)


def rejected(response) -> list[dict]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert body["error_count"] >= len(body["errors"]) >= 1
    assert not Item.objects.exists()
    assert not HIT.objects.exists()
    batch = Batch.objects.get(pk=body["batch_id"])
    assert (batch.status, batch.idempotency_key) == (Batch.Status.REJECTED, None)
    assert batch.errors == body["errors"]
    assert batch.error_count == body["error_count"]
    return body["errors"]


def only_error(response) -> dict:
    errors = rejected(response)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(
    ("body", "content_type", "row", "line", "field", "words"),
    [
        (HEADER + GOOD + b"a2,caf\xe9 au lait,,\n", CSV, 2, 3, None, "UTF-8"),
        (b'{"external_id": "a1", "text": "\xff"}\n', JSONL, 1, 1, None, "UTF-8"),
        (b'[{"external_id": "a1",\n "text": "\xff"}]', JSON, 1, 2, None, "UTF-8"),
        (b"id,text\nx,hello\n", CSV, 0, 1, "external_id", "Missing column"),
        (b"external_id,body\nx,hello\n", CSV, 0, 1, "text", "Missing column"),
        (HEADER + GOOD + b"a2,dog,dog,0.5,surplus\n", CSV, 2, 3, None, "5 cells"),
        (HEADER + b"a2,short\n", CSV, 1, 2, None, "2 cells"),
        (HEADER + b"a2,a lion,lion,0.5\n", CSV, 1, 2, "prediction", "label set"),
        (HEADER + b"a2,a lion,cat,high\n", CSV, 1, 2, "confidence", "[0, 1]"),
        (HEADER + b"a2,a lion,cat,1.5\n", CSV, 1, 2, "confidence", "[0, 1]"),
        (HEADER + b"a2,a lion,cat,-0.1\n", CSV, 1, 2, "confidence", "[0, 1]"),
        (HEADER + b"a2,a lion,cat,nan\n", CSV, 1, 2, "confidence", "[0, 1]"),
        (HEADER + b"a2,a lion,,0.5\n", CSV, 1, 2, "confidence", "needs a prediction"),
        (HEADER + b",a lion,cat,0.5\n", CSV, 1, 2, "external_id", "Required"),
        (HEADER + b"a2,,cat,0.5\n", CSV, 1, 2, "text", "text"),
        (
            b'{"external_id": "g", "text": "t", "gold_label": "emu"}\n',
            JSONL,
            1,
            1,
            "gold_label",
            "label set",
        ),
        (
            b'{"external_id": "x", "text": "t", "confidence": true, "prediction": "cat"}\n',
            JSONL,
            1,
            1,
            "confidence",
            "[0, 1]",
        ),
        (
            b'{"external_id": "x", "text": "t"}\n{"external_id": "y", "text": \n',
            JSONL,
            2,
            2,
            None,
            "Malformed JSON",
        ),
        (
            b'[{"external_id": "x", "text": "t"},\n {"external_id": "y" "text": "u"}]',
            JSON,
            2,
            2,
            None,
            "Malformed JSON",
        ),
        (b'[{"external_id": "x", "text": "t"}', JSON, 1, 1, None, "Malformed JSON"),
        (b'{"rows": []}', JSON, 1, 1, None, "'['"),
        (b'[{"external_id": "x", "text": "t"}] trailing', JSON, 1, 1, None, "after"),
        (b'["just a string"]', JSON, 1, 1, None, "not a JSON object"),
        (b'{"external_id": "x", "text": "t", "n": NaN}\n', JSONL, 1, 1, None, "Malformed JSON"),
        (
            b'{"external_id": "x", "payload": {"text": "t"}, "extra": 1}\n',
            JSONL,
            1,
            1,
            "extra",
            "Unexpected",
        ),
        (b'{"external_id": "x", "payload": "text"}\n', JSONL, 1, 1, "payload", "object"),
        (b'{"external_id": "x", "text": "nul \\u0000"}\n', JSONL, 1, 1, "text", "NUL"),
    ],
)
def test_a_bad_row_rejects_the_batch_naming_row_line_and_field(
    api_client_for, requester, project, body, content_type, row, line, field, words
):
    error = only_error(upload(api_client_for(requester), project, body, content_type))
    assert (error["row"], error["line"], error["field"]) == (row, line, field), error
    assert words in error["message"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", CSV), (HEADER, CSV), (b"", JSONL), (b"\n\n", JSONL), (b"[]", JSON), (b"", JSON)],
)
def test_an_empty_file_is_rejected(api_client_for, requester, project, body, content_type):
    error = only_error(upload(api_client_for(requester), project, body, content_type))
    assert "no rows" in error["message"]


def test_a_duplicate_external_id_names_both_rows(api_client_for, requester, project):
    body = HEADER + GOOD + b"a2,x,,\n" + b"a1,again,,\n"
    error = only_error(upload(api_client_for(requester), project, body))
    assert (error["row"], error["line"], error["field"]) == (3, 4, "external_id")
    assert "rows 1 and 3" in error["message"]


def test_an_existing_external_id_with_other_content_is_an_error(api_client_for, requester, project):
    ItemFactory(project=project, external_id="a1", payload={"text": "something else"})
    before = Item.objects.count()
    response = upload(api_client_for(requester), project, HEADER + GOOD)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["row"], error["field"]) == (1, "external_id")
    assert "different content" in error["message"]
    assert Item.objects.count() == before


def test_the_same_external_id_in_another_project_is_fine(api_client_for, requester, project):
    ItemFactory(project=ProjectFactory(owner=requester), external_id="a1")
    response = upload(api_client_for(requester), project, HEADER + GOOD)
    assert response.status_code == 201, response.content


def test_every_bad_row_is_counted_and_the_first_100_are_listed(api_client_for, requester, project):
    body = HEADER + b"".join(b"x%d,t,lion,0.5\n" % n for n in range(150)) + GOOD
    errors = rejected(upload(api_client_for(requester), project, body))
    assert len(errors) == 100
    assert [e["row"] for e in errors] == list(range(1, 101))
    response_count = Batch.objects.get().error_count
    assert response_count == 150


def test_a_vector_row_needs_a_list_of_numbers(api_client_for, requester):
    project = ProjectFactory(owner=requester, item_kind="vector")
    body = b'external_id,features\nv1,"[1, 2]"\nv2,"[1, ""a""]"\nv3,not json\n'
    errors = rejected(upload(api_client_for(requester), project, body))
    assert [(e["row"], e["field"]) for e in errors] == [(2, "features"), (3, "features")]


def test_an_image_row_needs_pixels_or_a_url(api_client_for, requester):
    project = ProjectFactory(owner=requester, item_kind="image")
    rows = [
        {"external_id": "i1", "image_url": "https://example.org/1.png"},
        {"external_id": "i2", "pixels": [0, 255, 3]},
        {"external_id": "i3", "image_url": "file:///etc/passwd"},
    ]
    body = json.dumps(rows).encode()
    error = only_error(upload(api_client_for(requester), project, body, JSON))
    assert (error["row"], error["field"]) == (3, "image_url")


def test_a_rejected_batch_can_be_read_back_with_its_errors(api_client_for, requester, project):
    client = api_client_for(requester)
    response = upload(client, project, HEADER + b"a2,a lion,lion,0.5\n")
    batch = client.get(f"/api/v1/batches/{response.json()['batch_id']}/").json()
    assert batch["status"] == "rejected"
    assert batch["error_count"] == 1
    assert batch["errors"][0]["field"] == "prediction"
