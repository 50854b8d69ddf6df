"""Dynamic overlap: after each run an item asks for one more answer, is done, or goes to review."""

from __future__ import annotations

import pytest

from apps.tasks.models import HIT, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from tests import factories


@pytest.fixture
def project(requester):
    return factories.ProjectFactory(
        owner=requester,
        labels=["yes", "no"],
        min_overlap=2,
        max_overlap=4,
        target_posterior=0.95,
        gold_share=0,
        aggregation_method="majority_vote",
    )


@pytest.fixture(autouse=True)
def a_worker_left(db):
    """A worker who has answered nothing: items here are never out of workers who may answer
    (that case goes to review, tests/tasks/test_consensus_decision.py)."""
    return factories.WorkerFactory(username="idle")


@pytest.fixture
def item(project):
    item = factories.ItemFactory(project=project)
    factories.HITFactory(item=item, answers_wanted=2)
    return item


def answer(worker, project, label, capture) -> int:
    assignment = assignment_claim(worker=worker, project=project)
    assert assignment is not None, f"{worker} got no task"
    with capture(execute=True):
        assignment_submit(worker=worker, assignment_id=assignment.pk, label=label, seconds_spent=2)
    return assignment.hit.item_id


def state_of(item) -> tuple[str, str, int]:
    hit = HIT.objects.get(item=item)
    return Item.objects.get(pk=item.pk).state, hit.state, hit.answers_wanted


def test_two_agreeing_answers_finish_the_item(
    project, item, sync_q, django_capture_on_commit_callbacks
):
    for label in ("yes", "yes"):
        answer(factories.WorkerFactory(), project, label, django_capture_on_commit_callbacks)
    assert state_of(item) == (Item.State.CONSENSUS, HIT.State.DONE, 2)
    assert Item.objects.get(pk=item.pk).final_label == "yes"
    assert assignment_claim(worker=factories.WorkerFactory(), project=project) is None


def test_a_disagreement_asks_for_one_more_answer_and_the_claim_serves_it(
    project, item, sync_q, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    answer(factories.WorkerFactory(), project, "yes", capture)
    assert state_of(item) == (Item.State.WAITING, HIT.State.OPEN, 2)  # below the minimum
    answer(factories.WorkerFactory(), project, "no", capture)
    assert state_of(item) == (Item.State.WAITING, HIT.State.OPEN, 3)
    assert answer(factories.WorkerFactory(), project, "yes", capture) == item.pk
    # 2 of 3 is below 0.95: one more, up to the maximum of 4
    assert state_of(item) == (Item.State.WAITING, HIT.State.OPEN, 4)


def test_still_unsure_at_the_maximum_goes_to_the_disagreement_queue(
    project, item, sync_q, django_capture_on_commit_callbacks
):
    for label in ("yes", "no", "yes", "no"):
        answer(factories.WorkerFactory(), project, label, django_capture_on_commit_callbacks)
    assert state_of(item) == (Item.State.NEEDS_REVIEW, HIT.State.DONE, 4)
    assert assignment_claim(worker=factories.WorkerFactory(), project=project) is None


def test_a_more_wanted_answer_counts_a_live_lease_as_taken(
    project, item, sync_q, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first, second = factories.WorkerFactory(), factories.WorkerFactory()
    lease = assignment_claim(worker=first, project=project)
    answer(second, project, "yes", capture)
    with capture(execute=True):
        assignment_submit(worker=first, assignment_id=lease.pk, label="no", seconds_spent=1)
    hit = HIT.objects.get(item=item)
    assert (hit.answers_wanted, hit.slots_taken, hit.state) == (3, 2, HIT.State.OPEN)
    third = assignment_claim(worker=factories.WorkerFactory(), project=project)
    assert third is not None and third.hit_id == hit.pk
    hit.refresh_from_db()
    assert hit.slots_taken == 3
    assert assignment_claim(worker=factories.WorkerFactory(), project=project) is None


def test_gold_hits_are_left_alone(project, sync_q, django_capture_on_commit_callbacks):
    gold = factories.ItemFactory(project=project, is_gold=True, gold_label="yes")
    factories.HITFactory(item=gold, answers_wanted=1)
    factories.HITFactory(item__project=project)  # gold comes only with real work left
    project.gold_share = 1.0
    project.save()
    answer(factories.WorkerFactory(), project, "no", django_capture_on_commit_callbacks)
    hit = HIT.objects.get(item=gold)
    assert (hit.state, hit.answers_wanted) == (HIT.State.OPEN, 1)
    assert Item.objects.get(pk=gold.pk).state == Item.State.WAITING


@pytest.mark.parametrize(("min_vote_lead", "answers_to_finish"), [(1, 3), (2, 4)])
def test_an_item_is_done_only_when_its_votes_lead_by_the_project_minimum(
    project, item, sync_q, django_capture_on_commit_callbacks, min_vote_lead, answers_to_finish
):
    # 2 yes / 1 no passes a 0.6 target (majority vote posterior 2/3) with a lead of one vote.
    project.target_posterior = 0.6
    project.min_vote_lead = min_vote_lead
    project.save()
    for label in ("yes", "no", "yes", "yes")[:answers_to_finish]:
        answer(factories.WorkerFactory(), project, label, django_capture_on_commit_callbacks)
        if state_of(item)[0] == Item.State.CONSENSUS:
            break
    assert state_of(item) == (Item.State.CONSENSUS, HIT.State.DONE, answers_to_finish)
    assert Item.objects.get(pk=item.pk).answers.count() == answers_to_finish
