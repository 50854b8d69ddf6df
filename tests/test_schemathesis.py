"""Schemathesis over the whole OpenAPI schema, as a requester, a worker and an admin.

Every operation (but logout, which would revoke the token) gets generated requests that fit
the schema and requests that do not, against the WSGI application in-process, with the ids of
a seeded world (a project with items and a batch, a worker with an acknowledged guideline and
a live assignment) as its path parameters. Checks: no 5xx, the status code is documented, the
body fits the documented schema (errors included: every error body has the API's error
shape), and the content type is the documented one.

Bounded for CI: derandomized (the same cases on every run), no shrinking, a few examples per
operation, role and mode (fewer for a role the operation is not for): ~15 s. For a longer hunt
locally: `SCHEMATHESIS_EXAMPLES=200 pytest tests/test_schemathesis.py` (SCHEMATHESIS_SHRINK=1
for the smallest failing case), or schemathesis's own runner (coverage, fuzzing and stateful
phases) against a live gunicorn: `schemathesis run http://127.0.0.1:8000/api/schema/ -H
"Authorization: Token ..." --exclude-path-regex logout --max-time 240` with the path ids set
in a schemathesis.toml `[parameters]` table.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.apiworld import ROLES, World, seed_world

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
SHRINK = os.environ.get("SCHEMATHESIS_SHRINK") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
EXCLUDED = re.compile(r"/auth/logout")

RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
SCHEMA = schemathesis.openapi.from_dict(RAW_SCHEMA)
OPERATIONS = sorted(
    op.ok().label for op in SCHEMA.get_all_operations() if not EXCLUDED.search(op.ok().path)
)


@pytest.fixture
def world(db) -> World:
    return seed_world()


@pytest.fixture
def app():
    """Django's WSGI handler, without the end-of-request connection close: the test's
    transaction must survive every request (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def examples_for(role: str, path: str) -> int:
    """Full for the role the operation is for; fewer for the others (mostly 403s) and for
    an admin on a requester's operation (the same code, another owner)."""
    if role == World.role_for(path):
        return EXAMPLES
    return max(2, EXAMPLES // 2) if role == "admin" else 2


def has_inputs(method: str, path: str) -> bool:
    """Query parameters or a body: something a negative case can break (else hypothesis spends
    seconds failing to generate one)."""
    operation = RAW_SCHEMA["paths"][path][method.lower()]
    query = [p for p in operation.get("parameters", []) if p["in"] != "path"]
    return bool(query) or "requestBody" in operation


def run_operation(label: str, role: str, mode: GenerationMode, world: World, app) -> str | None:
    """The first failure of this operation, role and mode, or None."""
    operation = SCHEMA.find_operation_by_label(label)
    if mode == GenerationMode.NEGATIVE and not has_inputs(operation.method, operation.path):
        return None
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=world.path_parameters(operation.path)
    )
    headers = {"Authorization": f"Token {world.tokens[role]}"}
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else [])

    @settings(
        max_examples=examples_for(role, operation.path),
        derandomize=True,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        check()
    except Unsatisfiable:  # negative mode with nothing to negate (fixed path, no body)
        return None
    except Exception as exc:  # a check failure or an error the case raised: report it
        return f"{label} as {role} ({mode.value}):\n{exc}"
    return None


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_keeps_to_its_schema(label, world, app):
    failures = [
        failure
        for role in ROLES
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := run_operation(label, role, mode, world, app)) is not None
    ]
    assert not failures, "\n\n".join(failures)
