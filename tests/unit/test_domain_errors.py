"""Services raise domain errors, never HTTP; the API edge maps each kind to one status and the
one error body (hitlcrowd/api.py). The statuses pinned here are the ones clients rely on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from apps.models import errors as models
from apps.panels import errors as panels
from apps.tasks import errors as tasks
from apps.workers.errors import BudgetSpent
from hitlcrowd import errors
from hitlcrowd.api import domain_status, exception_handler

REPO = Path(__file__).resolve().parents[2]
# Where services, selectors and the ledger live, and the domain errors themselves.
GUARDED = (
    "apps/*/services.py",
    "apps/*/services/*.py",
    "apps/*/services/*/*.py",
    "apps/*/selectors.py",
    "apps/*/selectors/*.py",
    "apps/*/ledger.py",
    "apps/*/errors.py",
    "hitlcrowd/errors.py",
)
# HTTP belongs to the edges: api/ (DRF) and web/ (pages).
FORBIDDEN = ("rest_framework", "django.http", "django.shortcuts", "hitlcrowd.api")


def guarded_modules() -> list[str]:
    paths = {str(p.relative_to(REPO)) for pattern in GUARDED for p in REPO.glob(pattern)}
    return sorted(paths)


def http_imports(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("path", guarded_modules())
def test_a_service_selector_or_ledger_module_imports_nothing_of_http(path: str) -> None:
    assert http_imports((REPO / path).read_text()) == [], path


def test_the_guard_finds_the_services_and_selectors_of_every_app() -> None:
    found = guarded_modules()
    for expected in (
        "apps/workers/ledger.py",
        "apps/workers/services.py",
        "apps/tasks/services/assignments/claim.py",
        "apps/tasks/services/consensus/store.py",
        "apps/tasks/selectors/projects.py",
        "apps/models/services/feedback.py",
        "apps/models/selectors.py",
        "hitlcrowd/errors.py",
    ):
        assert expected in found


@pytest.mark.parametrize(
    "source",
    [
        "from django.http import Http404",
        "import django.http",
        "from django.shortcuts import get_object_or_404",
        "from rest_framework import status",
        "from rest_framework.exceptions import NotFound",
        "from hitlcrowd.api import ApiError",
        "def f():\n    from hitlcrowd import api",
    ],
)
def test_the_guard_catches(source: str) -> None:
    assert http_imports(source)


def test_the_guard_lets_domain_imports_through() -> None:
    source = "from django.db import transaction\nfrom hitlcrowd.errors import NotFound\n"
    assert http_imports(source) == []


def respond(exc: Exception) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, dict(response.data)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (errors.InvalidInput, 400, "invalid"),
        (errors.Forbidden, 403, "forbidden"),
        (errors.Conflict, 409, "conflict"),
        (errors.Gone, 410, "gone"),
        (errors.TooLarge, 413, "too_large"),
        (errors.DomainError, 400, "error"),
    ],
)
def test_each_kind_maps_to_its_status_and_the_one_error_body(kind, status, code) -> None:
    assert respond(kind("Said why.")) == (
        status,
        {"code": code, "detail": "Said why.", "errors": None},
    )


def test_too_many_is_a_429_with_retry_after() -> None:
    response = exception_handler(panels.PanelEntryThrottled(retry_after=42), {})
    assert response is not None and response.status_code == 429
    assert response["Retry-After"] == "42"
    assert response.data["code"] == "throttled"
    assert domain_status(errors.TooMany(retry_after=1)) == 429


def test_a_not_found_reads_like_every_other_404_whatever_its_message() -> None:
    body = {"code": "not_found", "detail": "Not found.", "errors": None}
    assert respond(errors.NotFound("No such assignment among yours.")) == (404, body)


def test_invalid_input_carries_field_errors_under_errors() -> None:
    status, body = respond(errors.InvalidInput.field("amount", "A decimal amount is needed."))
    assert (status, body["code"], body["detail"]) == (400, "invalid", "The request is not valid.")
    assert body["errors"] == {"amount": ["A decimal amount is needed."]}


def test_invalid_input_carries_row_errors_and_extra_keys() -> None:
    rows = [{"row": 3, "field": "payload", "message": "Not JSON."}]
    exc = errors.InvalidInput("1 invalid row(s).", code="invalid_rows", errors=rows, extra={"n": 1})
    assert respond(exc) == (
        400,
        {"code": "invalid_rows", "detail": "1 invalid row(s).", "errors": rows, "n": 1},
    )


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (BudgetSpent(), 409, "budget_spent"),
        (tasks.LeaseExpired(), 410, "lease_expired"),
        (tasks.TaskClosed(), 410, "task_closed"),
        (tasks.AnswerConflict("Answered."), 409, "answer_conflict"),
        (tasks.NotQualified("Blocked here."), 403, "not_qualified"),
        (tasks.QualificationUnavailable(needed=5, answered=2), 409, "qualification_unavailable"),
        (tasks.ProjectClosed(), 409, "project_closed"),
        (tasks.ResolveRefused("Pick a label."), 400, "invalid"),
        (tasks.NoWorkerLeft("Nobody left."), 400, "no_worker_left"),
        (tasks.BatchRejected(errors=[], error_count=1, batch=None), 400, "invalid_rows"),
        (tasks.IdempotencyConflict(), 409, "idempotency_conflict"),
        (tasks.UploadTooLarge(10), 413, "upload_too_large"),
        (tasks.TooManyRows(10), 413, "too_many_rows"),
        (tasks.BodyUnreadable("Cut short."), 400, "unreadable_body"),
        (models.RetrainRunning(), 409, "retrain_running"),
        (models.PayloadConflict(), 409, "external_id_conflict"),
        (panels.PanelQuotaReached(), 409, "panel_quota_reached"),
        (panels.PanelLinkUnavailable(), 410, "panel_link_unavailable"),
        (panels.PanelProjectClosed(), 409, "panel_project_closed"),
        (
            panels.PanelParticipantInvalid("PROLIFIC_PID", missing=True),
            400,
            "panel_participant_invalid",
        ),
        (panels.PanelAccountInactive(), 409, "panel_account_inactive"),
    ],
)
def test_an_apps_error_keeps_its_status_and_code(exc, status, code) -> None:
    assert domain_status(exc) == status
    assert respond(exc)[1]["code"] == code


def test_a_guideline_not_acknowledged_names_the_guideline_in_its_body() -> None:
    status, body = respond(tasks.GuidelineNotAcknowledged(7, 2))
    assert (status, body["code"]) == (409, "guideline_not_acknowledged")
    assert body["guideline"]["project"] == 7 and body["guideline"]["number"] == 2
    assert body["guideline"]["url"] == "/api/v1/work/projects/7/guideline"


def test_a_batch_rejection_keeps_its_row_errors_and_counts() -> None:
    rows = [{"row": 2, "field": "label", "message": "Unknown label."}]
    status, body = respond(tasks.BatchRejected(errors=rows, error_count=1, batch=None))
    assert status == 400
    assert body == {
        "code": "invalid_rows",
        "detail": "1 invalid row(s): nothing was imported.",
        "errors": rows,
        "error_count": 1,
        "batch_id": None,
    }
