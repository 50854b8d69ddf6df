"""Consensus through the real services and the real (sync) django-q2 job, on hand-built votes."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from apps.tasks.aggregation import aggregate
from apps.tasks.models import AggregationRun, AggregationState, Item
from apps.tasks.services.consensus.scheduling import (
    aggregation_enqueue,
    aggregation_request,
    consensus_drain,
)
from apps.workers.models import WorkerStats
from tests import factories
from tests.helpers.crowd import LABELS, aggregate_now, make_items, work


def by_external_id(project) -> dict[str, Item]:
    return {item.external_id: item for item in Item.objects.filter(project=project)}


def truth_of(items: list[Item]) -> dict[str, str]:
    return {item.external_id: item.truth for item in items}


def stats_of(worker, project) -> WorkerStats:
    return WorkerStats.objects.get(worker=worker, project=project)


@pytest.fixture
def three_way(requester):
    return factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=3, max_overlap=3, gold_share=0
    )


def test_a_random_spammer_is_outvoted_by_two_reliable_workers(
    three_way, sync_q, django_capture_on_commit_callbacks
):
    items = make_items(three_way, 30, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(4)
    reliable = [factories.WorkerFactory(), factories.WorkerFactory()]
    spammer = factories.WorkerFactory()
    capture = django_capture_on_commit_callbacks
    work(spammer, three_way, lambda item: rng.choice(LABELS), capture)
    for worker in reliable:
        work(worker, three_way, lambda item: truth[item.pk], capture)

    stored = by_external_id(three_way)
    assert {k: v.final_label for k, v in stored.items()} == truth_of(items)
    assert all(item.label_source == Item.Source.CROWD for item in stored.values())
    assert all(abs(sum(item.posterior.values()) - 1) < 1e-5 for item in stored.values())
    assert stats_of(spammer, three_way).skill < 0.6 < stats_of(reliable[0], three_way).skill
    assert stats_of(spammer, three_way).skill_high < stats_of(reliable[0], three_way).skill_low


def test_a_worker_who_always_gives_the_same_label_counts_for_little(
    requester, sync_q, django_capture_on_commit_callbacks
):
    four_way = factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=4, max_overlap=4, gold_share=0
    )
    items = make_items(four_way, 30, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    position = {item.pk: i for i, item in enumerate(items)}
    lazy, good, also_good, fair = (factories.WorkerFactory() for _ in range(4))
    work(lazy, four_way, lambda item: "cat")
    work(good, four_way, lambda item: truth[item.pk])
    work(also_good, four_way, lambda item: truth[item.pk])
    # right 7 times in 10, spread over every true class (by position, not by primary key:
    # keys depend on which tests ran before); when wrong, never the lazy one's "cat"
    wrong = {"cat": "dog", "dog": "bird", "bird": "dog"}
    work(
        fair,
        four_way,
        lambda item: (
            wrong[truth[item.pk]] if position[item.pk] % 10 in (0, 4, 8) else truth[item.pk]
        ),
    )
    assert aggregate_now(four_way)

    stored = by_external_id(four_way)
    correct = sum(stored[k].final_label == v for k, v in truth_of(items).items())
    assert correct >= 28
    lazy_stats = stats_of(lazy, four_way)
    assert lazy_stats.skill < 0.5
    assert lazy_stats.agreement == pytest.approx(1 / 3, abs=0.1)
    assert lazy_stats.confusion[1][0] > 0.9  # a true dog is "cat" for them


def test_a_consistently_wrong_worker_becomes_signal(
    requester, sync_q, django_capture_on_commit_callbacks
):
    # The spam rule (on by default) blocks the twisted worker: its chance-corrected accuracy
    # is negative, as a worker who swaps labels misread the guideline. Here: decoding.
    project = factories.ProjectFactory(
        owner=requester,
        labels=LABELS,
        min_overlap=4,
        max_overlap=4,
        gold_share=0,
        block_below_spam_score=0,
    )
    items = make_items(project, 60, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    first_half = {item.pk for item in items[:30]}
    shifted = {"cat": "dog", "dog": "bird", "bird": "cat"}
    rng = random.Random(7)
    sure = [factories.WorkerFactory(), factories.WorkerFactory()]
    twisted, noisy = factories.WorkerFactory(), factories.WorkerFactory()
    capture = django_capture_on_commit_callbacks
    for worker in sure:
        work(
            worker, project, lambda item: truth[item.pk] if item.pk in first_half else None, capture
        )
    work(twisted, project, lambda item: shifted[truth[item.pk]], capture)
    work(noisy, project, lambda item: truth[item.pk] if rng.random() < 0.5 else "cat", capture)

    stored = by_external_id(project)
    second_half = [item for item in items if item.pk not in first_half]
    correct = sum(stored[i.external_id].final_label == i.truth for i in second_half)
    # On the second half only the twisted and the noisy worker answered: decoded, the
    # twisted worker is right every time. Majority vote could not know whom to follow.
    assert correct >= 27
    confusion = stats_of(twisted, project).confusion
    assert confusion[0][1] > 0.9 and confusion[1][2] > 0.9 and confusion[2][0] > 0.9


def test_each_item_records_its_method_and_run(
    three_way, sync_q, django_capture_on_commit_callbacks
):
    items = make_items(three_way, 6, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    # The crowd exists before the first answer: an item every worker already answered would go
    # to review (no worker left who may answer it).
    for worker in [factories.WorkerFactory() for _ in range(3)]:
        work(worker, three_way, lambda item: truth[item.pk], django_capture_on_commit_callbacks)

    item = Item.objects.get(pk=items[0].pk)
    assert item.consensus_method == "dawid_skene"
    assert item.aggregation_run.status == AggregationRun.Status.FINISHED
    assert item.aggregation_run.project == three_way
    assert set(item.posterior) == set(LABELS)
    assert item.final_confidence == item.posterior[item.final_label]
    latest = AggregationRun.objects.filter(project=three_way).order_by("-id").first()
    assert latest.answers == 18 and latest.items == 6 and latest.workers == 3
    assert latest.confusions is not None
    older = AggregationRun.objects.filter(project=three_way).exclude(pk=latest.pk)
    assert not older.filter(confusions__isnull=False).exists()


def test_a_burst_of_answers_queues_one_run(three_way, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))
    items = make_items(three_way, 3, lambda i: "cat")
    for project_id in [three_way.pk] * 10:
        aggregation_enqueue(project_id=project_id)
    assert len(queued) == 1
    assert consensus_drain(project_id=three_way.pk) == 1
    assert consensus_drain(project_id=three_way.pk) == 0  # nothing pending: no second run
    assert AggregationRun.objects.filter(project=three_way).count() == 1
    assert items


def test_a_job_finds_the_project_running_and_leaves_it_to_the_running_one(three_way):
    make_items(three_way, 2, lambda i: "cat")
    aggregation_request(project_id=three_way.pk)
    AggregationState.objects.filter(project=three_way).update(running_since="2100-01-01T00:00Z")
    assert consensus_drain(project_id=three_way.pk) == 0
    assert AggregationState.objects.get(project=three_way).pending is True


def test_a_retried_run_changes_nothing(three_way, sync_q, django_capture_on_commit_callbacks):
    items = make_items(three_way, 9, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(1)
    for worker in (factories.WorkerFactory() for _ in range(3)):
        work(
            worker,
            three_way,
            lambda item: truth[item.pk] if rng.random() < 0.8 else "bird",
            django_capture_on_commit_callbacks,
        )
    before = list(Item.objects.order_by("pk").values())
    aggregation_request(project_id=three_way.pk)
    assert consensus_drain(project_id=three_way.pk) == 1
    latest = AggregationRun.objects.filter(project=three_way).order_by("-id").first()
    assert latest.items_changed == 0
    assert list(Item.objects.order_by("pk").values()) == before


def test_the_stored_consensus_equals_the_core_on_the_same_answers(
    three_way, sync_q, django_capture_on_commit_callbacks
):
    items = make_items(three_way, 12, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    rng = random.Random(3)
    for worker in (factories.WorkerFactory() for _ in range(3)):
        work(
            worker,
            three_way,
            lambda item: truth[item.pk] if rng.random() < 0.7 else rng.choice(LABELS),
            django_capture_on_commit_callbacks,
        )
    call_command("aggregate", project=three_way.pk)  # a cold full run
    from apps.tasks.models import Answer

    rows = Answer.objects.filter(project=three_way).values_list("item_id", "worker_id", "label")
    expected = aggregate(list(rows), labels=LABELS)
    for item in Item.objects.filter(project=three_way):
        assert item.final_label == expected.item(item.pk).label
        for label, p in expected.item(item.pk).posterior.items():
            assert item.posterior[label] == pytest.approx(p, abs=2e-4)


def test_the_aggregate_command_rejects_an_unknown_project(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No project"):
        call_command("aggregate", project=999)


def test_gold_and_admin_labels_are_never_overwritten(
    three_way, sync_q, django_capture_on_commit_callbacks, admin_user
):
    items = make_items(three_way, 6, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    Item.objects.filter(pk=items[0].pk).update(
        final_label="bird", label_source=Item.Source.ADMIN, state=Item.State.RESOLVED
    )
    gold = items[1]
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_label="bird")
    for worker in (factories.WorkerFactory() for _ in range(3)):
        work(worker, three_way, lambda item: truth[item.pk], django_capture_on_commit_callbacks)
    resolved = Item.objects.get(pk=items[0].pk)
    assert (resolved.final_label, resolved.label_source) == ("bird", Item.Source.ADMIN)
    assert resolved.state == Item.State.RESOLVED
    assert Item.objects.get(pk=gold.pk).final_label == ""
    assert Item.objects.get(pk=items[2].pk).final_label == "bird"


def test_a_run_costs_the_same_number_of_queries_for_few_or_many_items(requester):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.tasks.services.consensus.run import consensus_run

    counts = []
    for n in (4, 24):
        project = factories.ProjectFactory(
            owner=requester,
            labels=LABELS,
            min_overlap=2,
            max_overlap=2,
            gold_share=0,
            block_below_spam_score=0,  # a due block check reads the blocks (one query more)
            block_gold_accuracy=0,
        )
        make_items(project, n, lambda i: LABELS[i % 3])
        for worker in (factories.WorkerFactory() for _ in range(2)):
            work(worker, project, lambda item: LABELS[item.pk % 3])
        with CaptureQueriesContext(connection) as queries:
            consensus_run(project_id=project.pk)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 26  # 26th: the items nobody may answer (one grouped query)


def test_a_failed_run_is_recorded_and_its_request_kept_for_the_retry(three_way):
    from apps.tasks.aggregation import AggregationError
    from apps.tasks.models import Answer

    items = make_items(three_way, 2, lambda i: "cat")
    for worker in (factories.WorkerFactory() for _ in range(3)):
        work(worker, three_way, lambda item: "cat")
    Answer.objects.filter(item=items[0]).update(label="horse")  # a label no longer in the set
    aggregation_request(project_id=three_way.pk)
    with pytest.raises(AggregationError, match="horse"):
        consensus_drain(project_id=three_way.pk)
    run = AggregationRun.objects.get(project=three_way)
    assert run.status == AggregationRun.Status.FAILED and "horse" in run.error
    state = AggregationState.objects.get(project=three_way)
    assert state.pending and state.running_since is None
    assert not Item.objects.filter(project=three_way).exclude(final_label="").exists()


def test_a_drain_that_hands_over_queues_a_fresh_job_and_nothing_gets_stuck(three_way, monkeypatch):
    from apps.tasks.services.consensus import scheduling

    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))
    make_items(three_way, 2, lambda i: "cat")
    monkeypatch.setattr(scheduling, "MAX_RUNS_PER_DRAIN", 0)  # as if answers never stopped
    aggregation_request(project_id=three_way.pk)
    assert consensus_drain(project_id=three_way.pk) == 0
    assert queued == [(scheduling.AGGREGATE_JOB, three_way.pk)]
    # a flag whose time was lost is taken as stale: the next answer queues a job again
    AggregationState.objects.filter(project=three_way).update(requested_at=None)
    assert aggregation_enqueue(project_id=three_way.pk)
    assert len(queued) == 2
