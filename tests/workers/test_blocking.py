"""Automatic blocking: caught by the project's rules, refused tasks, answers out of consensus."""

from __future__ import annotations

import random

import pytest

from apps.tasks.aggregation import aggregate
from apps.tasks.errors import NotQualified
from apps.tasks.models import AggregationRun, Answer, Item
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.submit import assignment_submit
from apps.workers.models import Block, WorkerStats
from apps.workers.services import worker_block, worker_unblock
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, make_items, work


@pytest.fixture
def strict(requester):
    return factories.ProjectFactory(
        owner=requester,
        labels=LABELS,
        min_overlap=3,
        max_overlap=3,
        gold_share=0,
        block_below_spam_score=0,  # the skill rule alone (the spam rule: tests below)
        block_below_skill=0.6,
        block_min_answers=20,
    )


def latest_run(project) -> AggregationRun:
    return AggregationRun.objects.filter(project=project).order_by("-id").first()


@pytest.fixture
def spammed(strict, sync_q, django_capture_on_commit_callbacks):
    items = make_items(strict, 30, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(11)
    spammer = factories.WorkerFactory(username="spammer")
    work(spammer, strict, lambda item: rng.choice(LABELS))
    for _ in range(2):
        work(factories.WorkerFactory(), strict, lambda item: truth[item.pk])
    assert aggregate_now(strict)  # the job runs, blocks, and runs again without the spammer
    return spammer


def test_a_spammer_is_blocked_with_the_reason(strict, spammed):
    block = Block.objects.get(worker=spammed, project=strict)
    assert block.automatic and block.lifted_at is None
    assert "Skill too low" in block.reason


def test_the_blocked_workers_answers_leave_the_consensus(strict, spammed):
    run = latest_run(strict)
    assert run.answers == 60 and run.workers == 2
    rows = Answer.objects.filter(project=strict).exclude(worker=spammed)
    expected = aggregate(list(rows.values_list("item_id", "worker_id", "label")), labels=LABELS)
    for item in Item.objects.filter(project=strict):
        assert item.final_label == expected.item(item.pk).label
        assert item.posterior == pytest.approx(expected.item(item.pk).posterior, abs=2e-4)


def test_a_blocked_worker_gets_no_more_tasks_there(strict, spammed):
    factories.HITFactory(item=factories.ItemFactory(project=strict), answers_wanted=3)
    with pytest.raises(NotQualified, match="blocked on this project"):
        assignment_claim(worker=spammed, project=strict)
    assert assignment_claim(worker=spammed) is None  # the any-project claim passes over it


def test_the_api_refuses_a_blocked_worker_with_a_clear_reason(strict, spammed, api_client_for):
    response = api_client_for(spammed).post(
        "/api/v1/work/next/", {"project": strict.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "not_qualified"
    assert "blocked" in response.json()["detail"]


def test_unblocking_leaves_the_discarded_answers_out_and_is_not_undone_automatically(
    strict, spammed, admin_user, sync_q, django_capture_on_commit_callbacks
):
    block = Block.objects.get(worker=spammed, project=strict)
    with django_capture_on_commit_callbacks(execute=True):
        worker_unblock(block=block, by=admin_user)
    block.refresh_from_db()
    assert block.lifted_by == admin_user and block.lifted_at is not None
    run = latest_run(strict)
    assert run.answers == 60 and run.workers == 2  # the block's discard is for good
    assert Answer.objects.filter(worker=spammed, discard_reason="blocked").count() == 30
    assert not Block.objects.filter(project=strict, lifted_at__isnull=True).exists()


def test_an_unblocked_worker_gets_new_work_but_never_the_items_they_answered_before(
    strict, spammed, admin_user, sync_q, django_capture_on_commit_callbacks
):
    # docs/state.md: the discarded answers stay out for good, and their assignments keep the
    # worker off those HITs as any earlier assignment does (never the same HIT twice).
    block = Block.objects.get(worker=spammed, project=strict)
    with django_capture_on_commit_callbacks(execute=True):
        worker_unblock(block=block, by=admin_user)
    new = factories.HITFactory(item=factories.ItemFactory(project=strict), answers_wanted=3)
    lease = assignment_claim(worker=spammed, project=strict)
    assert lease is not None and lease.hit_id == new.pk
    answer = assignment_submit(
        worker=spammed, assignment_id=lease.pk, label="cat", seconds_spent=1.0
    )
    assert answer.discarded_at is None  # it counts
    assert assignment_claim(worker=spammed, project=strict) is None


def gold_project(requester, golds: int, *, qualification_size: int = 0):
    project = factories.ProjectFactory(
        owner=requester,
        labels=LABELS,
        gold_share=1.0,
        block_gold_accuracy=0.7,
        block_min_gold=3,
        qualification_size=qualification_size,
    )
    for i in range(golds):
        gold = factories.ItemFactory(project=project, is_gold=True, gold_label="dog")
        factories.HITFactory(item=gold, answers_wanted=1)
        factories.HITFactory(item=factories.ItemFactory(project=project, external_id=f"r{i}"))
    return project


def test_failing_gold_blocks_a_worker(
    requester, sync_q, django_capture_on_commit_callbacks, settings
):
    settings.BLOCK_CHECK_EVERY = 3
    project = gold_project(requester, 4)
    cheat = factories.WorkerFactory()
    with pytest.raises(NotQualified, match="did not meet its quality rules"):
        work(cheat, project, lambda item: "cat", django_capture_on_commit_callbacks)
    assert Answer.objects.filter(worker=cheat).count() == 3
    assert "Failed gold: 0 of 3" in Block.objects.get(worker=cheat).reason  # for the requester


def test_a_block_lands_at_the_checkpoint_not_at_the_answer_that_tipped_it(
    requester, sync_q, django_capture_on_commit_callbacks, settings
):
    settings.BLOCK_CHECK_EVERY = 10
    project = gold_project(requester, 12)
    cheat = factories.WorkerFactory()
    with pytest.raises(NotQualified):
        work(cheat, project, lambda item: "cat", django_capture_on_commit_callbacks)
    # The rule held from the third gold answer on; the check came with the tenth answer,
    # and judged exactly those ten.
    assert Answer.objects.filter(worker=cheat).count() == 10
    assert "Failed gold: 0 of 10" in Block.objects.get(worker=cheat).reason


def test_no_block_is_decided_during_the_qualification_test(
    requester, sync_q, django_capture_on_commit_callbacks, settings
):
    settings.BLOCK_CHECK_EVERY = 2
    project = gold_project(requester, 12, qualification_size=5)
    careless = factories.WorkerFactory()
    with pytest.raises(NotQualified, match="did not pass"):
        work(careless, project, lambda item: "cat", django_capture_on_commit_callbacks)
    assert Answer.objects.filter(worker=careless).count() == 5
    assert not Block.objects.filter(worker=careless).exists()


def test_blocking_by_hand_twice_keeps_one_block(strict, worker, admin_user):
    first = worker_block(worker=worker, project=strict, reason="Copy-pasting", by=admin_user)
    again = worker_block(worker=worker, project=strict, reason="Again", by=admin_user)
    assert first.pk == again.pk and not first.automatic
    assert Block.objects.filter(worker=worker, project=strict).count() == 1


def test_a_late_run_judges_only_the_answers_up_to_the_checkpoint(requester, sync_q, settings):
    settings.BLOCK_CHECK_EVERY = 10
    project = gold_project(requester, 14)
    project.block_gold_accuracy = 0.95  # 10 of 10: at most 0.998; 10 of 14: at most 0.90
    project.save()
    cheat = factories.WorkerFactory()

    def answer(count: int) -> None:  # the gold tasks come first: right on ten, then wrong
        for _ in range(count):
            lease = assignment_claim(worker=cheat, project=project)
            golds = Answer.objects.filter(worker=cheat, item__is_gold=True).count()
            label = "dog" if lease.hit.is_gold and golds < 10 else "cat"
            assignment_submit(worker=cheat, assignment_id=lease.pk, label=label, seconds_spent=1)

    answer(14)
    assert aggregate_now(project)  # one run sees 14 answers: the check covers the first 10
    assert not Block.objects.filter(worker=cheat).exists()  # 10 of 10, though 10 of 14 now
    answer(6)
    assert aggregate_now(project)
    assert "Failed gold: 10 of 14" in Block.objects.get(worker=cheat).reason


# --- The defaults: spam score and gold intervals (issue 13) ------------------------------------


@pytest.fixture
def by_default(requester):
    """A project with the platform's default block rules."""
    return factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=4, max_overlap=4, gold_share=0
    )


def test_the_block_rules_are_on_by_default(by_default):
    assert by_default.block_below_spam_score > 0 and by_default.block_gold_accuracy > 0


def test_a_constant_and_a_random_worker_are_blocked_at_a_checkpoint_by_default(
    by_default, sync_q, django_capture_on_commit_callbacks, settings
):
    settings.BLOCK_CHECK_EVERY = 10
    items = make_items(by_default, 20, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(5)
    constant, spammer, good, also_good = (factories.WorkerFactory() for _ in range(4))
    # The constant one gives the class a skill score cannot tell from a fair worker's.
    work(constant, by_default, lambda item: "cat")
    work(spammer, by_default, lambda item: rng.choice(LABELS))
    work(good, by_default, lambda item: truth[item.pk])
    work(also_good, by_default, lambda item: truth[item.pk])
    assert aggregate_now(by_default)

    blocked = {block.worker_id: block.reason for block in Block.objects.filter(project=by_default)}
    assert set(blocked) == {constant.pk, spammer.pk}
    assert all("too little information" in reason for reason in blocked.values())
    assert all("after 20 answers" in reason for reason in blocked.values())  # the checkpoint
    # As the run that blocked them saw them (their answers have left the consensus since).
    constant_stats = WorkerStats.objects.get(project=by_default, worker=constant)
    assert constant_stats.spam_score_high < 0.5 and abs(constant_stats.spam_score) < 0.15


def test_a_reliable_worker_with_three_of_five_gold_wrong_is_not_blocked(
    requester, sync_q, django_capture_on_commit_callbacks, settings
):
    # Issue 13: a 0.865-accurate worker was blocked on 2 of its first 5 gold answers right.
    settings.BLOCK_CHECK_EVERY = 5
    project = gold_project(requester, 5)
    project.block_gold_accuracy, project.block_min_gold = 0.6, 5  # above the default bar
    project.save()
    unlucky = factories.WorkerFactory()
    right = iter([True, False, True, False, False])
    answered = work(
        unlucky,
        project,
        lambda item: ("dog" if next(right) else "cat") if item.is_gold else "dog",
        django_capture_on_commit_callbacks,
    )
    assert answered == 10
    assert not Block.objects.filter(worker=unlucky).exists()
    stats = WorkerStats.objects.get(worker=unlucky, project=project)
    assert (stats.gold_answers, stats.gold_correct) == (5, 2)
