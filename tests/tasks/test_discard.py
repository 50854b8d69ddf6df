"""Answers that no longer count (services/discard.py): a blocked worker's and those an admin
rejects leave the consensus for good and give their slots back; a blocked worker's in-flight
submit is refused, not paid, and its slot comes back. The outside run's story (issue 13)."""

from __future__ import annotations

import pytest

from apps.tasks.errors import LeaseExpired, NotQualified
from apps.tasks.models import HIT, Answer, Assignment, Item
from apps.tasks.selectors.invariants import project_invariants, project_invariants_broken
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.skip import assignment_skip
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.ledger import ledger_reject_answers
from apps.workers.models import Block, LedgerEntry
from apps.workers.selectors import block_notice
from apps.workers.services import worker_block, worker_unblock
from hitlcrowd.api import domain_status
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, make_items, work


@pytest.fixture
def project(requester):
    return factories.ProjectFactory(
        owner=requester,
        labels=LABELS,
        min_overlap=2,
        max_overlap=3,
        gold_share=0,
        reward_per_answer="0.05",
    )


@pytest.fixture
def full(project, sync_q):
    """The outside run's strand: a spammer and an honest worker filled every HIT's two slots
    and disagree, so each item wants a third answer; then the spammer is blocked."""
    items = make_items(project, 6, lambda i: "cat")
    spammer = factories.WorkerFactory(username="spammer")
    work(spammer, project, lambda item: "dog")
    work(factories.WorkerFactory(username="ann"), project, lambda item: "cat")
    assert aggregate_now(project)
    assert set(HIT.objects.filter(project=project).values_list("slots_taken", flat=True)) == {2}
    return items, spammer


def states(project) -> set[str]:
    return set(Item.objects.filter(project=project).values_list("state", flat=True))


def block(spammer, project, admin_user, capture) -> None:
    with capture(execute=True):  # its consensus run, queued after commit (sync)
        worker_block(worker=spammer, project=project, reason="Spam", by=admin_user)


def test_after_a_block_the_items_it_held_are_served_again_and_finish(
    project, full, admin_user, django_capture_on_commit_callbacks
):
    _, spammer = full
    # A worker who may still answer them (else they would go to review: no worker left).
    bo = factories.WorkerFactory(username="bo")
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    for hit in HIT.objects.filter(project=project):
        assert (hit.state, hit.slots_taken) == (HIT.State.OPEN, 1)  # the spammer's slot is back
    assert project_invariants_broken(project_id=project.pk) == {}
    assert work(bo, project, lambda item: "cat") == 6
    assert aggregate_now(project)
    assert states(project) == {Item.State.CONSENSUS}
    assert set(Item.objects.filter(project=project).values_list("final_label", flat=True)) == {
        "cat"
    }
    assert project_invariants_broken(project_id=project.pk) == {}


def test_a_block_marks_the_answers_and_assignments_for_good(
    project, full, admin_user, django_capture_on_commit_callbacks
):
    _, spammer = full
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    answers = Answer.objects.filter(worker=spammer)
    assert set(answers.values_list("discard_reason", flat=True)) == {"blocked"}
    assert not answers.filter(discarded_at__isnull=True).exists()
    assert set(Assignment.objects.filter(worker=spammer).values_list("state", flat=True)) == {
        Assignment.State.DISCARDED
    }
    # Still "had this HIT": after an unblock the spammer is not served the same HITs again.
    with django_capture_on_commit_callbacks(execute=True):
        worker_unblock(block=Block.objects.get(worker=spammer), by=admin_user)
    assert assignment_claim(worker=spammer, project=project) is None
    assert Answer.objects.counted().filter(worker=spammer).count() == 0


def test_the_consensus_leaves_out_discarded_answers_after_an_unblock(
    project, full, admin_user, django_capture_on_commit_callbacks
):
    _, spammer = full
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        worker_unblock(block=Block.objects.get(worker=spammer), by=admin_user)
    run = project.aggregation_runs.order_by("-id").first()
    assert (run.answers, run.workers) == (6, 1)
    assert Item.objects.filter(project=project, final_label="dog").count() == 0


def test_an_automatic_block_gives_the_slots_back_in_the_same_run(requester, sync_q):
    strict = factories.ProjectFactory(
        owner=requester,
        labels=LABELS,
        min_overlap=3,
        max_overlap=3,
        gold_share=0,
        block_below_skill=0.6,
        block_min_answers=20,
    )
    items = make_items(strict, 30, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    spammer = factories.WorkerFactory(username="spammer")
    work(spammer, strict, lambda item: LABELS[(truth[item.pk] == "cat") + 1])  # always wrong
    for _ in range(2):
        work(factories.WorkerFactory(), strict, lambda item: truth[item.pk])
    third = factories.WorkerFactory()  # who may answer the items once the spammer is out
    assert aggregate_now(strict)
    assert Block.objects.filter(worker=spammer, project=strict).exists()
    assert not Answer.objects.counted().filter(worker=spammer).exists()
    assert project_invariants_broken(project_id=strict.pk) == {}
    # Two right answers of three wanted: the items want the third and are served again.
    open_hits = HIT.objects.filter(project=strict, state=HIT.State.OPEN)
    assert open_hits.filter(slots_taken__lt=3).count() == open_hits.count()
    assert work(third, strict, lambda item: truth[item.pk]) > 0
    assert aggregate_now(strict)
    assert states(strict) == {Item.State.CONSENSUS}
    assert project_invariants_broken(project_id=strict.pk) == {}


def test_items_in_review_that_lose_an_answer_go_back_to_people(
    project, sync_q, admin_user, django_capture_on_commit_callbacks
):
    make_items(project, 2, lambda i: "cat")
    spammer = factories.WorkerFactory(username="spammer")
    work(spammer, project, lambda item: "dog")
    work(factories.WorkerFactory(), project, lambda item: "cat")
    assert aggregate_now(project)
    work(factories.WorkerFactory(), project, lambda item: "bird")
    assert aggregate_now(project)
    assert states(project) == {Item.State.NEEDS_REVIEW}  # three labels at max overlap 3
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    assert states(project) == {Item.State.WAITING}
    assert project_invariants_broken(project_id=project.pk) == {}


# --- Rejected answers ------------------------------------------------------------------------


def test_rejected_answers_leave_the_consensus_and_stay_out_after_an_unblock(
    project, full, admin_user, django_capture_on_commit_callbacks
):
    _, spammer = full
    with django_capture_on_commit_callbacks(execute=True):
        assert ledger_reject_answers(worker=spammer, project=project, by=admin_user, reason="x")
    assert set(Answer.objects.filter(worker=spammer).values_list("discard_reason", flat=True)) == {
        "rejected"
    }
    assert project_invariants_broken(project_id=project.pk) == {}
    # Blocked and unblocked after the rejection: the answers keep their reason and stay out.
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        worker_unblock(block=Block.objects.get(worker=spammer), by=admin_user)
    assert set(Answer.objects.filter(worker=spammer).values_list("discard_reason", flat=True)) == {
        "rejected"
    }
    run = project.aggregation_runs.order_by("-id").first()
    assert (run.answers, run.workers) == (6, 1)
    assert not Item.objects.filter(project=project, final_label="dog").exists()


def test_rejected_answers_give_their_slots_back(project, full, admin_user):
    _, spammer = full
    ledger_reject_answers(worker=spammer, project=project, by=admin_user, reason="x")
    assert set(HIT.objects.filter(project=project).values_list("slots_taken", flat=True)) == {1}


def test_a_rejection_leaves_the_workers_live_lease_to_be_answered(project, admin_user):
    make_items(project, 2, lambda i: "cat")
    worker = factories.WorkerFactory()
    first = assignment_claim(worker=worker, project=project)
    assignment_submit(worker=worker, assignment_id=first.pk, label="cat", seconds_spent=1)
    lease = assignment_claim(worker=worker, project=project)
    ledger_reject_answers(worker=worker, project=project, by=admin_user, reason="x")
    answer = assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert answer.discarded_at is None and not answer.replayed


# --- A blocked worker's in-flight submit -----------------------------------------------------


@pytest.fixture
def leased(project, worker):
    hit = factories.HITFactory(item=factories.ItemFactory(project=project), answers_wanted=1)
    return hit, assignment_claim(worker=worker, project=project)


def credits(worker) -> int:
    return LedgerEntry.objects.filter(worker=worker, kind=LedgerEntry.Kind.CREDIT).count()


def test_a_block_ends_the_workers_live_leases(project, leased, worker, admin_user):
    hit, lease = leased
    worker_block(worker=worker, project=project, reason="Spam", by=admin_user)
    lease.refresh_from_db()
    hit.refresh_from_db()
    assert (lease.state, hit.slots_taken) == (Assignment.State.DISCARDED, 0)


def test_a_submit_after_a_block_is_refused_unpaid_and_the_slot_comes_back(
    project, leased, worker, admin_user, api_client_for
):
    hit, lease = leased
    worker_block(worker=worker, project=project, reason="Copy-pasting", by=admin_user)
    response = api_client_for(worker).post(
        f"/api/v1/work/assignments/{lease.pk}/submit/",
        {"label": "cat", "seconds_spent": 3},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_qualified"
    # A block by hand carries the admin's reason, written for the worker (issue 14).
    assert response.json()["detail"] == block_notice(automatic=False, reason="Copy-pasting")
    assert response.json()["detail"].endswith("by an administrator: Copy-pasting")
    assert not Answer.objects.filter(worker=worker).exists() and credits(worker) == 0
    hit.refresh_from_db()
    assert hit.slots_taken == 0


def test_a_lease_the_block_did_not_end_is_ended_by_the_refused_submit(project, leased, worker):
    """An automatic block is written inside a consensus run; its leases end just after.
    A submit in between is refused, and the lease's end is committed despite the refusal."""
    hit, lease = leased
    Block.objects.create(worker=worker, project=project, reason="Skill too low")
    with pytest.raises(NotQualified) as refused:
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert refused.value.message == block_notice(automatic=True)
    lease.refresh_from_db()
    hit.refresh_from_db()
    assert (lease.state, hit.slots_taken) == (Assignment.State.DISCARDED, 0)
    assert credits(worker) == 0 and not Answer.objects.filter(worker=worker).exists()
    assert project_invariants_broken(project_id=project.pk) == {}


def test_a_blocked_workers_skip_is_refused_the_same_way(project, leased, worker):
    hit, lease = leased
    Block.objects.create(worker=worker, project=project, reason="Skill too low")
    with pytest.raises(NotQualified):
        assignment_skip(worker=worker, assignment_id=lease.pk)
    hit.refresh_from_db()
    assert hit.slots_taken == 0


def test_a_lease_ended_by_a_lifted_block_answers_410(project, leased, worker, admin_user):
    _, lease = leased
    blocked = worker_block(worker=worker, project=project, reason="Oops", by=admin_user)
    worker_unblock(block=blocked, by=admin_user)
    with pytest.raises(LeaseExpired) as gone:
        assignment_submit(worker=worker, assignment_id=lease.pk, label="cat", seconds_spent=1)
    assert domain_status(gone.value) == 410


# --- Readers ---------------------------------------------------------------------------------


def test_the_consensus_endpoint_counts_only_answers_that_count(
    project, full, admin_user, requester, api_client_for, django_capture_on_commit_callbacks
):
    items, spammer = full
    block(spammer, project, admin_user, django_capture_on_commit_callbacks)
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/consensus/").json()
    assert {row["n_answers"] for row in body["results"]} == {1}
    quality = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/quality/").json()
    assert quality["answers"] == 6
    detail = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/items/{items[0].pk}/")
    reasons = {row["worker"]: row["discard_reason"] for row in detail.json()["answers"]}
    assert reasons[spammer.pk] == "blocked" and sorted(reasons.values()) == ["", "blocked"]


def test_the_consensus_endpoint_does_not_count_superseded_answers(
    project, full, requester, api_client_for
):
    items, _ = full
    version = factories.GuidelineVersionFactory(project=project)
    Answer.objects.filter(item=items[0]).update(superseded_by=version)
    body = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/consensus/").json()
    counts = {row["id"]: row["n_answers"] for row in body["results"]}
    assert counts[items[0].pk] == 0 and counts[items[1].pk] == 2


def test_the_invariant_checker_catches_a_discarded_answer_still_holding_a_slot(project, full):
    _, spammer = full
    answer = Answer.objects.filter(worker=spammer).first()
    Answer.objects.filter(pk=answer.pk).update(discarded_at=answer.created_at, discard_reason="x")
    assert project_invariants(project_id=project.pk)["discarded_answers_counted"] == [answer.pk]
