"""The OpenAPI schema builds without warnings and documents every operation's errors."""

import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    with django_db_blocker.unblock():
        call_command(
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
            "--file",
            str(path),
        )
    return json.loads(path.read_text())


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_an_error_response(schema):
    undocumented = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if not any(code.startswith("4") for code in operation["responses"])
    ]
    assert undocumented == []


def test_the_schema_and_the_docs_are_served(client, worker):
    # Signed-in users only by default: tests/test_security_headers.py.
    client.force_login(worker)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_the_main_resources_are_in_the_schema(schema):
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/auth/token/",
        "/api/v1/projects/",
        "/api/v1/projects/{project_id}/batches/",
        "/api/v1/work/next/",
        "/api/v1/projects/{project_id}/export",
    ):
        assert any(p.rstrip("/") == expected.rstrip("/") for p in paths), expected


def test_every_error_response_documents_the_error_shape(schema):
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "detail", "errors"}
    shapeless = [
        f"{method.upper()} {path} {code}"
        for path, method, operation in operations(schema)
        for code, response in operation["responses"].items()
        if code.startswith("4")
        and response.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/Error"}
    ]
    assert shapeless == []


def test_a_bad_page_or_a_malformed_request_is_documented(schema):
    for path, method, operation in operations(schema):
        names = {p["name"] for p in operation.get("parameters", [])}
        assert "400" in operation["responses"], (method, path)
        if names & {"page", "cursor"}:
            assert "404" in operation["responses"], (method, path)


def test_blank_and_null_values_the_api_returns_are_in_the_schema(schema):
    components = schema["components"]["schemas"]
    for name in ("Item", "ItemDetail", "ConsensusItem"):
        choices = components[name]["properties"]["label_source"]["oneOf"]
        assert {"$ref": "#/components/schemas/BlankEnum"} in choices, name
    assert components["LearningSettings"]["properties"]["updated_at"]["nullable"] is True
