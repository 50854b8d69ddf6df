"""The worker hot path (next task, submit) reads through raw, prepared SQL: it must keep the
ORM's behaviour (token expiry and refresh, inactive users) and its query budget."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from apps.tasks.models import HIT
from tests.factories import GuidelineAcknowledgementFactory, HITFactory

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/work/next/"


@pytest.fixture
def real_project(project, worker):
    project.gold_share = 0
    project.save()
    GuidelineAcknowledgementFactory(guideline__project=project, worker=worker)
    HITFactory.create_batch(5, item__project=project, item__payload={"text": "a cat"})
    return project


def token_client(user, **token_fields) -> tuple[APIClient, AuthToken]:
    auth_token, token = AuthToken.objects.create(user)
    if token_fields:
        AuthToken.objects.filter(pk=auth_token.pk).update(**token_fields)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client, auth_token


def statements(captured) -> list[str]:
    skip = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(skip)]


def test_next_and_submit_stay_within_their_query_budget(worker, real_project):
    client, _ = token_client(worker)
    with CaptureQueriesContext(connection) as next_queries:
        task = client.post(NEXT, {"project": real_project.id}, format="json")
    assert task.status_code == 200, task.content
    # PostgreSQL: token + user, project with block/guideline gate, claim returning the task.
    # SQLite claims in several statements (apps/tasks/sql.py, claim_take_portable).
    budget = 3 if connection.vendor == "postgresql" else 9
    assert len(statements(next_queries)) <= budget, statements(next_queries)

    url = f"/api/v1/work/assignments/{task.json()['assignment_id']}/submit/"
    with CaptureQueriesContext(connection) as submit_queries:
        answer = client.post(url, {"label": "cat", "seconds_spent": 2}, format="json")
    assert answer.status_code == 201, answer.content
    # token, lock assignment, lock HIT, update assignment, insert answer, insert credit
    # (+ the coalesced aggregation request after commit, not run inside the test transaction)
    assert len(statements(submit_queries)) <= 7, statements(submit_queries)


def test_an_expired_token_is_refused_and_deleted(worker, real_project):
    client, auth_token = token_client(worker, expiry=timezone.now() - timedelta(seconds=1))
    response = client.post(NEXT, {"project": real_project.id}, format="json")
    assert response.status_code == 401
    assert not AuthToken.objects.filter(pk=auth_token.pk).exists()


def test_an_inactive_worker_is_refused(worker, real_project):
    client, _ = token_client(worker)
    worker.is_active = False
    worker.save(update_fields=["is_active"])
    assert client.post(NEXT, {"project": real_project.id}, format="json").status_code == 401


def test_a_wrong_token_with_a_known_key_is_refused(worker, real_project):
    _, auth_token = token_client(worker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {auth_token.token_key}{'0' * 56}")
    assert client.post(NEXT, {"project": real_project.id}, format="json").status_code == 401


def test_a_token_used_on_the_hot_path_has_its_expiry_refreshed(worker, real_project):
    soon = timezone.now() + timedelta(hours=1)
    client, auth_token = token_client(worker, expiry=soon)
    assert client.post(NEXT, {"project": real_project.id}, format="json").status_code == 200
    auth_token.refresh_from_db()
    assert auth_token.expiry > soon + timedelta(days=1)


def test_the_task_shape_is_the_same_as_the_detail_endpoint(worker, real_project):
    client, _ = token_client(worker)
    task = client.post(NEXT, {"project": real_project.id}, format="json").json()
    detail = client.get(f"/api/v1/work/assignments/{task['assignment_id']}/").json()
    assert task == detail


def test_on_postgres_the_claim_is_a_prepared_statement(on_postgres, worker, real_project, settings):
    settings.DB_PREPARED_STATEMENTS = True
    client, _ = token_client(worker)
    assert client.post(NEXT, {"project": real_project.id}, format="json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%WITH candidate AS%"],
        )
        assert cursor.fetchone()[0] == 1


def test_prepared_statements_can_be_turned_off(on_postgres, worker, real_project, settings):
    settings.DB_PREPARED_STATEMENTS = False
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    client, _ = token_client(worker)
    assert client.post(NEXT, {"project": real_project.id}, format="json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


def test_the_hot_path_answers_json_whatever_the_client_accepts(worker, real_project):
    client, _ = token_client(worker)
    task = client.post(
        f"{NEXT}?format=api", {"project": real_project.id}, format="json", HTTP_ACCEPT="text/html"
    )
    assert task.status_code == 200, task.content
    assert task["Content-Type"] == "application/json"
    assert task.json()["assignment_id"]


def test_the_answer_that_fills_a_hit_closes_it(worker, real_project):
    HIT.objects.filter(item__project=real_project).update(answers_wanted=1)
    client, _ = token_client(worker)
    task = client.post(NEXT, {"project": real_project.id}, format="json").json()
    url = f"/api/v1/work/assignments/{task['assignment_id']}/submit/"
    before = timezone.now()
    assert client.post(url, {"label": "cat", "seconds_spent": 2}, format="json").status_code == 201
    hit = HIT.objects.get(assignments__pk=task["assignment_id"])
    assert hit.state == HIT.State.DONE and hit.updated_at >= before
    others = HIT.objects.filter(item__project=real_project).exclude(pk=hit.pk)
    assert set(others.values_list("state", flat=True)) == {HIT.State.OPEN}
