"""The invariants of item, HIT and assignment state, as checks that list the rows breaking them.

docs/state.md states them and names the service that keeps each. The crowd simulator's CI
run, the soak bench and the tests call `project_invariants` at rest (no request in flight, no
consensus run pending): then every list must be empty. In the middle of a run a few may be
briefly non-empty (a HIT filled by a submit waits for the consensus run to decide it).

One query per invariant, each a scan of the project's rows: for tests and benches, never a
request path.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.tasks.models import HIT, Answer, Assignment, Item, Project
from apps.workers.selectors import blocks_active_on

# The assignments that hold a slot: a live lease or a submitted answer still counting.
SLOT_STATES = (Assignment.State.LEASED, Assignment.State.SUBMITTED)


def counted_answers(answers: QuerySet[Answer]) -> QuerySet[Answer]:
    """The answers that still count: not superseded by a guideline re-queue, not discarded."""
    return answers.counted()


def _people_items(project_id: int) -> QuerySet[Item]:
    return Item.objects.filter(project_id=project_id, is_gold=False)


def _people_hits(project_id: int) -> QuerySet[HIT]:
    return HIT.objects.filter(project_id=project_id, is_gold=False)


def _ids(rows: QuerySet) -> list[int]:
    return sorted(rows.values_list("pk", flat=True))


def waiting_not_servable(project_id: int) -> list[int]:
    """Items `waiting` that no claim can serve: no open HIT with a free slot, and no live lease
    whose answer would move them on (an item stranded for good)."""
    hits = HIT.objects.filter(item=OuterRef("pk"))
    free = hits.filter(state=HIT.State.OPEN, slots_taken__lt=F("answers_wanted"))
    leased = Assignment.objects.filter(
        hit__item=OuterRef("pk"), state=Assignment.State.LEASED, hit__state=HIT.State.OPEN
    )
    stranded = _people_items(project_id).filter(state=Item.State.WAITING)
    return _ids(stranded.exclude(Exists(free)).exclude(Exists(leased)))


def waiting_hit_closed(project_id: int) -> list[int]:
    """Items `waiting` whose HIT is done or cancelled (or that have no HIT)."""
    open_hit = HIT.objects.filter(item=OuterRef("pk"), state=HIT.State.OPEN)
    waiting = _people_items(project_id).filter(state=Item.State.WAITING)
    return _ids(waiting.exclude(Exists(open_hit)))


def open_hit_item_not_waiting(project_id: int) -> list[int]:
    """HITs open (served to workers) whose item is final or in review."""
    hits = _people_hits(project_id).filter(state=HIT.State.OPEN)
    return _ids(hits.exclude(item__state=Item.State.WAITING))


def slots_mismatch(project_id: int) -> list[int]:
    """HITs whose `slots_taken` is not their live plus counted assignments."""
    holding = (
        Assignment.objects.filter(
            hit=OuterRef("pk"), state__in=SLOT_STATES, superseded_by__isnull=True
        )
        .order_by()
        .values("hit")
        .annotate(n=Count("pk"))
        .values("n")
    )
    hits = _people_hits(project_id).annotate(holding=Coalesce(Subquery(holding), Value(0)))
    return _ids(hits.exclude(slots_taken=F("holding")))


def answers_over_wanted(project_id: int) -> list[int]:
    """HITs with more counted answers than the answers they want."""
    answers = (
        counted_answers(Answer.objects.filter(item=OuterRef("item")))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    hits = _people_hits(project_id).annotate(counted=Coalesce(Subquery(answers), Value(0)))
    return _ids(hits.filter(counted__gt=F("answers_wanted")))


def blocked_answers_counted(project_id: int) -> list[int]:
    """Answers still counting from workers blocked on the project now."""
    blocked = blocks_active_on(project_id=project_id).filter(worker=OuterRef("worker"))
    answers = counted_answers(Answer.objects.filter(project_id=project_id))
    return _ids(answers.filter(Exists(blocked)))


def discarded_answers_counted(project_id: int) -> list[int]:
    """Discarded answers whose assignment still holds a slot (not `discarded`); on an MTurk
    project a submitted assignment keeps its slot (services/discard.py), a lease does not."""
    answers = Answer.objects.filter(project_id=project_id, discarded_at__isnull=False)
    keep = [Assignment.State.DISCARDED]
    if Project.objects.filter(pk=project_id, kind=Project.Kind.MTURK).exists():
        keep.append(Assignment.State.SUBMITTED)
    return _ids(answers.exclude(assignment__state__in=keep))


INVARIANTS: dict[str, Callable[[int], list[int]]] = {
    "waiting_not_servable": waiting_not_servable,
    "waiting_hit_closed": waiting_hit_closed,
    "open_hit_item_not_waiting": open_hit_item_not_waiting,
    "slots_mismatch": slots_mismatch,
    "answers_over_wanted": answers_over_wanted,
    "blocked_answers_counted": blocked_answers_counted,
    "discarded_answers_counted": discarded_answers_counted,
}


# No consensus moves the items of an MTurk project without a label set (free-form answers)
# on: they wait while their HIT is done or expired. With a categorical field they are decided
# like a native project's once every assignment is in (services/consensus/overlap.py).
CONSENSUS_ONLY = frozenset({"waiting_not_servable", "waiting_hit_closed"})


def project_invariants(*, project_id: int) -> dict[str, list[int]]:
    """Per invariant (docs/state.md), the ids of the rows breaking it (items, HITs or answers,
    as each check says); every list empty when the project's state is sound."""
    project = Project.objects.only("kind", "labels").get(pk=project_id)
    return {
        name: [] if not project.has_consensus and name in CONSENSUS_ONLY else check(project_id)
        for name, check in INVARIANTS.items()
    }


def project_invariants_broken(*, project_id: int) -> dict[str, list[int]]:
    """Only the invariants broken, for assertion messages: {} when all hold."""
    return {name: ids for name, ids in project_invariants(project_id=project_id).items() if ids}
