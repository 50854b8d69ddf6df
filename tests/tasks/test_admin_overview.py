"""The project overview in the admin, its links and filters, and the rewards admin (reject a
blocked worker's answers, grant a bonus)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.tasks.models import Answer, Item
from apps.tasks.selectors.overview import answers_per_hour
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.guidelines import guideline_acknowledge
from apps.workers.models import Block, LedgerEntry
from apps.workers.services import worker_block
from tests import factories

pytestmark = pytest.mark.django_db


LEDGER = "/admin/workers/ledgerentry/"


def overview_url(project) -> str:
    return f"/admin/tasks/project/{project.pk}/overview/"


@pytest.fixture
def busy(requester, worker, other_worker):
    """Items in every state, answers, a block, a guideline, a budget."""
    project = factories.ProjectFactory(
        owner=requester, gold_share=0, reward_per_answer=Decimal("0.5"), budget=Decimal("100")
    )
    guideline = factories.GuidelineVersionFactory(project=project, number=1)
    for i in range(3):
        factories.HITFactory(item__project=project, item__external_id=f"w{i}", answers_wanted=2)
    for i, state in enumerate(["auto_labeled", "auto_labeled", "needs_review", "consensus"]):
        source = "model" if state == "auto_labeled" else "crowd"
        factories.ItemFactory(
            project=project,
            external_id=f"x{i}",
            state=state,
            final_label="cat",
            label_source=source,
        )
    for who in (worker, other_worker):
        guideline_acknowledge(worker=who, project=project, number=1)
        assignment = assignment_claim(worker=who, project=project)
        assignment_submit(worker=who, assignment_id=assignment.pk, label="cat", seconds_spent=1)
    worker_block(worker=other_worker, project=project, reason="spam")
    return project, guideline


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_overview_shows_states_rates_queue_blocks_budget_and_links(busy, staff):
    project, guideline = busy
    response = staff.get(overview_url(project))
    assert response.status_code == 200
    page = response.content.decode()
    counts = dict(response.context["counts"])
    assert counts["Auto-labeled"] == 2 and counts["Needs review"] == 1
    assert counts["Waiting for people"] == 3
    # The item in review has a label but not a final one: it is not counted.
    automation = response.context["automation"]
    assert (automation["labeled"], automation["auto"], automation["percent"]) == (3, 2, 66.7)
    assert "2 of 3 labeled items auto-labeled (66.7%)" in page
    assert (response.context["disagreements"], response.context["blocked"]) == (1, 1)
    assert f"/admin/tasks/reviewitem/?project__id__exact={project.pk}" in page
    assert f"/admin/workers/block/?project__id__exact={project.pk}" in page
    assert response.context["budget"]["spend"] == Decimal("1.0")
    assert sum(row["answers"] for row in response.context["per_hour"]) == 2
    assert f"answer_guideline={guideline.pk}" in page
    for label, url in response.context["links"]:
        assert staff.get(url).status_code == 200, (label, url)


def test_the_overview_costs_a_bounded_number_of_queries(
    busy, staff, requester, django_assert_max_num_queries
):
    project, _ = busy
    for i in range(30):
        factories.ItemFactory(project=project, external_id=f"more{i}", state="consensus")
    # Session and user (2), project, states, answers per hour, automation, blocks, budget (2),
    # guidelines; plus the admin's own (app list for the sidebar).
    with django_assert_max_num_queries(14):
        assert staff.get(overview_url(project)).status_code == 200


@pytest.mark.parametrize("who", ["requester", "worker"])
def test_the_overview_is_refused_to_non_staff(busy, client, request, who):
    project, _ = busy
    client.force_login(request.getfixturevalue(who))
    response = client.get(overview_url(project))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_project_list_and_form_link_to_the_overview(busy, staff):
    project, _ = busy
    assert overview_url(project) in staff.get("/admin/tasks/project/").content.decode()
    form = staff.get(f"/admin/tasks/project/{project.pk}/change/").content.decode()
    assert overview_url(project) in form


def test_an_unknown_project_overview_is_a_404(staff):
    assert staff.get("/admin/tasks/project/999999/overview/").status_code == 404


def test_answers_per_hour_groups_the_last_24_hours(busy):
    project, _ = busy
    now = timezone.now()
    old = Answer.objects.filter(project=project).first()
    Answer.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=3))
    rows = answers_per_hour(project=project, now=now)
    assert len(rows) == 24
    assert [row["answers"] for row in rows][-4] == 1
    assert sum(row["answers"] for row in rows) == 2


def test_the_item_list_filters_by_state_and_by_the_guideline_of_its_answers(busy, staff):
    project, guideline = busy
    other = factories.GuidelineVersionFactory(project=project, number=2)
    base = f"/admin/tasks/item/?project__id__exact={project.pk}"
    listed = staff.get(f"{base}&answer_guideline={guideline.pk}").context["cl"].result_list
    answered = set(Answer.objects.filter(project=project).values_list("item_id", flat=True))
    assert {item.pk for item in listed} == answered
    assert list(staff.get(f"{base}&answer_guideline={other.pk}").context["cl"].result_list) == []
    by_state = staff.get(f"{base}&state__exact=auto_labeled").context["cl"].result_list
    assert {item.state for item in by_state} == {"auto_labeled"} and len(by_state) == 2
    assert Item.objects.filter(project=project).count() > 2


# --- Rewards admin -------------------------------------------------------------------------


def test_rejecting_a_blocked_workers_answers_from_the_block_admin(
    busy, staff, other_worker, admin_user
):
    project, _ = busy
    block = Block.objects.get(worker=other_worker, project=project)
    data = {"action": "reject_answers_selected", "_selected_action": [block.pk]}
    # The worker reads the reason: none typed in the action bar, nothing is rejected.
    response = staff.post("/admin/workers/block/", data, follow=True)
    assert "Nothing rejected" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="reversal").exists()
    data["reason"] = "spam answers"
    response = staff.post("/admin/workers/block/", data, follow=True)
    assert "Reversed 1 answer credit(s)." in response.content.decode()
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert (reversal.worker, reversal.created_by) == (other_worker, admin_user)
    assert reversal.reason == "spam answers"
    staff.post("/admin/workers/block/", data)
    assert LedgerEntry.objects.filter(kind="reversal").count() == 1


def test_an_automatic_block_does_not_take_pay_back(busy, other_worker):
    assert LedgerEntry.objects.filter(worker=other_worker, kind="reversal").count() == 0


def test_granting_a_bonus_from_the_ledger_admin(busy, staff, worker, admin_user):
    project, _ = busy
    data = {"worker": worker.pk, "project": project.pk, "amount": "3.25", "reason": "extra mile"}
    assert "/admin/workers/ledgerentry/grant-bonus/" in staff.get(LEDGER).content.decode()
    assert staff.get(f"{LEDGER}add/").status_code == 403  # entries are history
    response = staff.post(f"{LEDGER}grant-bonus/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    bonus = LedgerEntry.objects.get(kind="bonus")
    assert (bonus.amount, bonus.created_by, bonus.reason) == (
        Decimal("3.25"),
        admin_user,
        "extra mile",
    )


def test_a_bad_bonus_shows_the_form_again_naming_the_field(busy, staff, worker, requester):
    project, _ = busy
    data = {"worker": requester.pk, "project": project.pk, "amount": "3", "reason": "x"}
    response = staff.post(f"{LEDGER}grant-bonus/", data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"worker": ["Bonuses go to workers."]}
    assert not LedgerEntry.objects.filter(kind="bonus").exists()


def test_only_staff_reach_the_bonus_page(busy, client, worker):
    client.force_login(worker)
    response = client.get(f"{LEDGER}grant-bonus/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_ledger_entries_cannot_be_edited_or_deleted_in_the_admin(busy, staff):
    entry = LedgerEntry.objects.first()
    page = staff.get(f"/admin/workers/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert staff.get(f"/admin/workers/ledgerentry/{entry.pk}/delete/").status_code == 403
