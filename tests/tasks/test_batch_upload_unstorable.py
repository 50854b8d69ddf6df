"""What the database cannot hold is a 400 naming the row and field, never a 500 or a hang.

Lone surrogates (a JSON "\\ud800" escape), NULs and numbers beyond a double, in any key or
value of every upload format, and bad upload options (query, form, header).
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.tasks.models import HIT, Batch, Item
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CSV, JSON, JSONL = "text/csv", "application/json", "application/x-ndjson"
SURROGATE = "\\ud800"  # as JSON text: json.loads makes it a lone surrogate


def upload(client, project, body: bytes, content_type: str, query: str = ""):
    url = f"/api/v1/projects/{project.id}/batches/{query}"
    return client.post(url, body, content_type=content_type)


def only_error(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_rows", body
    assert not Item.objects.exists()
    assert not HIT.objects.exists()
    batch = Batch.objects.get(pk=body["batch_id"])
    assert batch.status == Batch.Status.REJECTED
    assert batch.errors == body["errors"]
    assert len(body["errors"]) == 1, body["errors"]
    return body["errors"][0]


def jsonl(text: str) -> bytes:
    return (text + "\n").encode()


@pytest.mark.parametrize(
    ("body", "content_type", "field", "words"),
    [
        (jsonl('{"external_id": "s1", "text": "' + SURROGATE + '"}'), JSONL, "text", "surrogate"),
        (jsonl('[{"external_id": "s1", "text": "a' + SURROGATE + '"}]'), JSON, "text", "surro"),
        (jsonl('{"external_id": "s' + SURROGATE + '", "text": "t"}'), JSONL, "external_id", "sur"),
        (
            jsonl('{"external_id": "s1", "text": "t", "k' + SURROGATE + '": 1}'),
            JSONL,
            "k\\ud800",
            "surrogate",
        ),
        (
            jsonl('{"external_id": "s1", "text": "t", "meta": {"a": ["' + SURROGATE + '"]}}'),
            JSONL,
            "meta",
            "surrogate",
        ),
        (
            jsonl('{"external_id": "s1", "text": "t", "model_version": "' + SURROGATE + '"}'),
            JSONL,
            "model_version",
            "surrogate",
        ),
        (
            jsonl('{"external_id": "s1", "text": "t", "model_version": "m\\u0000"}'),
            JSONL,
            "model_version",
            "NUL",
        ),
        (jsonl('{"external_id": "s1", "text": "t", "k\\u0000": 1}'), JSONL, "k\\x00", "NUL"),
        (b"external_id,text,model_version\ns1,t,m\x00\n", CSV, "model_version", "NUL"),
        (
            b'external_id,text,features\ns1,t,"[""' + SURROGATE.encode() + b'""]"\n',
            CSV,
            "features",
            "surrogate",
        ),
        (jsonl('{"external_id": "s1", "text": "t", "score": 1e400}'), JSONL, "score", "finite"),
        (jsonl('[{"external_id": "s1", "text": "t", "n": [-1e999]}]'), JSON, "n", "finite"),
        (
            jsonl('{"external_id": "s1", "text": "t", "prediction": "cat", "confidence": 1e400}'),
            JSONL,
            "confidence",
            "[0, 1]",
        ),
        (b"external_id,text,prediction,confidence\ns1,t,cat,1e400\n", CSV, "confidence", "[0, 1]"),
    ],
)
def test_text_and_numbers_the_database_cannot_hold_are_row_errors(
    api_client_for, requester, project, body, content_type, field, words
):
    error = only_error(upload(api_client_for(requester), project, body, content_type))
    assert (error["row"], error["field"]) == (1, field)
    assert words in error["message"]


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("vector", {"external_id": "v1", "features": "[1e400, 2]"}),
        ("vector", {"external_id": "v1", "features": "[" + "9" * 400 + "]"}),
        ("image", {"external_id": "i1", "pixels": "[0, -1e400]"}),
    ],
)
def test_feature_and_pixel_numbers_must_fit_a_double(api_client_for, requester, kind, row):
    project = ProjectFactory(owner=requester, item_kind=kind)
    field = "features" if kind == "vector" else "pixels"
    body = json.dumps({"external_id": row["external_id"]})[:-1] + f', "{field}": {row[field]}}}'
    error = only_error(upload(api_client_for(requester), project, jsonl(body), JSONL))
    assert error["field"] == field
    assert "finite" in error["message"]


def test_a_literal_backslash_u0000_is_text_and_is_imported(api_client_for, requester, project):
    body = jsonl('{"external_id": "s1", "text": "C:\\\\u0000dir"}')
    response = upload(api_client_for(requester), project, body, JSONL)
    assert response.status_code == 201, response.content
    assert Item.objects.get().payload == {"text": "C:\\u0000dir"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?format=jsonl&model_version=" + "m" * 101, "model_version"),
        ("?format=jsonl&model_version=m%00", "model_version"),
        ("?format=xml", "format"),
        ("?format=%00%ED%A0%80", "format"),
        ("?format=" + "x" * 5000, "format"),
    ],
)
def test_a_bad_upload_query_parameter_is_a_400_naming_it(
    api_client_for, requester, project, query, field
):
    body = jsonl('{"external_id": "s1", "text": "t"}')
    response = upload(api_client_for(requester), project, body, JSONL, query)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]
    assert not Batch.objects.exists()


def test_a_nul_in_the_idempotency_key_is_a_400(api_client_for, requester, project):
    client = api_client_for(requester)
    body = jsonl('{"external_id": "s1", "text": "t"}')
    url = f"/api/v1/projects/{project.id}/batches/"
    response = client.post(url, body, content_type=JSONL, HTTP_IDEMPOTENCY_KEY="k\x00")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["Idempotency-Key"]


def test_the_web_form_rejects_a_lone_surrogate_with_its_row_error(client, requester, project):
    client.force_login(requester)
    body = jsonl('{"external_id": "s1", "text": "' + SURROGATE + '"}')
    file = SimpleUploadedFile("rows.jsonl", body, content_type="application/x-ndjson")
    url = f"/requester/projects/{project.id}/upload/"
    response = client.post(url, {"file": file, "format": "", "model_version": ""})
    assert response.status_code == 400
    assert b"surrogate" in response.content
    assert not Item.objects.exists()
