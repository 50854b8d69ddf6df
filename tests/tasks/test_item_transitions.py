"""The one owner of item transitions (apps/tasks/services/items.py): settling an item by hand
closes its live leases, send-back refuses to strand an item, scored rows from the models app
are written without taking work away, and who may still answer an item is defined once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.models.models import Feedback
from apps.models.services.feedback import item_feedback
from apps.tasks.errors import TaskClosed
from apps.tasks.models import HIT, Answer, Assignment, AuditEvent, Item
from apps.tasks.selectors.eligibility import eligible_worker_count
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.items import (
    AUDIT,
    AUTO,
    PEOPLE,
    NoWorkerLeft,
    ScoredRow,
    item_mark_ambiguous,
    item_resolve,
    item_scores_apply,
    item_send_back,
)
from apps.workers.models import LedgerEntry
from tests import factories
from tests.helpers.crowd import split_to_review

SUBMIT = "/api/v1/work/assignments/{}/submit/"


@pytest.fixture
def leased(project, worker):
    """A waiting item whose HIT the worker holds a live lease on."""
    hit = factories.HITFactory(item__project=project)
    assignment = assignment_claim(worker=worker, project=project)
    assert assignment is not None and assignment.hit_id == hit.pk
    return hit.item, assignment


def test_resolving_closes_the_live_lease_and_the_late_submit_gets_410_unpaid(
    leased, worker, admin_user, api_client_for
):
    item, lease = leased
    item_resolve(item_id=item.pk, label="cat", by=admin_user)

    lease.refresh_from_db()
    hit = HIT.objects.get(item=item)
    assert lease.state == Assignment.State.CLOSED
    assert (hit.state, hit.slots_taken) == (HIT.State.DONE, 0)
    response = api_client_for(worker).post(
        SUBMIT.format(lease.pk), {"label": "dog", "seconds_spent": 3}, format="json"
    )
    assert response.status_code == 410
    assert response.json()["code"] == "task_closed"
    assert "was closed" in response.json()["detail"]
    assert not Answer.objects.filter(item=item).exists()
    assert not LedgerEntry.objects.filter(worker=worker).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.ITEM_RESOLVE)
    assert event.changes["leases_closed"] == 1


def test_marking_ambiguous_closes_the_live_lease(leased, worker, admin_user):
    item, lease = leased
    Item.objects.filter(pk=item.pk).update(state=Item.State.NEEDS_REVIEW)
    item_mark_ambiguous(item_id=item.pk, by=admin_user)

    lease.refresh_from_db()
    assert lease.state == Assignment.State.CLOSED
    with pytest.raises(TaskClosed):
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)


def test_a_lease_still_live_on_a_resolved_item_is_refused_at_submit(leased, worker, admin_user):
    item, lease = leased
    # As if the claim took the lease between the resolution's lease lock and its HIT lock.
    Item.objects.filter(pk=item.pk).update(state=Item.State.RESOLVED, final_label="cat")
    HIT.objects.filter(item=item).update(state=HIT.State.DONE)

    with pytest.raises(TaskClosed):
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    lease.refresh_from_db()
    assert lease.state == Assignment.State.CLOSED
    assert HIT.objects.get(item=item).slots_taken == 0
    assert not Answer.objects.filter(item=item).exists()


def test_a_lease_on_a_hit_that_is_still_open_is_answered_as_usual(leased, worker):
    item, lease = leased
    Item.objects.filter(pk=item.pk).update(state=Item.State.RESOLVED, final_label="cat")
    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert answer.item_id == item.pk


def test_user_feedback_resolves_through_the_same_service_with_an_audit_event(leased, requester):
    item, lease = leased
    Item.objects.filter(pk=item.pk).update(prediction="cat", confidence=0.7)
    project = item.project
    item_feedback(project=project, item_id=item.pk, user=requester, label="dog", accepted=False)

    item.refresh_from_db()
    lease.refresh_from_db()
    assert (item.state, item.final_label, item.label_source) == ("resolved", "dog", "user")
    assert lease.state == Assignment.State.CLOSED
    event = AuditEvent.objects.get(action=AuditEvent.Action.ITEM_RESOLVE)
    assert event.actor == requester
    assert event.changes["label_source"] == ["", "user"]
    assert Feedback.objects.get(item=item).model_label == "cat"


# --- Send back ---------------------------------------------------------------------------------


@pytest.fixture
def split(requester, sync_q):
    return split_to_review(requester, 1)


def test_sending_back_is_refused_when_every_worker_has_answered_the_item(split, admin_user):
    _, (item,) = split
    with pytest.raises(NoWorkerLeft, match="No worker is left who may answer this item"):
        item_send_back(item_id=item.pk, more=1, by=admin_user)
    item.refresh_from_db()
    assert item.state == Item.State.NEEDS_REVIEW
    assert HIT.objects.get(item=item).state == HIT.State.DONE
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ITEM_SEND_BACK).exists()


def test_sending_back_is_refused_when_the_workers_left_are_blocked(split, admin_user):
    project, (item,) = split
    newcomer = factories.WorkerFactory(username="newcomer")
    factories.BlockFactory(worker=newcomer, project=project)
    with pytest.raises(NoWorkerLeft):
        item_send_back(item_id=item.pk, more=1, by=admin_user)


def test_sending_back_asks_for_no_more_answers_than_can_come(split, admin_user):
    _, (item,) = split
    factories.WorkerFactory(username="newcomer")
    with pytest.raises(NoWorkerLeft, match="ask for at most 1"):
        item_send_back(item_id=item.pk, more=2, by=admin_user)
    item_send_back(item_id=item.pk, more=1, by=admin_user)
    assert Item.objects.get(pk=item.pk).state == Item.State.WAITING


def test_the_admin_says_why_a_send_back_was_refused(split, client, admin_user):
    _, (item,) = split
    client.force_login(admin_user)
    data = {"action": "send_back_for_more_answers", "_selected_action": [item.pk], "more": "1"}
    response = client.post("/admin/tasks/reviewitem/", data, follow=True)
    assert "No worker is left who may answer this item" in response.content.decode()
    assert Item.objects.get(pk=item.pk).state == Item.State.NEEDS_REVIEW


# --- Who may still answer ------------------------------------------------------------------------


def test_eligible_workers_leave_out_those_served_blocked_failed_or_not_workers(project):
    served, blocked, failed, free = (
        factories.WorkerFactory(username=name) for name in ("served", "blocked", "failed", "free")
    )
    factories.WorkerFactory(username="gone", is_active=False)
    factories.RequesterFactory(username="asker")
    hit = factories.HITFactory(item__project=project)
    other = factories.HITFactory(item__project=project)
    factories.AssignmentFactory(hit=hit, worker=served, state=Assignment.State.SKIPPED)
    factories.BlockFactory(worker=blocked, project=project)
    factories.QualificationFactory(worker=failed, project=project, state="failed")

    counts = eligible_worker_count(project=project, item_ids=[hit.item_id, other.item_id])

    # "served" and "free" may; "served" had the first item's HIT already.
    assert counts == {hit.item_id: 1, other.item_id: 2}
    assert free.is_active


def test_a_superseded_assignment_no_longer_keeps_its_worker_from_the_item(project, worker):
    hit = factories.HITFactory(item__project=project)
    guideline = factories.GuidelineVersionFactory(project=project, published_at=timezone.now())
    factories.AssignmentFactory(hit=hit, worker=worker, submitted=True, superseded_by=guideline)
    assert eligible_worker_count(project=project, item_ids=[hit.item_id]) == {hit.item_id: 1}


# --- Scored rows from the models app -----------------------------------------------------------


def row(item: Item, route: str, priority: float = 0.5) -> ScoredRow:
    return ScoredRow(item.pk, "cat", 0.95, priority, route)


def test_scored_rows_auto_label_route_to_people_and_open_audit_hits(project):
    auto, people, audit = (factories.HITFactory(item__project=project).item for _ in range(3))
    bare = factories.ItemFactory(project=project)  # waiting without a HIT: audit gives one

    done = item_scores_apply(
        project=project,
        model_version="v1",
        rows=[row(auto, AUTO), row(people, PEOPLE, 0.7), row(audit, AUDIT, 1.0), row(bare, AUDIT)],
    )

    assert (sorted(done.auto), done.people) == ([auto.pk], [people.pk])
    assert sorted(done.audit) == sorted([audit.pk, bare.pk]) and done.kept == []
    states = dict(Item.objects.values_list("pk", "state"))
    assert states[auto.pk] == states[audit.pk] == states[bare.pk] == Item.State.AUTO_LABELED
    assert states[people.pk] == Item.State.WAITING
    assert HIT.objects.get(item=auto).state == HIT.State.CANCELLED
    assert HIT.objects.get(item=people).priority == 0.7
    assert HIT.objects.get(item=audit).priority == 1.0
    assert HIT.objects.get(item=bare).state == HIT.State.OPEN
    assert set(Item.objects.values_list("prediction", "model_version")) == {("cat", "v1")}


def test_scored_rows_never_take_an_item_from_its_worker_or_its_answers(project, worker):
    leased = factories.HITFactory(item__project=project).item
    answered = factories.HITFactory(item__project=project).item
    lease = assignment_claim(worker=worker, project=project)
    assert lease.hit.item_id == leased.pk
    factories.AnswerFactory(assignment__hit=answered.hit, label="dog")

    done = item_scores_apply(
        project=project, model_version="v1", rows=[row(leased, AUTO), row(answered, AUDIT)]
    )

    assert sorted(done.kept) == sorted([leased.pk, answered.pk]) and done.auto == []
    assert set(Item.objects.values_list("state", flat=True)) == {Item.State.WAITING}
    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert answer.item_id == leased.pk


def test_scored_rows_leave_gold_and_settled_items_unrouted(project):
    gold = factories.HITFactory(
        item__project=project, item__is_gold=True, item__gold_label="cat"
    ).item
    settled = factories.HITFactory(item__project=project, item__state=Item.State.CONSENSUS).item

    done = item_scores_apply(
        project=project, model_version="v1", rows=[row(gold, AUTO), row(settled, AUTO)]
    )

    assert (done.auto, done.people, done.kept) == ([], [], [])
    assert Item.objects.get(pk=gold.pk).state == Item.State.WAITING
    assert Item.objects.get(pk=settled.pk).state == Item.State.CONSENSUS
    assert Item.objects.get(pk=gold.pk).prediction == "cat"  # pre-annotation still has it


def test_an_unknown_route_is_refused(project):
    item = factories.HITFactory(item__project=project).item
    with pytest.raises(ValueError, match="unknown route"):
        item_scores_apply(project=project, model_version="v1", rows=[row(item, "elsewhere")])


def test_a_lease_past_its_time_does_not_keep_an_item_from_the_model(project, worker):
    item = factories.HITFactory(item__project=project).item
    factories.AssignmentFactory(
        hit=item.hit, worker=worker, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    done = item_scores_apply(project=project, model_version="v1", rows=[row(item, AUTO)])
    assert done.auto == [item.pk]
