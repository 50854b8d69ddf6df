"""Reads of the MTurk app, scoped to the requester asking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.mturk.models import AccessKey, HITType, MturkAssignment, MturkBonus, MturkHIT
from apps.tasks.models import Assignment, Project
from apps.workers.models import User
from hitlcrowd.errors import NotFound, one_or_not_found


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


# MTurk's HITStatus values.
ASSIGNABLE = "Assignable"
UNASSIGNABLE = "Unassignable"
REVIEWABLE = "Reviewable"
REVIEWING = "Reviewing"
DISPOSED = "Disposed"


@dataclass(frozen=True)
class HITState:
    status: str  # HITStatus
    available: int  # NumberOfAssignmentsAvailable
    expired: bool


def hit_state(hit: MturkHIT, now: datetime) -> HITState:
    """A HIT's status from its rows (hit_list's counts). Disposed once deleted; Reviewing
    while the requester reviews it; Reviewable when nothing is pending and nothing more can
    come (expired, or every assignment submitted); Assignable while a worker may accept it;
    Unassignable otherwise (its assignments all taken, some still being worked on)."""
    task_hit = hit.task_hit
    expired = task_hit.expires_at is not None and task_hit.expires_at <= now
    open_slots = max(0, task_hit.answers_wanted - hit.pending - hit.submitted)
    available = 0 if expired or hit.disposed_at is not None else open_slots
    if hit.disposed_at is not None:
        status = DISPOSED
    elif hit.pending == 0 and (expired or open_slots == 0):
        status = REVIEWING if hit.reviewing else REVIEWABLE
    else:
        status = ASSIGNABLE if available else UNASSIGNABLE
    return HITState(status=status, available=available, expired=expired)


def hit_list_reviewable(
    *, requester: User, now: datetime, reviewing: bool, hit_type_id: str | None = None
) -> QuerySet[MturkHIT]:
    """The requester's HITs whose status is Reviewable (or Reviewing), as hit_state says:
    not disposed, nothing pending, expired or every assignment submitted. The counts are
    the annotated subqueries, evaluated per candidate row of the keyset scan."""
    hits = hit_list(requester=requester, now=now).filter(
        disposed_at__isnull=True, reviewing=reviewing, pending=0
    )
    if hit_type_id is not None:
        hits = hits.filter(hit_type__hit_type_id=hit_type_id)
    nothing_more = Q(task_hit__expires_at__lte=now) | Q(
        submitted__gte=F("task_hit__answers_wanted")
    )
    return hits.filter(nothing_more)


def hit_type_get(*, requester: User, hit_type_id: str) -> HITType:
    """One of the requester's HIT types (with its project) by its HITTypeId; another
    requester's is NotFound."""
    types = HITType.objects.select_related("project").filter(requester=requester)
    return one_or_not_found(types, hit_type_id=hit_type_id)


def hit_type_of_project(*, project: Project) -> HITType | None:
    """The HIT type whose project this is; None for a native project (no query for one).
    Scope the project to its owner first."""
    if project.kind != Project.Kind.MTURK:
        return None
    return HITType.objects.filter(project=project).first()


# --- Assignments ------------------------------------------------------------------------------


def assignment_list(
    *, hit: MturkHIT, statuses: list[str] | None = None
) -> QuerySet[MturkAssignment]:
    """A HIT's assignments (`hit` already the requester's: hit_get), of those `statuses` if
    given, each with its lease and its worker's WorkerId: one statement for a page, on the
    mturkassign_hit_status index."""
    rows = MturkAssignment.objects.filter(mturk_hit=hit)
    if statuses:
        rows = rows.filter(status__in=statuses)
    return rows.select_related("task_assignment__worker__mturk_worker")


def assignment_get(*, requester: User, assignment_id: str) -> MturkAssignment:
    """One of the requester's assignments by its AssignmentId, with its lease and worker;
    another requester's is NotFound, exactly as one that does not exist."""
    rows = MturkAssignment.objects.filter(mturk_hit__requester=requester).select_related(
        "mturk_hit", "task_assignment__worker__mturk_worker"
    )
    return one_or_not_found(rows, assignment_id=assignment_id)


def worker_review_counts(*, worker_id: int) -> tuple[int, int]:
    """(approved, rejected): how many of the worker's MTurk assignments, over every
    requester's HITs, were approved and rejected (Worker_NumberHITsApproved and, with
    requirements.approval_rate, Worker_PercentAssignmentsApproved). One aggregate over the
    worker's leases (the tasks_assignment worker index) joined to their MTurk rows by the
    one-to-one's unique index: its cost follows the worker's history, not the platform's."""
    counts = MturkAssignment.objects.filter(task_assignment__worker_id=worker_id).aggregate(
        approved=Count("pk", filter=Q(status=MturkAssignment.Status.APPROVED)),
        rejected=Count("pk", filter=Q(status=MturkAssignment.Status.REJECTED)),
    )
    return counts["approved"], counts["rejected"]


def bonus_list(
    *, requester: User, hit_id: str | None = None, assignment_id: str | None = None
) -> QuerySet[MturkBonus]:
    """The bonuses paid on one of the requester's HITs or assignments (NotFound for another
    requester's, as for one that does not exist), each with its amount, assignment and the
    worker's WorkerId: one statement for a page (mturkbonus_hit, mturkbonus_assignment)."""
    rows = MturkBonus.objects.select_related(
        "ledger_entry__worker__mturk_worker", "mturk_assignment"
    )
    if assignment_id is not None:
        found = MturkAssignment.objects.filter(
            assignment_id=assignment_id, mturk_hit__requester=requester
        ).values_list("pk", flat=True)
        return rows.filter(mturk_assignment_id=_one(found, f"Assignment {assignment_id}"))
    found = MturkHIT.objects.filter(hit_id=hit_id, requester=requester).values_list("pk", flat=True)
    return rows.filter(mturk_hit_id=_one(found, f"HIT {hit_id}"))


def _one(pks: QuerySet, name: str) -> int:
    pk = pks.first()
    if pk is None:
        raise NotFound(f"{name} does not exist.")
    return pk
