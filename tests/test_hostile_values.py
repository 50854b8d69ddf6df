"""Every JSON field and query parameter of every operation, given each value of the classes
issue 12 found reaching a 500: the answer is a success or a 4xx in the error shape, never a 5xx.

Schemathesis (tests/test_schemathesis.py) explores at random; this is the deterministic
complement: the same hostile values at every field, read from the OpenAPI schema, so a new
field or parameter is covered the day it is added.
"""

from __future__ import annotations

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.apiworld import World, seed_world

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
EXCLUDED = ("/auth/logout", "/batches/")  # logout revokes the token; uploads: tests/tasks
DEEP = json.loads("[" * 60 + "]" * 60)  # under the parser's limit: reaches the serializers
# Raw JSON text, spliced into the body: some of these cannot be written by json.dumps.
HOSTILE_JSON = [
    '"a\\u0000b"',
    '"\\ud800"',
    '"\u00b2"',
    '"\u0661\u0662"',
    '"1e400"',
    '"NaN"',
    '"-Infinity"',
    "1e308",
    "-1e308",
    "1e400",
    str(2**63 - 1),
    str(-(2**63) + 1),
    "99999999999999999999",
    "-1",
    "0",
    "0.5",
    "true",
    "null",
    '""',
    '"  "',
    json.dumps("x" * 100_000),
    "[]",
    '["a", "a"]',
    "{}",
    '{"text": 5}',
    json.dumps(DEEP),
    json.dumps({"features": [1e308, -1e308, 0]}),
    json.dumps({"pixels": "abc"}),
]
HOSTILE_QUERY = [
    "a\x00b",
    "\u00b2",
    "\u0661",
    "-1",
    "0",
    "99999999999999999999",
    "1e400",
    "NaN",
    "",
    "x" * 10_000,
    "\ufffd",
    "cat,,dog",
]
# A valid body per operation, so one hostile field at a time reaches past "field required".
VALID_BODIES = {
    "/api/v1/auth/token/": {"username": "world-worker", "password": "x"},
    "/api/v1/projects/": {"name": "P", "labels": ["a", "b"]},
    "/api/v1/projects/{project_id}/items/{item_id}/feedback": {"label": "cat", "accepted": True},
    "/api/v1/projects/{project_id}/items/{item_id}/gold": {"label": "cat"},
    "/api/v1/projects/{project_id}/predict": {"external_id": "e", "payload": {"text": "t"}},
    "/api/v1/work/assignments/{assignment_id}/submit/": {"label": "cat", "seconds_spent": 1},
    "/api/v1/work/projects/{project_id}/guideline/acknowledge": {"version": 1},
}


def operations():
    for path, item in SCHEMA["paths"].items():
        if path.startswith(EXCLUDED) or any(part in path for part in EXCLUDED):
            continue
        for method, operation in item.items():
            yield pytest.param(path, method, operation, id=f"{method.upper()} {path}")


def json_fields(operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if ref is None:
        return []
    return list(SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])


def query_parameters(operation: dict) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def client_for(world: World, path: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[World.role_for(path)]}")
    return client


def body_with(path: str, field: str, raw_value: str) -> bytes:
    valid = dict(VALID_BODIES.get(path, {}))
    valid.pop(field, None)
    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in valid.items()]
    return ("{" + ", ".join([*fields, f"{json.dumps(field)}: {raw_value}"]) + "}").encode()


def problem(response, what: str) -> str | None:
    if response.status_code >= 500:
        return f"{what}: {response.status_code}"
    if response.status_code >= 400:
        body = response.json()
        if not (isinstance(body, dict) and {"code", "detail", "errors"} <= set(body)):
            return f"{what}: {response.status_code} without the error shape: {body}"
    return None


@pytest.mark.parametrize(("path", "method", "operation"), list(operations()))
def test_no_hostile_value_is_a_server_error(path, method, operation):
    world = seed_world()
    client, url = client_for(world, path), world.url(path)
    problems = []
    for field in json_fields(operation):
        for raw in HOSTILE_JSON:
            body = body_with(path, field, raw)
            response = getattr(client, method)(url, data=body, content_type="application/json")
            problems.append(problem(response, f"{field}={raw[:40]}"))
    for name in query_parameters(operation):
        for value in HOSTILE_QUERY:
            response = getattr(client, method)(url, {name: value}) if method == "get" else None
            if response is not None:
                problems.append(problem(response, f"?{name}={value[:40]!r}"))
    assert [p for p in problems if p] == []
