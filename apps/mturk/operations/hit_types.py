"""CreateHITType (its QualificationRequirements: apps/mturk/access.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.mturk.access import requirements_accepted
from apps.mturk.operations.call import Call
from apps.mturk.services.hit_types import AUTO_APPROVAL_DELAY_MAX, hit_type_create


def create_hit_type(call: Call) -> dict[str, Any]:
    """The input has passed the CreateHITTypeRequest shape (Reward is a CurrencyAmount)."""
    params = call.params
    requirements = requirements_accepted(
        requester=call.requester, raw=params.get("QualificationRequirements") or []
    )
    hit_type = hit_type_create(
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
    return {"HITTypeId": hit_type.hit_type_id}
