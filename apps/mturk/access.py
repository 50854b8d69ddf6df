"""Who may see, preview and accept a HIT type's HITs: its QualificationRequirements
(apps/mturk/requirements.py, the rules) against what the platform knows of a worker.

What the platform knows (`worker_facts`), read only for the types the requirements name:
- a requester's type: the worker's granted qualification of it (a revoked one is no value); an
  Active auto-granted type the worker holds no record of counts as granted with its
  AutoGrantedValue (MTurk granted it on request; workers cannot request here, so it is as if
  they had);
- Worker_PercentAssignmentsApproved and Worker_NumberHITsApproved: the worker's approved and
  rejected MTurk assignments over every requester's HITs (selectors.worker_review_counts: one
  aggregate over their own leases);
- Worker_Locale and Worker_Adult: the worker's account (loaded with the request: no query).

Only HIT types with requirements pay for this: the claim reads the requirements in the
statement it already runs (apps/tasks/sql.py, for MTurk projects only), and a type without
any asks nothing more; a worker's project list asks one query for the types that hide their
HITs (DiscoverPreviewAndAccept). Preview is not a step of its own here yet (the task page
takes the task): PreviewAndAccept guards the claim as Accept does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import OuterRef, Subquery

from apps.mturk.errors import QualificationTypeNotFound
from apps.mturk.models import HITType, QualificationType, WorkerQualification
from apps.mturk.qualifications import qualification_types_of
from apps.mturk.requirements import (
    ADULT,
    APPROVAL_RATE,
    APPROVED_COUNT,
    SYSTEM_BY_ID,
    Action,
    Requirement,
    RequirementError,
    WorkerFacts,
    approval_rate,
    first_unmet,
    parse_requirements,
    requirements_from_wire,
    type_ids_needed,
)
from apps.mturk.selectors import worker_review_counts
from apps.tasks.models import Assignment
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput


def requirements_accepted(
    *, requester: User, raw: Sequence[Mapping[str, Any]]
) -> list[Requirement]:
    """CreateHITType's QualificationRequirements, checked: MTurk's rules, and each type a
    system type or an Active type of the requester's (another requester's, a deleted one:
    QualificationTypeNotFound; an Inactive one: refused, as MTurk refused HITs on it)."""
    try:
        requirements = parse_requirements(list(raw))
    except RequirementError as exc:
        raise InvalidInput.field(exc.where, exc.message) from None
    custom = {r.type_id for r in requirements} - SYSTEM_BY_ID.keys()
    statuses = dict(
        qualification_types_of(requester)
        .filter(qualification_type_id__in=custom)
        .values_list("qualification_type_id", "status")
    )
    for index, requirement in enumerate(requirements):
        if requirement.type_id in SYSTEM_BY_ID:
            continue
        status = statuses.get(requirement.type_id)
        if status is None:
            raise QualificationTypeNotFound(requirement.type_id)
        if status != QualificationType.Status.ACTIVE:
            raise InvalidInput.field(
                f"QualificationRequirements[{index}]",
                f"QualificationType [{requirement.type_id}] is Inactive: make it Active first.",
            )
    return requirements


def worker_facts(*, worker: User, type_ids: set[str]) -> WorkerFacts:
    """What the requirements naming `type_ids` compare, for this worker: at most one query
    for the requesters' types and one for the approval figures, each only when named."""
    values: dict[str, int] = _granted(worker, type_ids - SYSTEM_BY_ID.keys())
    if type_ids & {APPROVAL_RATE, APPROVED_COUNT}:
        approved, rejected = worker_review_counts(worker_id=worker.pk)
        values[APPROVED_COUNT] = approved
        values[APPROVAL_RATE] = approval_rate(approved, rejected)
    if ADULT in type_ids:
        values[ADULT] = 1 if worker.adult_content else 0
    locale = (worker.country, worker.subdivision) if worker.country else None
    return WorkerFacts(values=values, locale=locale)


def _granted(worker: User, type_ids: set[str]) -> dict[str, int]:
    """The worker's values of requesters' types: granted ones, and Active auto-granted types
    they hold no record of. One query."""
    if not type_ids:
        return {}
    mine = WorkerQualification.objects.filter(qualification_type=OuterRef("pk"), worker=worker)
    rows = (
        QualificationType.objects.filter(qualification_type_id__in=type_ids)
        .annotate(
            grant_status=Subquery(mine.values("status")[:1]),
            grant_value=Subquery(mine.values("integer_value")[:1]),
        )
        .values_list(
            "qualification_type_id",
            "grant_status",
            "grant_value",
            "auto_granted",
            "auto_granted_value",
            "status",
            "deleted_at",
        )
    )
    values, active = {}, QualificationType.Status.ACTIVE
    for type_id, grant_status, value, auto, auto_value, status, deleted_at in rows:
        if grant_status == WorkerQualification.Status.GRANTED:
            values[type_id] = value
        elif grant_status is None and auto and status == active and deleted_at is None:
            values[type_id] = auto_value
    return values


def projects_hidden_from(*, worker: User) -> list[int]:
    """The open MTurk projects a worker's project list leaves out: their HIT type's
    requirements guarding DiscoverPreviewAndAccept, which the worker does not meet. One query
    for the few such types (index hittype_hides_from_unqualified), then the worker's facts
    only when there are some."""
    rows = HITType.objects.filter(hides_from_unqualified=True, project__is_open=True)
    found = [
        (project_id, requirements_from_wire(stored))
        for project_id, stored in rows.values_list("project_id", "qualification_requirements")
    ]
    if not found:
        return []
    guarding = [r for _, requirements in found for r in requirements if r.guards(Action.DISCOVER)]
    facts = worker_facts(worker=worker, type_ids=type_ids_needed(guarding))
    return [
        project_id
        for project_id, requirements in found
        if first_unmet(requirements, facts, Action.DISCOVER) is not None
    ]


def access_refusal(
    *, worker: User, requirements: Sequence[Requirement], action: Action
) -> str | None:
    """What the worker is told when a requirement guarding `action` keeps them out; None
    when they may (no query without requirements)."""
    if not requirements:
        return None
    facts = worker_facts(worker=worker, type_ids=type_ids_needed(requirements))
    unmet = first_unmet(requirements, facts, action)
    if unmet is None:
        return None
    return f"You do not have the qualifications these tasks require ({_named(unmet)})."


def _named(requirement: Requirement) -> str:
    system = SYSTEM_BY_ID.get(requirement.type_id)
    if system is not None:
        return system.name
    name = (
        QualificationType.objects.filter(qualification_type_id=requirement.type_id)
        .values_list("name", flat=True)
        .first()
    )
    return name or requirement.type_id


def may_see_question(*, worker: User, hit_type: HITType) -> bool:
    """Whether the worker may see a HIT's question (its HTMLQuestion page): they hold a task
    of the type's project, or meet its requirements guarding the preview. No query for a
    type without requirements."""
    requirements = requirements_from_wire(hit_type.qualification_requirements)
    if not any(r.guards(Action.PREVIEW) for r in requirements):
        return True
    if Assignment.objects.filter(
        worker=worker, project_id=hit_type.project_id, state=Assignment.State.LEASED
    ).exists():
        return True
    return access_refusal(worker=worker, requirements=requirements, action=Action.PREVIEW) is None
