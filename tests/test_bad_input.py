"""Bad input anywhere in the API is a 400 (or 401/404) in the error shape, never a 500.

Each test is a class of input the audit of issue 12 found reaching a 500: JSON nested too deep
(RecursionError), NULs and lone surrogates reaching the database, numbers out of range,
non-ASCII digits where a number is expected, non-numeric ids in paths, and undecodable
Authorization headers.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from apps.tasks.models import Project
from tests.factories import (
    PASSWORD,
    BatchFactory,
    GuidelineAcknowledgementFactory,
    HITFactory,
    ItemFactory,
)

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def post_json(client: APIClient, url: str, body: str, method: str = "post"):
    return getattr(client, method)(url, data=body.encode(), content_type="application/json")


def assert_error(response, status: int = 400, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) >= {"code", "detail", "errors"}, body
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def owner_client(api_client_for, requester):
    return api_client_for(requester)


@pytest.fixture
def worker_client(api_client_for, worker):
    return api_client_for(worker)


# --- JSON depth --------------------------------------------------------------------------------


def test_the_anonymous_token_login_refuses_deeply_nested_json(api_client_for):
    body = '{"username": ' + DEEP + ', "password": "x"}'
    assert_error(post_json(api_client_for(), "/api/v1/auth/token/", body))


def test_a_deep_but_legal_recursion_depth_is_refused_by_the_depth_limit(owner_client, project):
    payload = "[" * 200 + "]" * 200  # below Python's recursion limit, above ours
    body = assert_error(
        post_json(
            owner_client, f"/api/v1/projects/{project.pk}/predict", '{"payload": ' + payload + "}"
        )
    )
    assert "payload" in body["errors"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/projects/"),
        ("patch", "/api/v1/projects/{project}/"),
        ("patch", "/api/v1/projects/{project}/learning-settings"),
        ("post", "/api/v1/projects/{project}/predict"),
        ("post", "/api/v1/projects/{project}/items/{item}/feedback"),
        ("post", "/api/v1/projects/{project}/items/{item}/gold"),
    ],
)
def test_every_requester_body_refuses_deeply_nested_json(owner_client, project, method, url):
    url = url.format(project=project.pk, item=ItemFactory(project=project).pk)
    assert_error(post_json(owner_client, url, DEEP, method=method))


@pytest.fixture
def live_assignment(worker, project):
    project.gold_share = 0
    project.save()
    GuidelineAcknowledgementFactory(guideline__project=project, worker=worker)
    HITFactory(item__project=project)
    return project


def test_the_worker_hot_path_refuses_deeply_nested_json(worker_client, live_assignment):
    assert_error(post_json(worker_client, "/api/v1/work/next/", DEEP))
    task = worker_client.post("/api/v1/work/next/", {}, format="json").json()
    submit = f"/api/v1/work/assignments/{task['assignment_id']}/submit/"
    body = '{"label": ' + DEEP + ', "seconds_spent": 1}'
    assert_error(post_json(worker_client, submit, body))


def test_ordinary_nesting_still_passes(owner_client, project):
    project.item_kind = Project.ItemKind.VECTOR
    project.save()
    payload = {"features": [0.5, 1.0], "meta": {"a": [{"b": [1, 2]}]}}
    response = owner_client.post(
        f"/api/v1/projects/{project.pk}/predict", {"payload": payload}, format="json"
    )
    assert response.status_code == 202, response.content  # no model yet: queued for people


# --- NULs, lone surrogates, numbers out of range in JSON bodies ----------------------------------


def test_a_nul_inside_a_label_on_patch_is_a_400_naming_labels(owner_client, project):
    body = '{"labels": ["cat", "d\\u0000og"]}'
    errors = assert_error(
        post_json(owner_client, f"/api/v1/projects/{project.pk}/", body, method="patch")
    )["errors"]
    assert "labels" in errors
    project.refresh_from_db()
    assert project.labels == ["cat", "dog", "bird"]


def test_a_lone_surrogate_in_a_predict_payload_is_a_400_naming_payload(owner_client, project):
    body = '{"external_id": "p1", "payload": {"text": "a \\ud800 b"}}'
    errors = assert_error(post_json(owner_client, f"/api/v1/projects/{project.pk}/predict", body))[
        "errors"
    ]
    assert "payload" in errors


def test_a_lone_surrogate_in_a_key_is_refused(owner_client, project):
    body = '{"payload": {"\\udfff": "x"}}'
    assert_error(post_json(owner_client, f"/api/v1/projects/{project.pk}/predict", body))


def test_a_surrogate_pair_is_an_ordinary_character(owner_client, project):
    body = '{"external_id": "emoji", "payload": {"text": "a cat \\ud83d\\ude00"}}'
    response = post_json(owner_client, f"/api/v1/projects/{project.pk}/predict", body)
    assert response.status_code == 202, response.content  # no model yet: queued for people


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_numbers_out_of_range_in_json_are_a_400_naming_the_field(owner_client, project, number):
    body = '{"external_id": "n", "payload": {"text": "t", "score": ' + number + "}}"
    errors = assert_error(post_json(owner_client, f"/api/v1/projects/{project.pk}/predict", body))[
        "errors"
    ]
    assert "payload" in errors


def test_an_integer_beyond_bigint_in_json_is_a_400(owner_client, project):
    body = '{"lease_seconds": ' + "9" * 30 + "}"
    errors = assert_error(
        post_json(owner_client, f"/api/v1/projects/{project.pk}/", body, method="patch")
    )["errors"]
    assert "lease_seconds" in errors


def test_a_nul_in_the_submitted_label_is_a_400(worker_client, live_assignment):
    task = worker_client.post("/api/v1/work/next/", {}, format="json").json()
    submit = f"/api/v1/work/assignments/{task['assignment_id']}/submit/"
    body = '{"label": "c\\u0000at", "seconds_spent": 1}'
    assert "label" in assert_error(post_json(worker_client, submit, body))["errors"]


def test_json_in_another_charset_is_refused(owner_client, project):
    response = owner_client.post(
        f"/api/v1/projects/{project.pk}/predict",
        data=b'{"payload": {"text": "x"}}',
        content_type="application/json; charset=no-such-codec",
    )
    assert_error(response)


# --- Query and path parameters ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["\u00b2", "\u0661", "1\u00b2"])
def test_a_non_ascii_digit_in_batch_is_a_400(owner_client, project, value):
    BatchFactory(project=project)
    response = owner_client.get(f"/api/v1/projects/{project.pk}/items/", {"batch": value})
    assert "batch" in assert_error(response)["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/{project}/items/?external_id=a%00b",
        "/api/v1/projects/{project}/export?external_id=a%00b",
        "/api/v1/projects/{project}/consensus/?state=wa%00iting",
        "/api/v1/projects/{project}/batches/?page=1%00",
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(owner_client, project, url):
    response = owner_client.get(url.format(project=project.pk))
    errors = assert_error(response)["errors"]
    assert len(errors) == 1


@pytest.mark.parametrize("pk", ["abc", "\u00b2", "1.5", "%00"])
def test_a_non_numeric_project_id_in_the_path_is_a_404(owner_client, project, pk):
    for method in ("get", "patch"):
        response = getattr(owner_client, method)(f"/api/v1/projects/{pk}/")
        assert_error(response, status=404, code="not_found")


def test_a_non_ascii_project_number_on_next_task_is_a_400(worker_client, live_assignment):
    body = json.dumps({"project": "\u0661"})
    assert "project" in assert_error(post_json(worker_client, "/api/v1/work/next/", body))["errors"]


# --- Headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Token \xff\xfe", "Token " + "\u00e9" * 80, "Token \x7f" * 3],
)
def test_an_undecodable_authorization_header_is_a_401(header, project):
    for url in ("/api/v1/me/", "/api/v1/work/next/", f"/api/v1/projects/{project.pk}/"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.post(url) if "next" in url else client.get(url)
        assert_error(response, status=401)


def test_the_token_login_still_works(api_client_for, worker):
    response = api_client_for().post(
        "/api/v1/auth/token/", {"username": "worker", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


# --- Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("answer_guideline=\u00b2", 200),  # our filter ignores it
        ("project__id__exact=\u00b2", 302),  # Django's own: the list again with ?e=1
    ],
)
def test_the_admin_item_filters_ignore_non_ascii_digits(client, admin_user, project, query, status):
    client.force_login(admin_user)
    response = client.get(f"/admin/tasks/item/?{query}")
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/admin/tasks/item/?e=1"


def test_a_nul_in_a_page_query_string_is_a_plain_400(client, worker):
    client.force_login(worker)
    response = client.get("/work/history/?page=1%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("header", ["HTTP_IDEMPOTENCY_KEY", "HTTP_AUTHORIZATION", "HTTP_X_ANY"])
def test_a_nul_in_a_header_is_a_400_naming_it(project, header):
    response = APIClient().post(
        f"/api/v1/projects/{project.pk}/batches/",
        data=b'{"external_id": "h1", "text": "hello"}\n',
        content_type="application/x-ndjson",
        **{header: "key\x00"},
    )
    errors = assert_error(response)["errors"]
    assert list(errors) == [header.removeprefix("HTTP_").replace("_", "-").title()]
