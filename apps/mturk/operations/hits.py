"""CreateHIT, CreateHITWithHITType, GetHIT, and the one rendering of a HIT."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.mturk.errors import request_error
from apps.mturk.models import HITType, MturkHIT
from apps.mturk.operations.call import Call
from apps.mturk.operations.wire import currency, timestamp
from apps.mturk.selectors import hit_get
from apps.mturk.services.hit_types import AUTO_APPROVAL_DELAY_MAX, hit_type_create
from apps.mturk.services.hits import NewHIT, hit_checked, hit_create
from hitlcrowd.errors import NotFound, one_or_not_found

# Parameters of MTurk's model this server does not act on: refused by name rather than
# accepted and ignored (a requester would believe them enforced).
NOT_SUPPORTED = (
    "QualificationRequirements",
    "AssignmentReviewPolicy",
    "HITReviewPolicy",
    "HITLayoutId",
    "HITLayoutParameters",
)


def create_hit(call: Call) -> dict[str, Any]:
    """A HIT with its type's values given inline: the type is the requester's HIT type with
    those values (made if new, as CreateHITType would), as MTurk did."""
    params = call.params
    new = _checked(params)
    with transaction.atomic():
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
        return _created(call, hit_type, new)


def create_hit_with_hit_type(call: Call) -> dict[str, Any]:
    new = _checked(call.params)
    types = HITType.objects.filter(requester=call.requester).select_related("project")
    try:
        hit_type = one_or_not_found(types, hit_type_id=call.params["HITTypeId"])
    except NotFound:
        raise NotFound(f"HIT type {call.params['HITTypeId']} does not exist.") from None
    return _created(call, hit_type, new)


def get_hit(call: Call) -> dict[str, Any]:
    now = timezone.now()
    try:
        hit = hit_get(requester=call.requester, hit_id=call.params["HITId"], now=now)
    except NotFound:
        raise NotFound(f"HIT {call.params['HITId']} does not exist.") from None
    return {"HIT": hit_output(hit, now)}


def _checked(params: dict[str, Any]) -> NewHIT:
    for name in NOT_SUPPORTED:
        if params.get(name):
            raise request_error(
                f"{name} is not supported by this server yet: create the HIT without it.",
                "AWS.MechanicalTurk.UnsupportedOperation",
            )
    if "Question" not in params:
        raise request_error(
            "Question is required (HIT layouts are not supported).", "AWS.MissingParameters"
        )
    return hit_checked(
        question=params["Question"],
        lifetime_seconds=params["LifetimeInSeconds"],
        max_assignments=params.get("MaxAssignments", 1),
        requester_annotation=params.get("RequesterAnnotation", ""),
        unique_request_token=params.get("UniqueRequestToken"),
    )


def _created(call: Call, hit_type: HITType, new: NewHIT) -> dict[str, Any]:
    hit = hit_create(requester=call.requester, hit_type=hit_type, new=new)
    now = timezone.now()
    created = hit_get(requester=call.requester, hit_id=hit.hit_id, now=now)
    return {"HIT": hit_output(created, now)}


def hit_status(hit: MturkHIT, now: datetime) -> tuple[str, int]:
    """(HITStatus, NumberOfAssignmentsAvailable) from the HIT's rows (hit_list's counts).
    Disposed once deleted; Reviewing while the requester reviews it; Reviewable when nothing
    is pending and nothing more can come (expired, or every assignment submitted);
    Assignable while a worker may accept it; Unassignable otherwise (its assignments are
    all taken, some still being worked on)."""
    expired = hit.task_hit.expires_at is not None and hit.task_hit.expires_at <= now
    open_slots = max(0, hit.task_hit.answers_wanted - hit.pending - hit.submitted)
    available = 0 if expired or hit.disposed_at is not None else open_slots
    if hit.disposed_at is not None:
        return "Disposed", available
    if hit.pending == 0 and (expired or open_slots == 0):
        return ("Reviewing" if hit.reviewing else "Reviewable"), available
    return ("Assignable" if available else "Unassignable"), available


def hit_output(hit: MturkHIT, now: datetime) -> dict[str, Any]:
    """A HIT in MTurk's shape, from a row of selectors.hit_list (its counts annotated)."""
    hit_type = hit.hit_type
    status, available = hit_status(hit, now)
    output: dict[str, Any] = {
        "HITId": hit.hit_id,
        "HITTypeId": hit_type.hit_type_id,
        # MTurk grouped HITs of one type (and requester) into a HIT group.
        "HITGroupId": hit_type.hit_type_id,
        "CreationTime": timestamp(hit.created_at),
        "Title": hit_type.title,
        "Description": hit_type.description,
        "Question": hit.question,
        "HITStatus": status,
        "MaxAssignments": hit.task_hit.answers_wanted,
        "Reward": currency(hit_type.reward),
        "AutoApprovalDelayInSeconds": hit_type.auto_approval_delay_seconds,
        "Expiration": timestamp(hit.task_hit.expires_at),
        "AssignmentDurationInSeconds": hit_type.assignment_duration_seconds,
        "QualificationRequirements": [],
        "HITReviewStatus": hit.review_status,
        "NumberOfAssignmentsPending": hit.pending,
        "NumberOfAssignmentsAvailable": available,
        "NumberOfAssignmentsCompleted": hit.completed,
    }
    if hit_type.keywords:
        output["Keywords"] = hit_type.keywords
    if hit.requester_annotation:
        output["RequesterAnnotation"] = hit.requester_annotation
    return output
