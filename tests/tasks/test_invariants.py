"""The state invariants (docs/state.md): the checker catches each violation, and the services
keep each one."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.tasks.models import HIT, Answer, Assignment, Item
from apps.tasks.selectors.invariants import (
    INVARIANTS,
    project_invariants,
    project_invariants_broken,
)
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.skip import assignment_skip
from apps.tasks.services.assignments.slots import assignment_expire_due
from apps.tasks.services.assignments.submit import assignment_submit
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, make_items, work


@pytest.fixture
def crowd(requester):
    return factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=2, max_overlap=3, gold_share=0
    )


def waiting_item(project, *, wanted: int = 2, taken: int = 0, state: str = HIT.State.OPEN):
    item = factories.ItemFactory(project=project)
    hit = factories.HITFactory(item=item, answers_wanted=wanted, slots_taken=taken, state=state)
    return item, hit


def answer_on(hit, worker, label: str = "cat") -> Answer:
    return factories.AnswerFactory(assignment__hit=hit, assignment__worker=worker, label=label)


def test_the_checker_names_every_invariant(crowd):
    assert set(project_invariants(project_id=crowd.pk)) == set(INVARIANTS)
    assert project_invariants_broken(project_id=crowd.pk) == {}


# --- The checker catches each violation ------------------------------------------------------


def test_it_catches_a_waiting_item_whose_slots_are_all_taken(crowd):
    stranded, _ = waiting_item(crowd, wanted=2, taken=2)
    servable, _ = waiting_item(crowd, wanted=2, taken=1)
    broken = project_invariants(project_id=crowd.pk)
    assert broken["waiting_not_servable"] == [stranded.pk]
    assert servable.pk not in broken["waiting_not_servable"]


def test_a_live_lease_makes_a_full_hit_servable(crowd, worker):
    item, hit = waiting_item(crowd, wanted=1)
    assignment_claim(worker=worker, project=crowd)
    hit.refresh_from_db()
    assert hit.slots_taken == hit.answers_wanted
    assert item.pk not in project_invariants(project_id=crowd.pk)["waiting_not_servable"]


def test_it_catches_a_waiting_item_whose_hit_is_closed(crowd):
    done, _ = waiting_item(crowd, state=HIT.State.DONE)
    cancelled, _ = waiting_item(crowd, state=HIT.State.CANCELLED)
    no_hit = factories.ItemFactory(project=crowd)
    broken = project_invariants(project_id=crowd.pk)
    assert broken["waiting_hit_closed"] == sorted([done.pk, cancelled.pk, no_hit.pk])
    assert set(broken["waiting_not_servable"]) == {done.pk, cancelled.pk, no_hit.pk}


def test_it_catches_an_open_hit_on_a_settled_item(crowd):
    item, hit = waiting_item(crowd)
    Item.objects.filter(pk=item.pk).update(state=Item.State.CONSENSUS)
    review, review_hit = waiting_item(crowd)
    Item.objects.filter(pk=review.pk).update(state=Item.State.NEEDS_REVIEW)
    assert project_invariants(project_id=crowd.pk)["open_hit_item_not_waiting"] == [
        hit.pk,
        review_hit.pk,
    ]


def test_it_catches_slots_taken_that_drifted_from_the_assignments(crowd, worker):
    _, hit = waiting_item(crowd, wanted=3, taken=0)
    answer_on(hit, worker)
    assert project_invariants(project_id=crowd.pk)["slots_mismatch"] == [hit.pk]
    HIT.objects.filter(pk=hit.pk).update(slots_taken=1)
    assert project_invariants(project_id=crowd.pk)["slots_mismatch"] == []


def test_it_catches_more_counted_answers_than_wanted(crowd, worker, other_worker):
    _, hit = waiting_item(crowd, wanted=1, taken=2)
    answer_on(hit, worker)
    answer_on(hit, other_worker)
    assert project_invariants(project_id=crowd.pk)["answers_over_wanted"] == [hit.pk]


def test_it_catches_counted_answers_of_a_blocked_worker(crowd, worker, other_worker):
    _, hit = waiting_item(crowd, wanted=2, taken=2)
    blocked = answer_on(hit, worker)
    answer_on(hit, other_worker)
    factories.BlockFactory(worker=worker, project=crowd)
    assert project_invariants(project_id=crowd.pk)["blocked_answers_counted"] == [blocked.pk]


def test_gold_is_outside_the_slot_and_item_invariants(crowd, worker, other_worker):
    gold = factories.ItemFactory(project=crowd, is_gold=True, gold_label="cat")
    hit = factories.HITFactory(item=gold, answers_wanted=1)
    answer_on(hit, worker)
    answer_on(hit, other_worker)
    assert project_invariants_broken(project_id=crowd.pk) == {}


# --- The services keep them ------------------------------------------------------------------


def test_claims_submits_skips_and_expiries_keep_the_slots(crowd, worker, other_worker):
    make_items(crowd, 3, lambda i: "cat")
    first = assignment_claim(worker=worker, project=crowd)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=1)
    skipped = assignment_claim(worker=worker, project=crowd)
    assignment_skip(worker=worker, assignment_id=skipped.pk)
    lapsed = assignment_claim(worker=other_worker, project=crowd)
    Assignment.objects.filter(pk=lapsed.pk).update(lease_expires_at=timezone.now())
    assert assignment_expire_due(project=crowd) == 1
    assignment_claim(worker=worker, project=crowd)  # a live lease at the end
    assert project_invariants(project_id=crowd.pk)["slots_mismatch"] == []


def test_a_crowd_run_to_the_end_leaves_every_invariant_holding(crowd, sync_q):
    make_items(crowd, 12, lambda i: LABELS[i % 3])
    for n in range(4):
        worker = factories.WorkerFactory()
        work(worker, crowd, lambda item, n=n: item.payload and LABELS[(item.payload["n"] + n) % 2])
        assert aggregate_now(crowd)
    assert project_invariants_broken(project_id=crowd.pk) == {}


def test_a_run_never_lowers_answers_wanted_under_live_leases(crowd):
    from apps.tasks.services.consensus.run import consensus_run

    crowd.max_overlap = 5
    crowd.save()
    item = factories.ItemFactory(project=crowd)
    hit = factories.HITFactory(item=item, answers_wanted=5)
    for label in ("cat", "dog"):
        worker = factories.WorkerFactory()
        lease = assignment_claim(worker=worker, project=crowd)
        assignment_submit(worker=worker, assignment_id=lease.pk, label=label, seconds_spent=1)
    live = [
        (w, assignment_claim(worker=w, project=crowd))
        for w in factories.WorkerFactory.create_batch(2)
    ]
    consensus_run(project_id=crowd.pk)  # two answers, split: wants a third, but four slots hold
    hit.refresh_from_db()
    assert (hit.state, hit.answers_wanted, hit.slots_taken) == (HIT.State.OPEN, 4, 4)
    for worker, lease in live:
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert project_invariants(project_id=crowd.pk)["answers_over_wanted"] == []
