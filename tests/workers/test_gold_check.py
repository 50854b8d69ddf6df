"""The gold check: a first failure of the spam score or skill rule serves the worker gold until
the next block check decides, instead of blocking on the consensus of others (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, Answer, AuditEvent
from apps.tasks.services.assignments.claim import assignment_claim
from apps.workers.models import Block, WorkerStats
from apps.workers.services import block_check_sizes, worker_stats_store
from tests import factories
from tests.helpers.crowd import LABELS, make_items, work


@pytest.fixture
def checked_every_10(settings):
    settings.BLOCK_CHECK_EVERY = 10
    settings.BLOCK_CHECK_LEAD = 0


def project_with_gold(requester, *, real: int, gold: int):
    """Default block rules, no gold mixed in by share: gold reaches a worker only on a check."""
    project = factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=3, max_overlap=3, gold_share=0
    )
    items = make_items(project, real, lambda i: LABELS[i % 3])
    for i in range(gold):
        item = factories.ItemFactory(
            project=project, external_id=f"g{i}", is_gold=True, gold_label=LABELS[i % 3]
        )
        factories.HITFactory(item=item, answers_wanted=1)
    return project, {item.pk: item.truth for item in items}


def test_a_constant_worker_answers_gold_after_the_first_failed_check_and_is_then_blocked(
    requester, sync_q, django_capture_on_commit_callbacks, checked_every_10
):
    project, truth = project_with_gold(requester, real=30, gold=12)
    for _ in range(2):
        work(factories.WorkerFactory(), project, lambda item: truth[item.pk])
    constant = factories.WorkerFactory()

    with pytest.raises(NotQualified):  # the block lands: the next claim is refused
        work(constant, project, lambda item: "cat", django_capture_on_commit_callbacks)

    block = Block.objects.get(worker=constant, project=project)
    assert "too little information" in block.reason and "after 15 answers" in block.reason
    given = list(
        Answer.objects.filter(worker=constant, project=project)
        .order_by("id")
        .values_list("item__is_gold", flat=True)
    )
    # Ten real answers, the failed check, then gold only: the verdict comes with the fifth
    # gold answer, not at the next checkpoint (20).
    assert given == [False] * 10 + [True] * 5
    stats = WorkerStats.objects.get(worker=constant, project=project)
    assert stats.gold_check_at is None  # the check ended with the block


def test_a_worker_on_a_gold_check_is_served_gold_first(
    requester, sync_q, django_capture_on_commit_callbacks, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    factories.WorkerStatsFactory(
        worker=worker, project=project, gold_check_at=10, gold_check_gold=0
    )

    lease = assignment_claim(worker=worker, project=project)

    assert lease.hit.is_gold


def check_row(worker_id: int, counts: np.ndarray, *, answers: int = 10, gold: int = 0) -> dict:
    """A consensus run's stats row for a worker at a check over `answers` answers, `gold` of
    them on gold."""
    return {
        "worker_id": worker_id,
        "answers": answers,
        "gold_answers": gold,
        "gold_correct": gold,
        "skill": None,
        "agreement": None,
        "median_seconds": None,
        "confusion": None,
        "spam_counts": counts,
        "checked": {
            "answers": answers,
            "gold_answers": gold,
            "gold_correct": gold,
            "spam_counts": counts,
        },
    }


CONSTANT = np.array([[4.0, 0, 0], [3.0, 0, 0], [3.0, 0, 0]])  # always "cat" on 10 known items
GOOD = np.eye(3) * 4 + np.array([[0, 1.0, 0], [0, 0, 0], [0, 0, 0]])


# Fails the spam rule at 10 answers (upper bound 0.43), short of a clear failure (below 0.25).
MARGINAL = np.array([[3.0, 1, 0], [1, 2, 1], [1, 1, 0]])


def test_a_clear_first_failure_without_gold_left_blocks_at_once(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=0)
    worker = factories.WorkerFactory()

    blocks = worker_stats_store(project=project, stats=[check_row(worker.pk, CONSTANT)])

    assert [block.worker_id for block in blocks] == [worker.pk]
    assert WorkerStats.objects.get(worker=worker, project=project).recheck_at is None


def test_a_failure_short_of_clear_without_gold_waits_for_a_recheck_ten_answers_later(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=0)
    worker = factories.WorkerFactory()

    assert worker_stats_store(project=project, stats=[check_row(worker.pk, MARGINAL)]) == []
    stats = WorkerStats.objects.get(worker=worker, project=project)
    assert (stats.recheck_at, stats.gold_check_at) == (10, None)
    # A check before the recheck is due neither blocks nor clears, unless the failure is clear.
    row = check_row(worker.pk, MARGINAL + np.eye(3) * 0.5, answers=16)
    assert worker_stats_store(project=project, stats=[row]) == []
    assert WorkerStats.objects.get(worker=worker, project=project).recheck_at == 10

    blocks = worker_stats_store(
        project=project, stats=[check_row(worker.pk, MARGINAL * 2, answers=20)]
    )

    assert [block.worker_id for block in blocks] == [worker.pk]
    assert "after 20 answers" in blocks[0].reason
    assert WorkerStats.objects.get(worker=worker, project=project).recheck_at is None
    events = AuditEvent.objects.filter(project=project).order_by("id")
    assert [e.action for e in events] == ["worker_recheck", "worker_block"]


def test_a_recheck_passed_clears_the_worker(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=0)
    worker = factories.WorkerFactory()
    worker_stats_store(project=project, stats=[check_row(worker.pk, MARGINAL)])

    row = check_row(worker.pk, MARGINAL + GOOD * 2, answers=20)
    assert worker_stats_store(project=project, stats=[row]) == []

    assert WorkerStats.objects.get(worker=worker, project=project).recheck_at is None
    events = AuditEvent.objects.filter(project=project).order_by("id")
    assert [(e.action, e.changes["answers"]) for e in events] == [
        ("worker_recheck", 10),
        ("worker_recheck_clear", 20),
    ]


def test_a_clear_failure_during_a_recheck_blocks_at_once(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=0)
    worker = factories.WorkerFactory()
    worker_stats_store(project=project, stats=[check_row(worker.pk, MARGINAL)])

    row = check_row(worker.pk, MARGINAL + CONSTANT * 3, answers=16)
    blocks = worker_stats_store(project=project, stats=[row])

    assert [block.worker_id for block in blocks] == [worker.pk]
    assert WorkerStats.objects.get(worker=worker, project=project).recheck_at is None


def test_with_gold_left_a_failure_short_of_clear_starts_a_gold_check_not_a_recheck(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()

    assert worker_stats_store(project=project, stats=[check_row(worker.pk, MARGINAL)]) == []

    stats = WorkerStats.objects.get(worker=worker, project=project)
    assert (stats.gold_check_at, stats.recheck_at) == (10, None)


def test_the_check_after_a_gold_check_clears_a_worker_who_passes(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()

    assert worker_stats_store(project=project, stats=[check_row(worker.pk, CONSTANT)]) == []
    assert WorkerStats.objects.get(worker=worker, project=project).gold_check_at == 10

    row = check_row(worker.pk, CONSTANT + GOOD * 2, answers=20, gold=5)
    assert worker_stats_store(project=project, stats=[row]) == []
    assert WorkerStats.objects.get(worker=worker, project=project).gold_check_at is None
    events = AuditEvent.objects.filter(project=project).order_by("id")
    assert [(e.action, e.changes["answers"]) for e in events] == [
        ("worker_gold_check", 10),
        ("worker_gold_check_clear", 20),
    ]


def test_the_check_after_a_gold_check_blocks_a_worker_who_fails_again(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    worker_stats_store(project=project, stats=[check_row(worker.pk, CONSTANT)])

    row = check_row(worker.pk, CONSTANT * 2, answers=20, gold=5)
    blocks = worker_stats_store(project=project, stats=[row])

    assert [block.worker_id for block in blocks] == [worker.pk]
    assert WorkerStats.objects.get(worker=worker, project=project).gold_check_at is None


def test_the_gold_rule_blocks_at_once(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    row = check_row(worker.pk, None)
    row["gold_answers"] = row["checked"]["gold_answers"] = 6
    row["checked"]["gold_correct"] = 0

    blocks = worker_stats_store(project=project, stats=[row])

    assert [block.worker_id for block in blocks] == [worker.pk]
    assert "Failed gold" in blocks[0].reason


def test_the_requester_sees_who_is_on_a_gold_check_and_the_worker_does_not(
    requester, api_client_for, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    worker_stats_store(project=project, stats=[check_row(worker.pk, CONSTANT)])

    rows = api_client_for(requester).get(f"/api/v1/projects/{project.pk}/workers/").json()
    mine = api_client_for(worker).get("/api/v1/work/me/stats/")

    assert [row["gold_check_at"] for row in rows["results"]] == [10]
    assert mine.status_code == 200 and "gold_check" not in mine.content.decode()


def test_a_check_with_too_little_new_gold_gives_no_verdict_yet(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    worker_stats_store(project=project, stats=[check_row(worker.pk, CONSTANT)])

    passing = check_row(worker.pk, CONSTANT + GOOD * 2, answers=20, gold=2)
    failing = check_row(worker.pk, CONSTANT * 2, answers=20, gold=2)

    assert worker_stats_store(project=project, stats=[passing]) == []
    assert worker_stats_store(project=project, stats=[failing]) == []
    assert WorkerStats.objects.get(worker=worker, project=project).gold_check_at == 10


def test_a_gold_check_is_judged_with_its_fifth_gold_answer_between_checkpoints(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    worker = factories.WorkerFactory()
    stored = {worker.pk: {"answers": 12, "gold_check_gold": 1}}

    def size(count: int, gold: int) -> int:
        return int(
            block_check_sizes(
                project=project, worker_ids=[worker.pk], counts=[count], gold=[gold], stored=stored
            )[0]
        )

    assert size(13, 5) == 0  # four gold answers since the check began: no verdict yet
    assert size(14, 6) == 14  # the fifth: judged on all 14 answers
    stored[worker.pk]["gold_check_gold"] = None  # not on a check: checkpoints only
    assert size(14, 6) == 0 and size(20, 6) == 20


# Passes the rules at the first check (interval up to 0.71) with a spam score of 0.37.
DOUBTFUL = np.array([[3.0, 1, 0], [1, 2, 0], [1, 1, 1]])


def test_a_worker_passed_in_doubt_at_the_first_check_starts_a_gold_check(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    doubtful, good = factories.WorkerFactory(), factories.WorkerFactory()
    rows = [check_row(doubtful.pk, DOUBTFUL), check_row(good.pk, GOOD)]

    assert worker_stats_store(project=project, stats=rows) == []

    checks = dict(
        WorkerStats.objects.filter(project=project).values_list("worker", "gold_check_at")
    )
    assert checks == {doubtful.pk: 10, good.pk: None}
    event = AuditEvent.objects.get(project=project, action="worker_gold_check")
    assert "in doubt" in event.changes["reason"]


def test_doubt_starts_no_gold_check_after_the_first_check_or_without_gold(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=3)
    later = factories.WorkerFactory()
    assert (
        worker_stats_store(project=project, stats=[check_row(later.pk, DOUBTFUL * 2, answers=20)])
        == []
    )
    assert WorkerStats.objects.get(worker=later, project=project).gold_check_at is None

    no_gold, _ = project_with_gold(requester, real=5, gold=0)
    first = factories.WorkerFactory()
    assert worker_stats_store(project=no_gold, stats=[check_row(first.pk, DOUBTFUL)]) == []
    assert WorkerStats.objects.get(worker=first, project=no_gold).gold_check_at is None


def test_a_doubt_check_blocks_only_if_a_rule_then_fails(requester, checked_every_10):
    project, _ = project_with_gold(requester, real=5, gold=3)
    spammer, honest = factories.WorkerFactory(), factories.WorkerFactory()
    rows = [check_row(spammer.pk, DOUBTFUL), check_row(honest.pk, DOUBTFUL)]
    worker_stats_store(project=project, stats=rows)

    verdicts = [
        check_row(spammer.pk, DOUBTFUL + CONSTANT * 2, answers=15, gold=5),
        check_row(honest.pk, DOUBTFUL + GOOD, answers=15, gold=5),
    ]
    blocks = worker_stats_store(project=project, stats=verdicts)

    assert [block.worker_id for block in blocks] == [spammer.pk]
    assert not WorkerStats.objects.filter(project=project, gold_check_at__isnull=False).exists()


def test_a_worker_whose_check_gold_is_in_gets_nothing_until_the_verdict(
    requester, checked_every_10
):
    project, _ = project_with_gold(requester, real=5, gold=8)
    worker = factories.WorkerFactory()
    stats = factories.WorkerStatsFactory(
        worker=worker, project=project, gold_check_at=10, gold_check_gold=1
    )
    gold_hits = list(HIT.objects.filter(project=project, is_gold=True).order_by("id"))
    for hit in gold_hits[:5]:
        factories.AnswerFactory(assignment__hit=hit, assignment__worker=worker)

    lease = assignment_claim(worker=worker, project=project)
    assert lease.hit.is_gold  # 4 gold answers since the check started: one more is wanted

    lease.delete()
    factories.AnswerFactory(assignment__hit=gold_hits[5], assignment__worker=worker)

    assert assignment_claim(worker=worker, project=project) is None  # 5 since: the verdict's

    WorkerStats.objects.filter(pk=stats.pk).update(gold_check_at=None, gold_check_gold=None)
    assert assignment_claim(worker=worker, project=project) is not None  # cleared: work again
