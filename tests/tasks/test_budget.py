"""A project's budget: once spend plus live leases would pass it, no task is served and the
requester is told (API fields, a banner, an audit event)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.tasks.models import HIT, AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.projects import project_update
from apps.workers.ledger import BudgetSpent, ledger_grant_bonus
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def budgeted(requester):
    """Reward 1, budget 2: two answers, then nothing."""
    project = factories.ProjectFactory(
        owner=requester, gold_share=0, reward_per_answer=Decimal("1"), budget=Decimal("2")
    )
    for i in range(5):
        factories.HITFactory(item__project=project, item__external_id=f"b{i}", answers_wanted=3)
    return project


def answer(worker, project):
    assignment = assignment_claim(worker=worker, project=project)
    assignment_submit(worker=worker, assignment_id=assignment.pk, label="cat", seconds_spent=1)


def test_claims_stop_when_the_budget_would_be_passed(budgeted, worker, other_worker):
    answer(worker, budgeted)
    answer(other_worker, budgeted)
    with pytest.raises(BudgetSpent):
        assignment_claim(worker=worker, project=budgeted)
    # The HITs stay open: raising the budget serves them again.
    assert HIT.objects.filter(project=budgeted, state=HIT.State.OPEN).count() == 5


def test_live_leases_count_against_the_budget(budgeted, worker, other_worker, requester):
    third = factories.WorkerFactory(username="third")
    first = assignment_claim(worker=worker, project=budgeted)
    assert assignment_claim(worker=other_worker, project=budgeted) is not None
    with pytest.raises(BudgetSpent):
        assignment_claim(worker=third, project=budgeted)
    # A worker asking again gets their own live lease back, budget or not.
    assert assignment_claim(worker=worker, project=budgeted).pk == first.pk


def test_bonuses_count_as_spend(budgeted, worker, admin_user):
    ledger_grant_bonus(worker=worker, project=budgeted, amount="1.5", reason="x", by=admin_user)
    with pytest.raises(BudgetSpent):
        assignment_claim(worker=worker, project=budgeted)


def test_the_next_task_api_answers_409_budget_spent(api_client_for, budgeted, worker):
    budgeted.budget = Decimal("0.5")
    budgeted.save()
    response = api_client_for(worker).post("/api/v1/work/next/", {"project": budgeted.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "budget_spent"


def test_a_claim_without_a_project_skips_a_spent_one(budgeted, worker, requester):
    budgeted.budget = Decimal("0")
    budgeted.save()
    other = factories.ProjectFactory(owner=requester, gold_share=0)
    factories.HITFactory(item__project=other, answers_wanted=1)
    assert assignment_claim(worker=worker).project_id == other.pk


def test_the_requester_is_told_in_the_api_the_page_and_the_audit_trail(
    api_client_for, client, budgeted, requester, worker, other_worker
):
    answer(worker, budgeted)
    detail = api_client_for(requester).get(f"/api/v1/projects/{budgeted.pk}/").json()
    assert Decimal(detail["budget"]) == 2
    assert (Decimal(detail["budget_remaining"]), detail["budget_exhausted"]) == (1, False)
    answer(other_worker, budgeted)
    for _ in range(2):
        with pytest.raises(BudgetSpent):
            assignment_claim(worker=worker, project=budgeted)
    detail = api_client_for(requester).get(f"/api/v1/projects/{budgeted.pk}/").json()
    assert (Decimal(detail["budget_remaining"]), detail["budget_exhausted"]) == (0, True)
    assert AuditEvent.objects.filter(project=budgeted, action="budget_spent").count() == 1
    client.force_login(requester)
    page = client.get(reverse("requester-project", args=[budgeted.pk])).content.decode()
    assert "budget of this project" in page and "is spent" in page


def test_raising_the_budget_serves_tasks_again(budgeted, worker, other_worker):
    answer(worker, budgeted)
    answer(other_worker, budgeted)
    project_update(project=budgeted, budget=Decimal("3"))
    assert assignment_claim(worker=worker, project=budgeted) is not None


def test_a_project_without_a_budget_is_never_spent(api_client_for, requester, project):
    detail = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/").json()
    assert (detail["budget"], detail["budget_remaining"], detail["budget_exhausted"]) == (
        None,
        None,
        False,
    )


@pytest.mark.parametrize("value", ["-1", "abc", "1e30"])
def test_a_bad_budget_is_a_400_naming_the_field(api_client_for, requester, project, value):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"budget": value}, format="json"
    )
    assert response.status_code == 400
    assert "budget" in response.json()["errors"]


def test_the_requester_sets_a_budget_through_the_api(api_client_for, requester, project):
    response = api_client_for(requester).patch(
        f"/api/v1/projects/{project.pk}/", {"budget": "12.50"}, format="json"
    )
    assert response.status_code == 200
    assert Decimal(response.json()["budget"]) == Decimal("12.5")
