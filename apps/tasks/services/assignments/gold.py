"""Gold and the qualification test, as the claim and the submit see them.

Which pools a claim tries for a worker (the test's gold alone while testing, else gold mixed
into real work at the worker's gold share, or gold only on a gold check), the test's score
after each gold answer, and an item a requester makes gold.
"""

from __future__ import annotations

import random
from enum import StrEnum

from django.db import transaction

from apps.tasks.errors import NotQualified
from apps.tasks.models import HIT, Answer, Item, Project
from apps.tasks.selectors.assignments import ClaimContext, gold_check_answered
from apps.tasks.services.assignments.leases import check_label
from apps.workers.models import Qualification, User
from apps.workers.reliability import TRUSTED_GOLD_FRACTION, gold_bar, gold_share_for
from apps.workers.selectors import qualification_get, worker_gold_counts
from apps.workers.services import qualification_record, qualification_start
from hitlcrowd.errors import NotFound


class Pool(StrEnum):
    """Where a claim looks for a HIT."""

    REAL = "real"
    GOLD = "gold"  # gold mixed into real work: only while the worker has real work left
    TEST = "test"  # the qualification test: gold alone


def gold_plan(worker: User, context: ClaimContext) -> list[Pool]:
    """Which pools to try, in order: the test's gold alone while testing, else gold first
    with the worker's gold share (_gold_first), or always on a gold check (its verdict
    waits for gold answers: apps/workers/reliability.py), then real work; none at all once
    the check's gold answers are in, until its verdict.

    A gold claim succeeds only while real work is left for the worker (apps.tasks.sql), so
    when it runs out the worker gets 204, as on a project without gold: whether a task comes
    depends on the real work only, never on which tasks are gold."""
    project = context.project
    if project.qualification_size > 0:
        qualification = qualification_get(worker=worker, project=project)
        if qualification is None:
            qualification = qualification_start(worker=worker, project=project)
        if qualification.state == Qualification.State.FAILED:
            raise NotQualified(_failed_reason(project))
        if qualification.state == Qualification.State.TESTING:
            return [Pool.TEST]
    if context.gold_check_start is not None:
        if gold_check_answered(worker=worker, project=project, started=context.gold_check_start):
            return []  # nothing until the verdict: the next consensus run gives it
        return [Pool.GOLD, Pool.REAL]
    if _gold_first(worker, project):
        return [Pool.GOLD, Pool.REAL]
    return [Pool.REAL]


def _gold_first(worker: User, project: Project) -> bool:
    """One draw against the worker's gold share: the project's gold_share until the worker's
    gold clears the bar, then TRUSTED_GOLD_FRACTION of it (reliability.gold_share_for).

    The worker's gold counts (one row by a unique index, written by the consensus run) are
    read only for a draw between the two shares, about 7.5% of claims at the default share."""
    share = project.gold_share
    if share <= 0:
        return False
    draw = random.random()
    if draw >= share:
        return False
    if draw < share * TRUSTED_GOLD_FRACTION:
        return True
    gold_answers, gold_correct = worker_gold_counts(worker=worker, project=project)
    bar = gold_bar(
        gold_accuracy=project.block_gold_accuracy,
        below_skill=project.block_below_skill,
        labels=len(project.labels),
    )
    share_now = gold_share_for(
        share=share, gold_answers=gold_answers, gold_correct=gold_correct, bar=bar
    )
    return draw < share_now


def _failed_reason(project: Project) -> str:
    # Pass or fail only, never the score: the test is the same gold items in the same order
    # for every worker, so scores from a few accounts answering differently give the labels.
    return (
        "You did not pass this project's qualification test "
        f"({project.qualification_pass_rate:.0%} of its {project.qualification_size} test "
        "tasks right is needed), so this project has no tasks for you."
    )


@transaction.atomic
def item_mark_gold(*, project: Project, item_id: int, label: str) -> Item:
    """Make an item of `project` gold with its known label, and give it an open gold HIT."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("No such item in this project.")
    check_label(project, label)
    item.is_gold = True
    item.gold_label = label
    item.save(update_fields=["is_gold", "gold_label", "updated_at"])
    hit, created = HIT.objects.get_or_create(
        item=item,
        defaults={"project": project, "answers_wanted": 1, "is_gold": True},
    )
    if not created:
        hit.is_gold = True
        hit.state = HIT.State.OPEN
        hit.slots_taken = 0
        hit.save(update_fields=["is_gold", "state", "slots_taken", "updated_at"])
    return item


def score_qualification(worker: User, project: Project) -> None:
    """Recompute the test score from the worker's first gold answers on the project."""
    if project.qualification_size == 0:
        return
    qualification = qualification_get(worker=worker, project=project)
    if qualification is None or qualification.state != Qualification.State.TESTING:
        return
    answers = (
        Answer.objects.filter(worker=worker, project=project, item__is_gold=True)
        .order_by("created_at", "pk")
        .values_list("label", "item__gold_label")[: project.qualification_size]
    )
    pairs = list(answers)
    qualification_record(
        qualification=qualification,
        project=project,
        answered=len(pairs),
        correct=sum(1 for given, known in pairs if given == known),
    )
