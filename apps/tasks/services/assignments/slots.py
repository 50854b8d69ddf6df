"""Slots and leases: `HIT.slots_taken` recomputed from the assignment rows, and leases past
their time expired, giving their slots back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.tasks.models import HIT, Assignment, Project

EXPIRE_BATCH = 1000


def hit_slots_recount(*, hit_ids: Iterable[int]) -> None:
    """Recompute `slots_taken` (live + submitted) from the assignment rows.

    Call it inside the transaction that changed those rows, or after changing a HIT's
    answers_wanted. Locks the HITs in id order so concurrent recounts cannot deadlock.
    """
    ids = sorted(set(hit_ids))
    if not ids:
        return
    list(HIT.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    taken = (
        Assignment.objects.filter(
            hit=OuterRef("pk"),
            state__in=[Assignment.State.LEASED, Assignment.State.SUBMITTED],
            superseded_by__isnull=True,  # answers of a re-queued HIT no longer fill it
        )
        .order_by()
        .values("hit")
        .annotate(n=Count("pk"))
        .values("n")
    )
    HIT.objects.filter(pk__in=ids, is_gold=False).update(
        slots_taken=Coalesce(Subquery(taken), Value(0)), updated_at=timezone.now()
    )


def assignment_expire_due(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Expire leases past their time and give their slots back. Returns how many expired.

    Runs from the every-minute schedule (apps.tasks.jobs.expire_leases_job), the
    `expire_leases` command and lazily before each claim. Expires at most EXPIRE_BATCH per
    call; rows another sweep holds are skipped, not waited for.
    """
    now = now or timezone.now()
    due = Assignment.objects.filter(state=Assignment.State.LEASED, lease_expires_at__lte=now)
    if project is not None:
        due = due.filter(project=project)
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "hit_id")[:EXPIRE_BATCH]
        )
        return _expire(rows, now)


@transaction.atomic
def assignment_release_for_worker(*, worker_id: int) -> int:
    """End the worker's live leases on every project now and give their slots back, as their
    expiry would (state `expired`): the account was deactivated. Returns how many.

    Call it after locking the worker's row (hitlcrowd.locking: the worker, then assignments,
    then HITs): a submit of theirs in flight finishes first, and its lease, submitted by
    then, is left alone (the row no longer matches once its lock is granted). Served by the
    partial unique index on (worker, project) of live leases."""
    live = Assignment.objects.filter(worker_id=worker_id, state=Assignment.State.LEASED)
    rows = list(live.select_for_update().order_by("pk").values_list("pk", "hit_id"))
    return _expire(rows, timezone.now())


def _expire(rows: list[tuple[int, int]], now: datetime) -> int:
    """Mark the locked leases `rows` ((id, hit id)) expired and recount their HITs' slots."""
    if not rows:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        state=Assignment.State.EXPIRED, finished_at=now
    )
    hit_ids = [hit_id for _, hit_id in rows]
    hit_slots_recount(hit_ids=hit_ids)
    _consensus_when_closed(hit_ids)
    return len(rows)


def _consensus_when_closed(hit_ids: list[int]) -> None:
    """A lease that ends on an expired HIT (an MTurk HIT's lifetime) was the last answer that
    could come: queue its project's consensus, which decides the item on the answers it has
    (consensus/overlap.py), as the expiry sweep does for HITs with no lease left."""
    from apps.tasks.services.items import consensus_after_expiry

    closed = HIT.objects.filter(pk__in=hit_ids, state=HIT.State.EXPIRED)
    projects = set(closed.values_list("project_id", flat=True))
    if projects:
        transaction.on_commit(lambda: consensus_after_expiry(projects))
