"""Reads of the MTurk app, scoped to the requester asking."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.mturk.models import AccessKey, MturkAssignment, MturkHIT
from apps.tasks.models import Assignment
from apps.workers.models import User
from hitlcrowd.errors import one_or_not_found


def access_key_list(*, requester: User) -> QuerySet[AccessKey]:
    """The requester's keys, live and revoked, newest first (never the secrets)."""
    return AccessKey.objects.filter(requester=requester).defer("secret_encrypted")


def access_key_get(*, requester: User, key_id: int) -> AccessKey:
    """One of the requester's keys by its row id; another requester's is NotFound."""
    return one_or_not_found(access_key_list(requester=requester), pk=key_id)


def access_key_for_signature(*, access_key_id: str) -> AccessKey | None:
    """The live key a request names, with its requester, or None (unknown, revoked, or its
    requester deactivated or no longer a requester). One query on the unique index."""
    key = (
        AccessKey.objects.select_related("requester")
        .filter(access_key_id=access_key_id, revoked_at__isnull=True)
        .first()
    )
    if key is None or not key.requester.is_active or not key.requester.is_requester:
        return None
    return key


# --- HITs -------------------------------------------------------------------------------------


def hit_list(*, requester: User, now: datetime) -> QuerySet[MturkHIT]:
    """The requester's HITs (disposed ones too), with their type, their tasks.HIT and the
    counts a HIT shows: `pending` (live leases), `submitted` (every submitted assignment,
    whatever its review since: each used one of MaxAssignments, as on MTurk) and `completed`
    (approved or rejected). The counts are correlated subqueries on indexed columns
    (assignment_hit_worker_unique, mturkassign_hit_status): one statement for a page."""
    leases = Assignment.objects.filter(
        hit_id=OuterRef("task_hit_id"), state=Assignment.State.LEASED, lease_expires_at__gt=now
    )
    done = MturkAssignment.objects.filter(mturk_hit_id=OuterRef("pk"))
    reviewed = done.filter(
        status__in=[MturkAssignment.Status.APPROVED, MturkAssignment.Status.REJECTED]
    )
    return (
        MturkHIT.objects.filter(requester=requester)
        .select_related("hit_type", "task_hit")
        .annotate(
            pending=_count(leases, "hit_id"),
            submitted=_count(done, "mturk_hit_id"),
            completed=_count(reviewed, "mturk_hit_id"),
        )
    )


def _count(rows: QuerySet, key: str) -> Coalesce:
    """COUNT(*) of `rows`, all of one `key` (the outer row's), as a subquery: 0 when none."""
    counted = rows.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def hit_get(*, requester: User, hit_id: str, now: datetime) -> MturkHIT:
    """One of the requester's HITs by its HITId; another requester's is NotFound."""
    return one_or_not_found(hit_list(requester=requester, now=now), hit_id=hit_id)
