"""Qualification types and the qualifications granted to workers (MTurk's
CreateQualificationType ... ListWorkersWithQualificationType): writes and reads, each scoped
to the requester asking.

A requester's type is theirs alone: another requester can neither read it, grant it, nor
require it (MTurk let anyone read a type; here a type of another requester reads as one that
does not exist). The system types (apps/mturk/requirements.py: approval rate, approved count,
locale, adult, Masters) are listed and read by everyone and granted by no one: their values
come from what the platform knows of each worker.

A grant is kept when revoked (status Revoked, with its reason), as MTurk listed revoked
qualifications; granting again makes it Granted with the new value. Granting with a
notification and revoking leave a notice on the worker's account page (apps/mturk/notices.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.mturk.errors import (
    QualificationNotFound,
    QualificationTypeExists,
    QualificationTypeNotFound,
)
from apps.mturk.models import QualificationType, WorkerQualification
from apps.mturk.notices import notice_send
from apps.mturk.requirements import SYSTEM_BY_ID, SYSTEM_TYPES, SystemType
from apps.mturk.services.hit_types import mturk_id
from apps.workers.models import User
from hitlcrowd.errors import Forbidden, InvalidInput, full_clean

# A qualification's value is a 32-bit integer (MTurk's Integer; our column's range).
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
# What UpdateQualificationType may change (MTurk: not the name, nor the keywords).
UPDATABLE = ("description", "status", "retry_delay_seconds", "auto_granted", "auto_granted_value")


@dataclass(frozen=True)
class TypeValues:
    """A qualification type's values as CreateQualificationType gives them."""

    name: str
    description: str
    status: str
    keywords: str = ""
    retry_delay_seconds: int | None = None
    auto_granted: bool = False
    auto_granted_value: int | None = None


# --- Types -------------------------------------------------------------------------------------


def qualification_type_create(*, requester: User, values: TypeValues) -> QualificationType:
    """A new type of the requester's; QualificationTypeExists when one of theirs (not
    deleted) has the name."""
    qualification_type = QualificationType(
        requester=requester,
        qualification_type_id=mturk_id(),
        name=values.name.strip(),
        description=values.description.strip(),
        keywords=values.keywords.strip(),
        status=values.status,
        retry_delay_seconds=values.retry_delay_seconds,
        auto_granted=values.auto_granted,
        auto_granted_value=_auto_value(values.auto_granted, values.auto_granted_value),
    )
    if qualification_types_of(requester).filter(name=qualification_type.name).exists():
        raise QualificationTypeExists()
    _clean(qualification_type)
    try:
        with transaction.atomic():
            qualification_type.save()
    except IntegrityError:  # the same name, made meanwhile (qualtype_name_unique)
        raise QualificationTypeExists() from None
    return qualification_type


def qualification_type_update(
    *, qualification_type: QualificationType, changes: dict[str, Any]
) -> QualificationType:
    """Change what UpdateQualificationType may (UPDATABLE); scope the type to its owner first."""
    for name, value in changes.items():
        if name not in UPDATABLE:
            raise InvalidInput.field(name, "Cannot be changed.")
        setattr(qualification_type, name, value)
    qualification_type.auto_granted_value = _auto_value(
        qualification_type.auto_granted, qualification_type.auto_granted_value
    )
    _clean(qualification_type)
    qualification_type.save(update_fields=[*UPDATABLE])
    return qualification_type


def qualification_type_delete(*, qualification_type: QualificationType) -> None:
    """Gone for every operation, its name free again; the grants stay (MTurk kept them for the
    HITs that need them). Scope the type to its owner first."""
    QualificationType.objects.filter(pk=qualification_type.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now()
    )


def _auto_value(auto_granted: bool, value: int | None) -> int | None:
    # MTurk: used only when AutoGranted is true, 1 by default.
    if not auto_granted:
        return None
    return 1 if value is None else value


def _clean(qualification_type: QualificationType) -> None:
    if not qualification_type.name:
        raise InvalidInput.field("Name", "Must not be empty.")
    if not qualification_type.description:
        raise InvalidInput.field("Description", "Must not be empty.")
    try:
        full_clean(qualification_type)
    except InvalidInput as exc:
        raise _renamed(exc) from None


# The model's fields as MTurk names them, for its refusals.
PARAMETERS = {
    "name": "Name",
    "description": "Description",
    "keywords": "Keywords",
    "status": "QualificationTypeStatus",
    "retry_delay_seconds": "RetryDelayInSeconds",
    "auto_granted_value": "AutoGrantedValue",
}


def _renamed(exc: InvalidInput) -> InvalidInput:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return InvalidInput(
        errors={PARAMETERS.get(name, name): messages for name, messages in errors.items()}
    )


def qualification_types_of(requester: User) -> QuerySet[QualificationType]:
    """The requester's types, not deleted."""
    return QualificationType.objects.filter(requester=requester, deleted_at__isnull=True)


def qualification_type_get(*, requester: User, qualification_type_id: str) -> QualificationType:
    """One of the requester's types; QualificationTypeNotFound for anyone else's, a deleted
    one, or a system type (which no one owns)."""
    found = qualification_types_of(requester).filter(qualification_type_id=qualification_type_id)
    row = found.first()
    if row is None:
        raise QualificationTypeNotFound(qualification_type_id)
    return row


def qualification_type_read(
    *, requester: User, qualification_type_id: str
) -> QualificationType | SystemType:
    """A system type, or one of the requester's (GetQualificationType)."""
    system = SYSTEM_BY_ID.get(qualification_type_id)
    if system is not None:
        return system
    return qualification_type_get(requester=requester, qualification_type_id=qualification_type_id)


def qualification_types_listed(
    *, requester: User, must_be_requestable: bool, owned_only: bool, query: str | None
) -> tuple[list[SystemType], QuerySet[QualificationType]]:
    """ListQualificationTypes: the system types that qualify (listed first) and the
    requester's own. The system types are not requestable, and owned by no one. `query`
    matches the name, description or keywords (case-insensitive)."""
    rows = qualification_types_of(requester)
    system = [] if must_be_requestable or owned_only else list(SYSTEM_TYPES)
    if query:
        needle = query.strip().lower()
        system = [t for t in system if needle in f"{t.name}\n{t.description}\n{t.keywords}".lower()]
        rows = rows.filter(
            Q(name__icontains=needle)
            | Q(description__icontains=needle)
            | Q(keywords__icontains=needle)
        )
    return system, rows


# --- Qualifications granted to workers --------------------------------------------------------


def _owned(requester: User, qualification_type_id: str) -> QualificationType:
    """A type the requester may grant: theirs (a system type is granted by no one)."""
    if qualification_type_id in SYSTEM_BY_ID:
        raise Forbidden(
            f"QualificationType [{qualification_type_id}] is a system type: its values come "
            "from the platform. You can only assign Qualifications of types you created."
        )
    return qualification_type_get(requester=requester, qualification_type_id=qualification_type_id)


@transaction.atomic
def qualification_grant(
    *,
    requester: User,
    qualification_type_id: str,
    worker: User,
    value: int = 1,
    notify: bool = True,
) -> WorkerQualification:
    """Give the worker the requester's qualification with `value` (again: the new value; a
    revoked one is granted anew). With `notify`, a notice on the worker's account page."""
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise InvalidInput.field("IntegerValue", f"Between {INTEGER_MIN} and {INTEGER_MAX}.")
    qualification_type = _owned(requester, qualification_type_id)
    now = timezone.now()
    grant, created = WorkerQualification.objects.select_for_update().get_or_create(
        qualification_type=qualification_type,
        worker=worker,
        defaults={"integer_value": value, "granted_at": now},
    )
    if not created:
        if grant.status == WorkerQualification.Status.REVOKED:
            grant.granted_at = now
        grant.integer_value = value
        grant.status = WorkerQualification.Status.GRANTED
        grant.revoked_at, grant.revoke_reason = None, ""
        grant.save()
    if notify:
        notice_send(
            requester=requester,
            workers=[worker],
            subject=f"Qualification granted: {qualification_type.name}",
            message=f"{requester.username} granted you the qualification "
            f"“{qualification_type.name}” with the value {value}.",
        )
    return grant


@transaction.atomic
def qualification_revoke(
    *, requester: User, qualification_type_id: str, worker: User, reason: str = ""
) -> WorkerQualification:
    """Revoke the worker's qualification of the requester's type, telling them `reason`
    (MTurk: "the user who had the Qualification sees this message"). QualificationNotFound
    when the worker never had it; revoking it again changes nothing."""
    qualification_type = _owned(requester, qualification_type_id)
    grant = (
        WorkerQualification.objects.select_for_update()
        .filter(qualification_type=qualification_type, worker=worker)
        .first()
    )
    if grant is None:
        raise QualificationNotFound()
    if grant.status == WorkerQualification.Status.GRANTED:
        grant.status = WorkerQualification.Status.REVOKED
        grant.revoked_at, grant.revoke_reason = timezone.now(), reason.strip()
        grant.save(update_fields=["status", "revoked_at", "revoke_reason"])
        because = f" The reason given: {reason.strip()}" if reason.strip() else ""
        notice_send(
            requester=requester,
            workers=[worker],
            subject=f"Qualification revoked: {qualification_type.name}",
            message=f"{requester.username} revoked your qualification "
            f"“{qualification_type.name}”.{because}",
        )
    return grant


def qualification_score(
    *, requester: User, qualification_type_id: str, worker: User
) -> WorkerQualification:
    """The worker's qualification of one of the requester's types (granted or revoked):
    QualificationNotFound when the worker never had it, or for a system type (only a type's
    owner reads scores, and no one owns those: MTurk answered the same)."""
    if qualification_type_id in SYSTEM_BY_ID:
        raise QualificationNotFound()
    qualification_type = qualification_type_get(
        requester=requester, qualification_type_id=qualification_type_id
    )
    grant = (
        WorkerQualification.objects.filter(qualification_type=qualification_type, worker=worker)
        .select_related("qualification_type")
        .first()
    )
    if grant is None:
        raise QualificationNotFound()
    return grant


def qualification_holders(
    *, requester: User, qualification_type_id: str, status: str | None = None
) -> QuerySet[WorkerQualification]:
    """The workers given one of the requester's types (`status`: Granted or Revoked only),
    with their WorkerIds loaded."""
    qualification_type = _owned(requester, qualification_type_id)
    grants = WorkerQualification.objects.filter(qualification_type=qualification_type)
    if status is not None:
        grants = grants.filter(status=status)
    return grants.select_related("qualification_type", "worker__mturk_worker")
