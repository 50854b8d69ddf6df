"""A project's owner blocks, unblocks and rejects one worker's answers through the API, on
their own projects only (apps/workers/api/blocking.py)."""

from __future__ import annotations

import pytest

from apps.tasks.models import AuditEvent
from apps.workers.models import Block, LedgerEntry
from tests.helpers.paid import answer_one, make_paid_project, reversed_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_project(requester):
    return make_paid_project(requester)


def url(project, worker, action: str) -> str:
    return f"/api/v1/projects/{project.pk}/workers/{worker.pk}/{action}/"


def test_the_owner_blocks_with_a_reason_then_unblocks(
    paid_project, worker, requester, api_client_for
):
    owner = api_client_for(requester)
    response = owner.post(url(paid_project, worker, "block"), {"reason": "Bot"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["reason"] == "Bot" and response.json()["automatic"] is False
    again = owner.post(url(paid_project, worker, "block"), {"reason": "Again"}, format="json")
    assert again.status_code == 200 and again.json()["reason"] == "Bot"
    event = AuditEvent.objects.get(action="worker_block")
    assert event.actor == requester and event.changes["reason"] == "Bot"

    refused = api_client_for(worker).post(
        "/api/v1/work/next/", {"project": paid_project.pk}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json()["detail"].endswith("by an administrator: Bot")

    lifted = owner.post(url(paid_project, worker, "unblock"), {"reason": "ok"}, format="json")
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    assert owner.post(url(paid_project, worker, "unblock"), {}, format="json").status_code == 404


def test_the_owner_rejects_chosen_answers_once(paid_project, worker, requester, api_client_for):
    answers = [answer_one(worker, paid_project) for _ in range(3)]
    body = {"reason": "Wrong", "answer_ids": [answers[0].pk, answers[1].pk]}
    owner = api_client_for(requester)
    first = owner.post(url(paid_project, worker, "reject"), body, format="json")
    assert first.status_code == 200 and first.json() == {"reversed": 2}
    second = owner.post(url(paid_project, worker, "reject"), body, format="json")
    assert second.json() == {"reversed": 0}
    assert reversed_ids(worker) == {answers[0].pk, answers[1].pk}


def test_a_block_with_reject_answers_reverses_their_pay(
    paid_project, worker, requester, api_client_for
):
    given = answer_one(worker, paid_project)
    body = {"reason": "Fraud", "reject_answers": True}
    response = api_client_for(requester).post(
        url(paid_project, worker, "block"), body, format="json"
    )
    assert response.status_code == 201
    assert reversed_ids(worker) == {given.pk}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "x", "answer_ids": ["a"]}, "answer_ids"),
        ({"reason": "x", "answer_ids": [999999]}, "answer_ids"),
        ({"reason": "x", "answer_ids": []}, "answer_ids"),
        ({"reason": "x", "since": "yesterday"}, "since"),
        ({"reason": "x", "since": "2026-01-02T00:00Z", "until": "2026-01-01T00:00Z"}, "until"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    body, field, paid_project, worker, requester, api_client_for
):
    response = api_client_for(requester).post(
        url(paid_project, worker, "reject"), body, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_another_requesters_project_is_a_404_and_nothing_changes(
    paid_project, worker, other_requester, api_client_for
):
    answer_one(worker, paid_project)
    Block.objects.create(worker=worker, project=paid_project, reason="theirs", automatic=False)
    outsider = api_client_for(other_requester)
    for action in ["block", "unblock", "reject"]:
        body = {"reason": "mine now"}
        response = outsider.post(url(paid_project, worker, action), body, format="json")
        assert response.status_code == 404, action
    assert Block.objects.get().lifted_at is None
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_a_worker_cannot_block_or_reject(paid_project, worker, other_worker, api_client_for):
    answer_one(other_worker, paid_project)
    client = api_client_for(worker)
    for action in ["block", "unblock", "reject"]:
        response = client.post(
            url(paid_project, other_worker, action), {"reason": "x"}, format="json"
        )
        assert response.status_code == 403, action
    assert not Block.objects.exists() and not LedgerEntry.objects.filter(kind="reversal").exists()


def test_only_workers_can_be_targets(paid_project, requester, other_requester, api_client_for):
    response = api_client_for(requester).post(
        url(paid_project, other_requester, "block"), {"reason": "x"}, format="json"
    )
    assert response.status_code == 404
