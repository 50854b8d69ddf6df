"""CreateHITType."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.mturk.errors import request_error
from apps.mturk.operations.call import Call
from apps.mturk.services.hit_types import AUTO_APPROVAL_DELAY_MAX, hit_type_create


def create_hit_type(call: Call) -> dict[str, Any]:
    """The input has passed the CreateHITTypeRequest shape (Reward is a CurrencyAmount)."""
    params = call.params
    if params.get("QualificationRequirements"):
        # Accepted and not enforced would let the wrong workers in once HITs exist.
        raise request_error(
            "QualificationRequirements are not supported by this server yet: create the HIT "
            "type without them.",
            "AWS.MechanicalTurk.UnsupportedOperation",
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
    )
    return {"HITTypeId": hit_type.hit_type_id}
