"""The claim is one rule written twice (apps/tasks/sql.py): the PostgreSQL statement
(`claim_take`) and the portable version SQLite runs (`claim_take_portable`). Every test here
runs against both: on PostgreSQL both run (the portable one is plain ORM), on SQLite the
portable one alone. Concurrency (SKIP LOCKED, waiting for locked HITs) is the statement's
own and is tested in test_next_task_concurrency.py and test_claim_while_hits_are_locked.py."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.tasks import sql
from apps.tasks.models import HIT, Assignment
from tests.factories import (
    AssignmentFactory,
    GuidelineVersionFactory,
    HITFactory,
    ProjectFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["statement", "portable"])
def take(request):
    """take(worker, project, gold=False, real_left=False) -> the new assignment's id or None."""
    if request.param == "statement" and connection.vendor != "postgresql":
        pytest.skip("the claim statement is PostgreSQL's")

    def claim(worker, project, *, gold=False, real_left=False):
        now = timezone.now()
        args = {"worker": worker, "project": project, "gold": gold, "real_left": real_left}
        args |= {"now": now, "expires": now + timedelta(seconds=project.lease_seconds)}
        if request.param == "portable":
            return sql.claim_take_portable(**args)
        assignment = sql.claim_take(**args, wait=False, lock_wait="2s")
        return None if assignment is None else assignment.pk

    return claim


def _hit_of(assignment_id):
    return Assignment.objects.get(pk=assignment_id).hit_id


def _finish(assignment_id):
    Assignment.objects.filter(pk=assignment_id).update(
        state=Assignment.State.SUBMITTED, finished_at=timezone.now()
    )


def test_the_highest_priority_then_the_fewest_slots_left_then_the_lowest_id_comes_first(
    take, project, worker
):
    low = HITFactory(item__project=project, priority=1.0)
    roomy = HITFactory(item__project=project, priority=5.0, answers_wanted=3)
    first_of_two = HITFactory(item__project=project, priority=5.0, answers_wanted=2)
    second_of_two = HITFactory(item__project=project, priority=5.0, answers_wanted=2)
    order = []
    for _ in range(4):
        claimed = take(worker, project)
        order.append(_hit_of(claimed))
        _finish(claimed)
    assert order == [first_of_two.pk, second_of_two.pk, roomy.pk, low.pk]
    assert take(worker, project) is None


def test_a_worker_holding_a_lease_on_the_project_gets_nothing_more(take, project, worker):
    HITFactory.create_batch(2, item__project=project)
    assert take(worker, project) is not None
    assert take(worker, project) is None
    other = ProjectFactory()
    HITFactory(item__project=other)
    assert take(worker, other) is not None  # one live lease per project, not per worker


def test_a_worker_never_gets_a_hit_they_had_unless_that_assignment_was_superseded(
    take, project, worker
):
    had, again = HITFactory.create_batch(2, item__project=project, answers_wanted=3)
    AssignmentFactory(hit=had, worker=worker, state=Assignment.State.SKIPPED)
    old = AssignmentFactory(hit=again, worker=worker, submitted=True)
    rewritten = GuidelineVersionFactory(project=project)  # its answers were re-queued
    Assignment.objects.filter(pk=old.pk).update(superseded_by=rewritten)
    claimed = take(worker, project)
    assert _hit_of(claimed) == again.pk
    _finish(claimed)
    assert take(worker, project) is None


def test_full_held_closed_and_other_projects_hits_are_not_served(take, project, worker):
    HITFactory(item__project=project, answers_wanted=1, slots_taken=1)
    HITFactory(item__project=project, held=True)
    HITFactory(item__project=project, state=HIT.State.DONE)
    HITFactory(item__project=ProjectFactory())
    assert take(worker, project) is None
    free = HITFactory(item__project=project)
    assert _hit_of(take(worker, project)) == free.pk


def test_a_real_claim_takes_a_slot_and_a_gold_claim_does_not(take, project, worker):
    real = HITFactory(item__project=project, answers_wanted=2)
    gold = HITFactory(
        item__project=project, item__is_gold=True, item__gold_label="cat", answers_wanted=1
    )
    claimed = take(worker, project, gold=True)
    assert _hit_of(claimed) == gold.pk
    _finish(claimed)
    assert _hit_of(take(worker, project)) == real.pk
    assert dict(HIT.objects.values_list("pk", "slots_taken")) == {real.pk: 1, gold.pk: 0}


def test_each_pool_serves_its_own_hits(take, project, worker):
    HITFactory(item__project=project, item__is_gold=True, item__gold_label="cat")
    assert take(worker, project, gold=False) is None
    real = HITFactory(item__project=project)
    claimed = take(worker, project, gold=False)
    assert _hit_of(claimed) == real.pk
    _finish(claimed)
    assert take(worker, project, gold=False) is None


def test_gold_mixed_into_real_work_comes_only_while_real_work_is_left(take, project, worker):
    HITFactory(item__project=project, item__is_gold=True, item__gold_label="cat")
    real = HITFactory(item__project=project, answers_wanted=1)
    AssignmentFactory(hit=real, worker=worker, submitted=True)
    assert take(worker, project, gold=True, real_left=True) is None
    HITFactory(item__project=project)
    assert take(worker, project, gold=True, real_left=True) is not None


def test_the_qualification_test_serves_gold_with_no_real_work_left(take, project, worker):
    gold = HITFactory(item__project=project, item__is_gold=True, item__gold_label="cat")
    assert _hit_of(take(worker, project, gold=True, real_left=False)) == gold.pk


def test_the_lease_has_the_latest_published_guideline_and_its_times(take, project, worker):
    GuidelineVersionFactory(project=project, number=1)
    current = GuidelineVersionFactory(project=project, number=2)
    GuidelineVersionFactory(project=project, number=3, published_at=None)
    HITFactory(item__project=project)
    before = timezone.now()
    lease = Assignment.objects.get(pk=take(worker, project))
    assert (lease.state, lease.worker_id, lease.project_id) == (
        Assignment.State.LEASED,
        worker.pk,
        project.pk,
    )
    assert lease.guideline_version_id == current.pk
    assert lease.leased_at >= before - timedelta(seconds=1)
    seconds = (lease.lease_expires_at - lease.leased_at).total_seconds()
    assert seconds == pytest.approx(project.lease_seconds, abs=1)


def test_without_a_published_guideline_the_lease_has_none(take, project, worker):
    GuidelineVersionFactory(project=project, number=1, published_at=None)
    HITFactory(item__project=project)
    assert Assignment.objects.get(pk=take(worker, project)).guideline_version_id is None


def test_a_hit_past_its_expiry_is_never_taken_even_before_the_sweep(take, project, worker):
    now = timezone.now()
    HITFactory(item__project=project, priority=9.0, expires_at=now - timedelta(seconds=1))
    later = HITFactory(item__project=project, expires_at=now + timedelta(hours=1))
    native = HITFactory(item__project=project, priority=-1.0)  # no expiry

    first = take(worker, project)
    _finish(first)
    second = take(worker, project)
    _finish(second)
    assert [_hit_of(first), _hit_of(second)] == [later.pk, native.pk]
    assert take(worker, project) is None


def test_gold_is_not_served_when_the_only_real_work_left_expired(take, project, worker):
    HITFactory(item__project=project, expires_at=timezone.now() - timedelta(seconds=1))
    HITFactory(item__project=project, item__is_gold=True, item__gold_label="cat")
    assert take(worker, project, gold=True, real_left=True) is None
