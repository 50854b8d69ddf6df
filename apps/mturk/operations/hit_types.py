"""CreateHITType (its QualificationRequirements: apps/mturk/access.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.mturk.access import requirements_accepted
from apps.mturk.models import HITType
from apps.mturk.operations.call import Call
from apps.mturk.services.hit_types import AUTO_APPROVAL_DELAY_MAX, hit_type_create


def create_hit_type(call: Call) -> dict[str, Any]:
    return {"HITTypeId": hit_type_of_params(call).hit_type_id}


def hit_type_of_params(call: Call) -> HITType:
    """The requester's HIT type with the values of CreateHITType's input, or CreateHIT's
    (which gives them inline), made if new. The input has passed its shape (Reward is a
    CurrencyAmount)."""
    params = call.params
    requirements = requirements_accepted(
        requester=call.requester, raw=params.get("QualificationRequirements") or []
    )
    return hit_type_create(
        requester=call.requester,
        title=params["Title"],
        description=params["Description"],
        reward=Decimal(params["Reward"]),
        assignment_duration_seconds=params["AssignmentDurationInSeconds"],
        auto_approval_delay_seconds=params.get(
            "AutoApprovalDelayInSeconds", AUTO_APPROVAL_DELAY_MAX
        ),
        keywords=params.get("Keywords", ""),
        qualification_requirements=requirements,
    )
