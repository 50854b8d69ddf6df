"""The consensus decision through the service: settled items stay settled (hysteresis), items
at the maximum are accepted above the review bar, and an item no worker is left to answer
goes to review with its reason."""

from __future__ import annotations

import pytest

from apps.tasks.models import HIT, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.consensus.run import consensus_run
from apps.workers.models import Block
from tests import factories


@pytest.fixture
def project(requester):
    # Majority vote: the posterior is the share of votes, so each case is exact. Target 0.97:
    # settled items stay while at or above 0.7 (aggregation.settle_floor).
    return factories.ProjectFactory(
        owner=requester,
        labels=["yes", "no"],
        min_overlap=2,
        max_overlap=6,
        target_posterior=0.97,
        min_vote_lead=2,
        review_below=0.75,
        gold_share=0,
        aggregation_method="majority_vote",
    )


def answered_item(project, labels: list[str], *, state: str = Item.State.WAITING, label=""):
    """An item with these answers from new workers, left in `state` with `label` as an earlier
    run left it; no run happens here (the answers' hooks are not executed)."""
    item = factories.ItemFactory(project=project)
    hit = factories.HITFactory(item=item, answers_wanted=len(labels))
    for given in labels:
        worker = factories.WorkerFactory()
        assignment = assignment_claim(worker=worker, project=project)
        assert assignment.hit_id == hit.pk
        assignment_submit(worker=worker, assignment_id=assignment.pk, label=given, seconds_spent=2)
    hit_state = HIT.State.OPEN if state == Item.State.WAITING else HIT.State.DONE
    HIT.objects.filter(pk=hit.pk).update(state=hit_state)
    Item.objects.filter(pk=item.pk).update(
        state=state, final_label=label, label_source=Item.Source.CROWD if label else ""
    )
    return item


def after_run(item) -> tuple[str, str, str]:
    item.refresh_from_db()
    return item.state, item.review_reason, HIT.objects.get(item=item).state


# --- Hysteresis (a worker is left who may answer, so only the rule decides)


@pytest.fixture
def idle_worker(db):
    return factories.WorkerFactory()


def test_a_cold_run_leaves_a_settled_item_in_consensus_when_its_posterior_dips(
    project, idle_worker
):
    # An earlier (warm) run settled it; the cold run on the same answers says 0.8: below the
    # target, not clearly (>= 0.7), same label.
    settled = answered_item(project, ["yes"] * 4 + ["no"], state=Item.State.CONSENSUS, label="yes")
    consensus_run(project_id=project.pk, cold=True)
    assert after_run(settled) == (Item.State.CONSENSUS, "", HIT.State.DONE)


def test_the_same_answers_do_not_settle_an_item_that_was_not_settled(project, idle_worker):
    waiting = answered_item(project, ["yes"] * 4 + ["no"])
    consensus_run(project_id=project.pk, cold=True)
    assert after_run(waiting) == (Item.State.WAITING, "", HIT.State.OPEN)
    assert HIT.objects.get(item=waiting).answers_wanted == 6


def test_a_settled_item_whose_label_changes_leaves_consensus(project, idle_worker):
    flipped = answered_item(project, ["yes"] * 4 + ["no"], state=Item.State.CONSENSUS, label="no")
    consensus_run(project_id=project.pk, cold=True)
    assert after_run(flipped) == (Item.State.WAITING, "", HIT.State.OPEN)


def test_a_settled_item_whose_posterior_falls_clearly_leaves_consensus(project, idle_worker):
    fallen = answered_item(
        project, ["yes"] * 3 + ["no"] * 2, state=Item.State.CONSENSUS, label="yes"
    )
    consensus_run(project_id=project.pk, cold=True)
    assert after_run(fallen) == (Item.State.WAITING, "", HIT.State.OPEN)


# --- At the maximum overlap


def test_at_the_maximum_an_item_above_the_review_bar_is_accepted(project, idle_worker):
    project.max_overlap = 5
    project.save()
    item = answered_item(project, ["yes"] * 4 + ["no"])
    consensus_run(project_id=project.pk)
    assert after_run(item) == (Item.State.CONSENSUS, "", HIT.State.DONE)
    assert Item.objects.get(pk=item.pk).final_label == "yes"


def test_at_the_maximum_an_item_below_the_review_bar_goes_to_review_as_unsure(project, idle_worker):
    project.max_overlap = 5
    project.save()
    item = answered_item(project, ["yes"] * 3 + ["no"] * 2)
    consensus_run(project_id=project.pk)
    assert after_run(item) == (Item.State.NEEDS_REVIEW, Item.ReviewReason.UNSURE, HIT.State.DONE)


# --- No worker left who may answer


def test_an_item_every_worker_answered_goes_to_review_with_its_reason(project):
    item = answered_item(project, ["yes"] * 3 + ["no"] * 2)  # 0.6, wants a sixth answer
    consensus_run(project_id=project.pk)
    expected = (Item.State.NEEDS_REVIEW, Item.ReviewReason.NO_WORKER_LEFT, HIT.State.DONE)
    assert after_run(item) == expected


def test_an_item_waits_while_a_worker_may_still_answer_it(project):
    item = answered_item(project, ["yes"] * 3 + ["no"] * 2)
    factories.WorkerFactory()
    consensus_run(project_id=project.pk)
    assert after_run(item) == (Item.State.WAITING, "", HIT.State.OPEN)


def test_a_blocked_worker_is_not_one_who_may_answer(project):
    item = answered_item(project, ["yes"] * 3 + ["no"] * 2)
    blocked = factories.WorkerFactory()
    Block.objects.create(worker=blocked, project=project, reason="test")
    consensus_run(project_id=project.pk)
    assert after_run(item)[:2] == (Item.State.NEEDS_REVIEW, Item.ReviewReason.NO_WORKER_LEFT)


def test_an_item_with_a_live_lease_waits_for_its_answer(project):
    item = answered_item(project, ["yes"] * 3 + ["no"] * 2)
    last = factories.WorkerFactory()
    HIT.objects.filter(item=item).update(answers_wanted=6)
    lease = assignment_claim(worker=last, project=project)
    assert lease is not None and lease.hit.item_id == item.pk
    consensus_run(project_id=project.pk)
    assert after_run(item) == (Item.State.WAITING, "", HIT.State.OPEN)


def test_an_item_nobody_may_answer_is_accepted_above_the_review_bar(project):
    item = answered_item(project, ["yes"] * 4 + ["no"])  # 0.8: not done, above the bar
    consensus_run(project_id=project.pk)
    assert after_run(item) == (Item.State.CONSENSUS, "", HIT.State.DONE)
