"""Upload limits through the API: nesting depth, line length, header width (400s, not 500s)."""

from __future__ import annotations

import pytest

from apps.tasks.models import Batch, Item
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

CSV, JSON, JSONL = "text/csv", "application/json", "application/x-ndjson"
DEEP = "[" * 50_000 + "]" * 50_000


def upload(client, project, body: bytes, content_type: str):
    url = f"/api/v1/projects/{project.id}/batches/"
    return client.post(url, body, content_type=content_type)


def first_error(response) -> dict:
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert not Item.objects.exists()
    assert Batch.objects.get(pk=body["batch_id"]).status == Batch.Status.REJECTED
    return body["errors"][0]


@pytest.mark.parametrize(
    ("kind", "body", "content_type", "field"),
    [
        ("text", f'{{"external_id": "a", "text": "t", "n": {DEEP}}}\n', JSONL, None),
        ("text", f'[{{"external_id": "a", "text": "t", "n": {DEEP}}}]', JSON, None),
        ("text", DEEP, JSON, None),
        ("vector", f'external_id,features\na,"{DEEP}"\n', CSV, "features"),
        ("image", f'external_id,pixels\na,"{DEEP}"\n', CSV, "pixels"),
    ],
)
def test_deeply_nested_json_is_a_row_error_in_every_format(
    api_client_for, requester, kind, body, content_type, field
):
    project = ProjectFactory(owner=requester, item_kind=kind)
    error = first_error(upload(api_client_for(requester), project, body.encode(), content_type))
    assert (error["row"], error["field"]) == (1, field)
    assert "nested deeper than 64 levels" in error["message"]


def test_a_header_over_the_column_limit_is_a_400_naming_the_limit(
    api_client_for, requester, project
):
    header = ",".join(["external_id", "text", *(f"c{i}" for i in range(50_000))])
    body = f"{header}\na,t{',' * 50_000}\n".encode()
    error = first_error(upload(api_client_for(requester), project, body, CSV))
    assert (error["row"], error["line"]) == (0, 1)
    assert "50002 columns: at most 1000 (UPLOAD_MAX_COLUMNS)" in error["message"]


def test_the_column_limit_comes_from_the_settings(api_client_for, requester, project, settings):
    settings.UPLOAD_MAX_COLUMNS = 3
    body = b"external_id,text,a,b\nx,t,1,2\n"
    error = first_error(upload(api_client_for(requester), project, body, CSV))
    assert "at most 3" in error["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "line"),
    [
        (b'{"external_id": "a", "text": "t"}\n{"external_id": "b", "text": "%s"}\n', JSONL, 2),
        (b"external_id,text\na,t\nb,%s\n", CSV, 3),
        (b'[{"external_id": "a", "text": "t"},\n{"external_id": "b", "text": "%s"}]', JSON, 2),
    ],
)
def test_a_row_over_the_line_limit_is_a_400_naming_its_line(
    api_client_for, requester, project, settings, body, content_type, line
):
    settings.UPLOAD_MAX_LINE_BYTES = 10_000
    body = body.replace(b"%s", b"x" * 20_000)
    error = first_error(upload(api_client_for(requester), project, body, content_type))
    assert (error["row"], error["line"]) == (2, line)
    assert "10000 bytes (UPLOAD_MAX_LINE_BYTES)" in error["message"]
