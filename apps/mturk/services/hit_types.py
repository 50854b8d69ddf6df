"""HIT types: MTurk's CreateHITType, and the project each type is."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from apps.mturk.models import HITType
from apps.mturk.requirements import Requirement
from apps.tasks.models import Project
from apps.tasks.services.projects import project_create
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, full_clean

# MTurk's limits (its API reference): 30 s to 365 days to do an assignment, auto-approval
# within 30 days (its default), and the lengths of the text fields.
ASSIGNMENT_DURATION = (30, 365 * 24 * 3600)
AUTO_APPROVAL_DELAY_MAX = 30 * 24 * 3600
REWARD_MAX = Decimal("99999999.99")  # HITType.reward's digits
ID_ALPHABET = string.ascii_uppercase + string.digits
MTURK_ID_LENGTH = 30


def mturk_id() -> str:
    """An id shaped like MTurk's (30 upper-case letters and digits): HITs, HIT types."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(MTURK_ID_LENGTH))


def hit_type_fingerprint(values: dict[str, object]) -> str:
    canonical = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def hit_type_create(
    *,
    requester: User,
    title: str,
    description: str,
    reward: Decimal,
    assignment_duration_seconds: int,
    auto_approval_delay_seconds: int = AUTO_APPROVAL_DELAY_MAX,
    keywords: str = "",
    qualification_requirements: Sequence[Requirement] = (),
) -> HITType:
    """The requester's HIT type with these values: an existing one if they made it before
    (MTurk's behaviour), else a new one. Refusals name MTurk's parameter.
    `qualification_requirements`: checked by apps.mturk.access.requirements_accepted; part
    of the values (other requirements, another type)."""
    low, high = ASSIGNMENT_DURATION
    if not low <= assignment_duration_seconds <= high:
        raise InvalidInput.field(
            "AssignmentDurationInSeconds", f"Must be between {low} and {high} seconds."
        )
    if not 0 <= auto_approval_delay_seconds <= AUTO_APPROVAL_DELAY_MAX:
        raise InvalidInput.field(
            "AutoApprovalDelayInSeconds", f"Must be between 0 and {AUTO_APPROVAL_DELAY_MAX}."
        )
    values = {
        "title": title.strip(),
        "description": description.strip(),
        "keywords": keywords.strip(),
        "reward": reward.quantize(Decimal("0.01")),
        "assignment_duration_seconds": assignment_duration_seconds,
        "auto_approval_delay_seconds": auto_approval_delay_seconds,
    }
    for name, field, text in (
        ("Title", "title", values["title"]),
        ("Description", "description", values["description"]),
        ("Keywords", "keywords", values["keywords"]),
    ):
        most = HITType._meta.get_field(field).max_length
        if len(text) > most:
            raise InvalidInput.field(name, f"At most {most} characters.")
        if field != "keywords" and not text:
            raise InvalidInput.field(name, "Must not be empty.")
    if values["reward"] > REWARD_MAX:
        raise InvalidInput.field("Reward", f"At most {REWARD_MAX}.")
    requirements = [r.as_wire() for r in qualification_requirements]
    # Without requirements the digest is what it was before they existed: a repeat of an
    # older CreateHITType still finds its type.
    fingerprint = hit_type_fingerprint(
        {**values, "qualification_requirements": requirements} if requirements else values
    )
    existing = _same_type(requester, fingerprint)
    if existing is not None:
        return existing
    # A new type: lock the requester's row so that two identical concurrent calls make one
    # type and one project (the loser finds the winner's below).
    User.objects.select_for_update().filter(pk=requester.pk).values("pk").first()
    existing = _same_type(requester, fingerprint)
    if existing is not None:
        return existing
    hit_type = HITType(
        requester=requester,
        hit_type_id=mturk_id(),
        fingerprint=fingerprint,
        qualification_requirements=requirements,
        hides_from_unqualified=any(
            r.guarded == "DiscoverPreviewAndAccept" for r in qualification_requirements
        ),
        **values,
    )
    # In this transaction: a refused type leaves no project behind.
    hit_type.project = project_create(owner=requester, **mturk_project_values(hit_type))
    full_clean(hit_type)
    hit_type.save()
    return hit_type


def _same_type(requester: User, fingerprint: str) -> HITType | None:
    return (
        HITType.objects.select_related("project")
        .filter(requester=requester, fingerprint=fingerprint)
        .first()
    )


def mturk_project_values(hit_type: HITType) -> dict[str, object]:
    """The project a HIT type is: its title, description, reward and duration. Each HIT
    wants its own MaxAssignments answers (the overlaps are a native project's), no gold and
    no test; the requester's own review decides, not a consensus."""
    return {
        "kind": Project.Kind.MTURK,
        "name": hit_type.title,
        "description": hit_type.description,
        "labels": [],
        "reward_per_answer": hit_type.reward,
        "lease_seconds": hit_type.assignment_duration_seconds,
        "min_overlap": 1,
        "max_overlap": 1,
        "gold_share": 0,
    }
