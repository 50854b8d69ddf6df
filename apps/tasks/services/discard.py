"""Answers that no longer count: a blocked worker's, and those an admin rejects.

They leave the consensus for good (an unblock does not bring them back) and give their slot
back, so the HIT is served again. Without this, the consensus recomputed the answers an item
wants from the answers still counting while the blocked worker's assignments kept their slots:
HITs whose slots a blocked worker "held" were never served again (the outside run stranded
3.7% of its items that way, issue 13).

What changes, set-based (one statement per table, whatever the number of answers):
- the worker's assignments holding a slot become `discarded` (a terminal state: no slot, and
  still "this worker had this HIT", so the claim never serves it to them again); with
  `leases=True` their live leases end too;
- their answers get `discarded_at` and a reason; every reader of answers that decides
  something reads `Answer.objects.counted()`;
- the touched HITs' `slots_taken` is recounted from the rows;
- items in the disagreement queue that lost an answer go back to `waiting` with their HIT
  open: with fewer answers than the maximum they are no longer a disagreement at max overlap;
- a consensus run is queued: it re-decides answers_wanted (and the queue) for every item on
  the answers that still count.

An MTurk project (a HIT type) differs: a submitted assignment keeps its slot. The requester
asked and pays for MaxAssignments assignments a HIT and reviews each one (ApproveAssignment,
RejectAssignment): a blocked worker's answer leaves the consensus, but its assignment stays
submitted and the HIT gets no extra one (the live crowd run found HITs of MaxAssignments 3
with 4 assignments, tests/live/test_mturk_crowd.py). Its item is decided on the answers that
still count once every assignment is in (services/consensus/overlap.py), and an item in
review stays there. Only live leases end and give their slots back.

Lock order (hitlcrowd/locking.py): items, then assignments, then HITs, each in id order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.tasks.models import HIT, Answer, Assignment, Item, Project
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.workers.selectors import blocked_worker_ids
from hitlcrowd.locking import lock_in_id_order, retry_on_lock_conflict


@dataclass(frozen=True)
class Discarded:
    answers: int = 0
    leases: int = 0
    hits: int = 0
    reopened: int = 0


@transaction.atomic
def answers_discard(
    *,
    project_id: int,
    worker_ids: Collection[int],
    reason: str,
    leases: bool = True,
    only: Q | None = None,
) -> Discarded:
    """Take the workers' answers on the project out of the consensus for good and give their
    slots back; with `leases`, their live leases there end as well (a block). `only` narrows
    the answers (an admin rejecting some of them: ids, a time range) and their assignments.
    `reason` is an Answer.DiscardReason. Answers discarded before keep their first reason.
    Queues a consensus run when anything changed."""
    workers = sorted(set(worker_ids))
    if not workers:
        return Discarded()
    mturk = Project.objects.filter(pk=project_id, kind=Project.Kind.MTURK).exists()
    holding = [
        *([] if mturk else [Assignment.State.SUBMITTED]),
        *([Assignment.State.LEASED] if leases else []),
    ]
    assignments = Assignment.objects.filter(
        project_id=project_id, worker_id__in=workers, state__in=holding
    )
    answers = Answer.objects.filter(
        project_id=project_id, worker_id__in=workers, discarded_at__isnull=True
    )
    if only is not None:
        answers = answers.filter(only)
        chosen = Answer.objects.filter(project_id=project_id, worker_id__in=workers).filter(only)
        assignments = assignments.filter(pk__in=chosen.values("assignment_id"))
    # Items losing an answer that counted (a superseded one already did not).
    losing = set(answers.filter(superseded_by__isnull=True).values_list("item_id", flat=True))
    in_review = (
        []
        if mturk  # no answer comes to replace the one it lost: it stays in review
        else list(
            Item.objects.filter(pk__in=losing, state=Item.State.NEEDS_REVIEW, is_gold=False)
            .order_by()
            .values_list("pk", flat=True)
        )
    )
    lock_in_id_order(Item, in_review)
    held = list(assignments.select_for_update().order_by("pk").values_list("pk", "hit_id", "state"))
    if not held and not losing:
        # Nothing counts or holds a slot any more (superseded answers left alone count for
        # nothing already). The common case: every consensus run of a project with a
        # blocked worker comes here.
        return Discarded()
    now = timezone.now()
    Assignment.objects.filter(pk__in=[pk for pk, _, _ in held]).update(
        state=Assignment.State.DISCARDED, finished_at=Coalesce(F("finished_at"), Value(now))
    )
    # A new statement: it also sees an answer whose submit committed while we waited for its
    # assignment's lock above.
    discarded = answers.update(discarded_at=now, discard_reason=reason)
    hit_ids = {hit_id for _, hit_id, _ in held}
    hit_slots_recount(hit_ids=hit_ids)
    reopened = _reopen_review(in_review, now)
    transaction.on_commit(lambda: _reaggregate(project_id))
    return Discarded(
        answers=discarded,
        leases=sum(1 for _, _, state in held if state == Assignment.State.LEASED),
        hits=len(hit_ids),
        reopened=reopened,
    )


def _reopen_review(item_ids: list[int], now) -> int:
    """Items in review that lost an answer go back to people; the consensus run decides."""
    if not item_ids:
        return 0
    items = Item.objects.filter(pk__in=item_ids, state=Item.State.NEEDS_REVIEW)
    reopened = list(items.values_list("pk", flat=True))
    items.update(state=Item.State.WAITING, updated_at=now)
    HIT.objects.filter(item_id__in=reopened, is_gold=False, state=HIT.State.DONE).update(
        state=HIT.State.OPEN, updated_at=now
    )
    return len(reopened)


def answers_discard_blocked(*, project: Project) -> Discarded:
    """Discard what the workers blocked on the project still have counting or leased. The
    automatic block (workers' rules, inside a consensus run) and a block whose discard was cut
    off are caught here: every consensus run calls it before reading the answers. One query
    when nobody is blocked; run again if PostgreSQL broke a lock cycle by aborting it."""
    workers = list(blocked_worker_ids(project=project).values_list("worker_id", flat=True))
    if not workers:
        return Discarded()
    reason = Answer.DiscardReason.BLOCKED
    return retry_on_lock_conflict(
        lambda: answers_discard(project_id=project.pk, worker_ids=workers, reason=reason)
    )


def _reaggregate(project_id: int) -> None:
    from apps.tasks.services.consensus.scheduling import aggregation_enqueue

    aggregation_enqueue(project_id=project_id)
