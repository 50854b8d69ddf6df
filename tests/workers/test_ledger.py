"""The rewards ledger: a credit per accepted answer (once), reversals, bonuses, earnings, spend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.tasks.models import AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.ledger import ledger_credit_answer, ledger_grant_bonus, ledger_reject_answers
from apps.workers.models import LedgerEntry
from hitlcrowd.errors import InvalidInput
from tests import factories
from tests.helpers.paid import REWARD, answer_one, submit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_project(requester):
    project = factories.ProjectFactory(
        owner=requester, name="Paid", gold_share=0, reward_per_answer=REWARD
    )
    for i in range(4):
        factories.HITFactory(item__project=project, item__external_id=f"p{i}", answers_wanted=2)
    return project


def test_an_accepted_answer_credits_the_projects_reward_once(paid_project, worker):
    answer = answer_one(worker, paid_project)
    credit = LedgerEntry.objects.get()
    assert (credit.kind, credit.amount, credit.answer, credit.worker) == (
        "credit",
        REWARD,
        answer,
        worker,
    )


def test_a_resubmitted_answer_is_not_paid_twice(api_client_for, paid_project, worker):
    assignment = assignment_claim(worker=worker, project=paid_project)
    client = api_client_for(worker)
    first = client.post(submit_url(assignment.pk), {"label": "dog", "seconds_spent": 2})
    again = client.post(submit_url(assignment.pk), {"label": "dog", "seconds_spent": 2})
    assert (first.status_code, again.status_code) == (201, 200)
    assert LedgerEntry.objects.filter(kind="credit").count() == 1


def test_the_database_refuses_a_second_credit_for_one_answer(paid_project, worker):
    answer = answer_one(worker, paid_project)
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_credit_answer(answer=answer, project=paid_project)


def test_ledger_entries_cannot_be_changed_or_deleted(paid_project, worker):
    answer_one(worker, paid_project)
    entry = LedgerEntry.objects.get()
    entry.amount = Decimal("99")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    assert LedgerEntry.objects.get().amount == REWARD


def test_rejecting_a_workers_answers_reverses_each_credit_once(
    paid_project, worker, other_worker, admin_user
):
    answer_one(worker, paid_project)
    answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    kwargs = {"worker": worker, "project": paid_project, "by": admin_user, "reason": "spam"}
    assert ledger_reject_answers(**kwargs) == 2
    assert ledger_reject_answers(**kwargs) == 0
    reversals = LedgerEntry.objects.filter(kind="reversal")
    assert reversals.count() == 2
    assert {r.worker_id for r in reversals} == {worker.pk}
    assert all(r.amount == REWARD and r.created_by == admin_user for r in reversals)
    event = AuditEvent.objects.get(action="answers_reject")
    assert event.actor == admin_user and event.changes["answers"] == 2


def test_a_bonus_is_granted_with_amount_and_reason(paid_project, worker, admin_user):
    entry = ledger_grant_bonus(
        worker=worker, project=paid_project, amount="1.50", reason="great work", by=admin_user
    )
    assert (entry.kind, entry.amount, entry.answer) == ("bonus", Decimal("1.50"), None)
    assert AuditEvent.objects.filter(action="bonus_grant", actor=admin_user).count() == 1


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        ("0", "x", "amount"),
        ("-1", "x", "amount"),
        ("abc", "x", "amount"),
        ("NaN", "x", "amount"),
        ("0.00001", "x", "amount"),
        (0.5, "x", "amount"),
        ("1", "", "reason"),
        ("1", "x" * 501, "reason"),
    ],
)
def test_a_bad_bonus_is_refused_naming_the_field(
    paid_project, worker, admin_user, amount, reason, field
):
    with pytest.raises(InvalidInput) as refused:
        ledger_grant_bonus(
            worker=worker, project=paid_project, amount=amount, reason=reason, by=admin_user
        )
    assert list(refused.value.errors) == [field]
    assert not LedgerEntry.objects.exists()


# --- GET /api/v1/work/earnings/ ----------------------------------------------------------------


def test_earnings_come_from_the_ledger_with_bonuses_and_reversals(
    api_client_for, paid_project, worker, other_worker, admin_user
):
    for _ in range(3):
        answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    ledger_grant_bonus(
        worker=worker, project=paid_project, amount="2", reason="thanks", by=admin_user
    )
    ledger_reject_answers(worker=worker, project=paid_project, by=admin_user, reason="late")
    answer_one(worker, paid_project)  # after the rejection: paid again
    body = api_client_for(worker).get("/api/v1/work/earnings/").json()
    row = body["projects"][0]
    assert row["project"] == {"id": paid_project.pk, "name": "Paid"}
    assert row["answers"] == 4
    assert Decimal(row["reward_per_answer"]) == REWARD
    assert Decimal(row["bonuses"]) == Decimal("2")
    assert Decimal(row["reversals"]) == 3 * REWARD
    assert Decimal(row["amount"]) == 4 * REWARD + 2 - 3 * REWARD
    assert Decimal(body["total"]) == Decimal(row["amount"])
    assert body["answers"] == 4


def test_a_worker_sees_only_their_own_earnings(api_client_for, paid_project, worker, other_worker):
    answer_one(other_worker, paid_project)
    body = api_client_for(worker).get("/api/v1/work/earnings/").json()
    assert body["projects"] == [] and Decimal(body["total"]) == 0


def test_earnings_cost_one_query(
    api_client_for, paid_project, worker, django_assert_max_num_queries
):
    for _ in range(3):
        answer_one(worker, paid_project)
    client = api_client_for(worker)
    # Token auth (2) + the ledger GROUP BY.
    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/work/earnings/").status_code == 200


# --- GET /api/v1/projects/{id}/spend/ ----------------------------------------------------------


def spend_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/spend/"


def test_the_owner_sees_spend_totals_and_per_worker(
    api_client_for, paid_project, requester, worker, other_worker, admin_user
):
    answer_one(worker, paid_project)
    answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    ledger_reject_answers(worker=other_worker, project=paid_project, by=admin_user, reason="x")
    ledger_grant_bonus(worker=worker, project=paid_project, amount="1", reason="y", by=admin_user)
    response = api_client_for(requester).get(spend_url(paid_project))
    assert response.status_code == 200
    body = response.json()
    assert body["budget"] is None and body["budget_exhausted"] is False
    totals = body["totals"]
    assert (totals["answers"], totals["rejected"]) == (3, 1)
    assert Decimal(totals["amount"]) == 2 * REWARD + 1
    workers = {row["username"]: row for row in body["workers"]}
    assert Decimal(workers["worker"]["amount"]) == 2 * REWARD + 1
    assert Decimal(workers["other-worker"]["amount"]) == 0
    assert workers["other-worker"]["rejected"] == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("worker", 403), ("other_requester", 404), ("admin_user", 200)],
)
def test_spend_is_refused_to_everyone_but_the_owner_and_admins(
    request, api_client_for, paid_project, who, status
):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    assert api_client_for(user).get(spend_url(paid_project)).status_code == status


def test_spend_costs_a_bounded_number_of_queries(
    api_client_for, paid_project, requester, worker, other_worker, django_assert_max_num_queries
):
    answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    paid_project.budget = Decimal("10")
    paid_project.save()
    client = api_client_for(requester)
    # Token auth (2), project, checkpoint and tail, live leases, totals, per worker.
    with django_assert_max_num_queries(8):
        assert client.get(spend_url(paid_project)).status_code == 200


# --- Checkpoint: the budget check sums only the recent entries ----------------------------------


def test_the_checkpoint_folds_old_entries_and_the_spend_stays_exact(
    paid_project, worker, other_worker, admin_user
):
    from datetime import timedelta

    from django.utils import timezone

    from apps.workers.ledger import CHECKPOINT_LAG, ledger_checkpoint_advance
    from apps.workers.models import LedgerCheckpoint
    from apps.workers.selectors import ledger_spend

    answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    ledger_reject_answers(worker=other_worker, project=paid_project, by=admin_user, reason="x")
    assert ledger_spend(project=paid_project) == (REWARD, 3)
    # Nothing is old enough yet: the checkpoint stays put.
    assert ledger_checkpoint_advance(project=paid_project) is False
    later = timezone.now() + CHECKPOINT_LAG + timedelta(seconds=1)
    assert ledger_checkpoint_advance(project=paid_project, now=later) is True
    checkpoint = LedgerCheckpoint.objects.get(project=paid_project)
    assert checkpoint.amount == REWARD
    assert ledger_spend(project=paid_project) == (REWARD, 0)
    ledger_grant_bonus(worker=worker, project=paid_project, amount="2", reason="y", by=admin_user)
    assert ledger_spend(project=paid_project) == (REWARD + 2, 1)
    assert ledger_checkpoint_advance(project=paid_project, now=later) is True
    assert ledger_spend(project=paid_project) == (REWARD + 2, 0)
    # Advancing again folds nothing twice.
    assert ledger_checkpoint_advance(project=paid_project, now=later) is False
    assert ledger_spend(project=paid_project)[0] == REWARD + 2 == project_spend_amount(paid_project)


def project_spend_amount(project) -> Decimal:
    from apps.workers.selectors import project_spend

    return project_spend(project=project)["amount"]


def test_the_budget_check_advances_the_checkpoint_past_a_long_tail(
    monkeypatch, paid_project, worker, other_worker
):
    from datetime import timedelta

    from django.utils import timezone

    from apps.workers import ledger
    from apps.workers.models import LedgerCheckpoint

    answer_one(worker, paid_project)
    answer_one(other_worker, paid_project)
    LedgerEntry.objects.update(created_at=timezone.now() - timedelta(hours=1))
    monkeypatch.setattr(ledger, "CHECKPOINT_EVERY", 1)
    paid_project.budget = Decimal("100")
    ledger.budget_check(project=paid_project)
    assert LedgerCheckpoint.objects.get(project=paid_project).amount == 2 * REWARD
