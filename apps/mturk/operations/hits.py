"""The HIT operations (CreateHIT, CreateHITWithHITType, GetHIT, ListHITs, ListReviewableHITs,
UpdateExpirationForHIT, UpdateHITReviewStatus, UpdateHITTypeOfHIT, DeleteHIT,
CreateAdditionalAssignmentsForHIT) and the one rendering of a HIT."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.mturk.errors import request_error
from apps.mturk.models import HITType, MturkHIT
from apps.mturk.operations.call import Call
from apps.mturk.operations.hit_types import hit_type_of_params
from apps.mturk.operations.wire import currency, from_timestamp, timestamp
from apps.mturk.pagination import paginate
from apps.mturk.selectors import (
    REVIEWABLE,
    REVIEWING,
    hit_get,
    hit_list,
    hit_list_reviewable,
    hit_state,
)
from apps.mturk.services.hits import (
    NewHIT,
    hit_assignments_add,
    hit_checked,
    hit_create,
    hit_delete,
    hit_expire_at,
    hit_review_status_update,
    hit_type_move,
)
from hitlcrowd.errors import NotFound, one_or_not_found

# Parameters of MTurk's model this server does not act on: refused by name rather than
# accepted and ignored (a requester would believe them enforced).
NOT_SUPPORTED = (
    "AssignmentReviewPolicy",
    "HITReviewPolicy",
    "HITLayoutId",
    "HITLayoutParameters",
)


def create_hit(call: Call) -> dict[str, Any]:
    """A HIT with its type's values given inline: the type is the requester's HIT type with
    those values (made if new, as CreateHITType would), as MTurk did."""
    new = _checked(call.params)
    with transaction.atomic():
        hit_type = hit_type_of_params(call)
        return _created(call, hit_type, new)


def create_hit_with_hit_type(call: Call) -> dict[str, Any]:
    new = _checked(call.params)
    return _created(call, _hit_type(call), new)


def get_hit(call: Call) -> dict[str, Any]:
    now = timezone.now()
    return {"HIT": hit_output(_hit(call, now), now)}


def list_hits(call: Call) -> dict[str, Any]:
    """The requester's HITs but the deleted ones, oldest first (keyset pages)."""
    now = timezone.now()
    hits = hit_list(requester=call.requester, now=now).filter(disposed_at__isnull=True)
    page = paginate(hits, params=call.params, operation="ListHITs", requester_id=call.requester.pk)
    return page.output("HITs", lambda hit: hit_output(hit, now))


def list_reviewable_hits(call: Call) -> dict[str, Any]:
    params = call.params
    status = params.get("Status", REVIEWABLE)
    hit_type_id = params.get("HITTypeId")
    now = timezone.now()
    hits = hit_list_reviewable(
        requester=call.requester, now=now, reviewing=status == REVIEWING, hit_type_id=hit_type_id
    )
    page = paginate(
        hits,
        params=params,
        operation="ListReviewableHITs",
        requester_id=call.requester.pk,
        filters={"Status": status, "HITTypeId": hit_type_id},
    )
    return page.output("HITs", lambda hit: hit_output(hit, now))


def update_expiration_for_hit(call: Call) -> dict[str, Any]:
    expire_at = from_timestamp(call.params["ExpireAt"], name="ExpireAt")
    hit_expire_at(hit=_hit(call), expire_at=expire_at)
    return {}


def update_hit_review_status(call: Call) -> dict[str, Any]:
    hit_review_status_update(hit=_hit(call), revert=bool(call.params.get("Revert", False)))
    return {}


def update_hit_type_of_hit(call: Call) -> dict[str, Any]:
    """The HIT moves to another of the requester's HIT types (services.hits.hit_type_move)."""
    hit_type_move(hit=_hit(call), hit_type=_hit_type(call))
    return {}


def delete_hit(call: Call) -> dict[str, Any]:
    hit_delete(hit=_hit(call))
    return {}


def create_additional_assignments_for_hit(call: Call) -> dict[str, Any]:
    params = call.params
    hit_assignments_add(
        hit=_hit(call),
        more=params["NumberOfAdditionalAssignments"],
        unique_request_token=params.get("UniqueRequestToken"),
    )
    return {}


def _hit(call: Call, now: datetime | None = None) -> MturkHIT:
    """The requester's HIT the call names; another requester's does not exist for them."""
    hit_id = call.params["HITId"]
    try:
        return hit_get(requester=call.requester, hit_id=hit_id, now=now or timezone.now())
    except NotFound:
        raise NotFound(f"HIT {hit_id} does not exist.") from None


def _hit_type(call: Call) -> HITType:
    """The requester's HIT type the call names; another requester's does not exist for them."""
    types = HITType.objects.filter(requester=call.requester).select_related("project")
    try:
        return one_or_not_found(types, hit_type_id=call.params["HITTypeId"])
    except NotFound:
        raise NotFound(f"HIT type {call.params['HITTypeId']} does not exist.") from None


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


def hit_output(hit: MturkHIT, now: datetime) -> dict[str, Any]:
    """A HIT in MTurk's shape, from a row of selectors.hit_list (its counts annotated)."""
    hit_type = hit.hit_type
    state = hit_state(hit, now)
    output: dict[str, Any] = {
        "HITId": hit.hit_id,
        "HITTypeId": hit_type.hit_type_id,
        # MTurk grouped HITs of one type (and requester) into a HIT group.
        "HITGroupId": hit_type.hit_type_id,
        "CreationTime": timestamp(hit.created_at),
        "Title": hit_type.title,
        "Description": hit_type.description,
        "Question": hit.question,
        "HITStatus": state.status,
        "MaxAssignments": hit.task_hit.answers_wanted,
        "Reward": currency(hit_type.reward),
        "AutoApprovalDelayInSeconds": hit_type.auto_approval_delay_seconds,
        "Expiration": timestamp(hit.task_hit.expires_at),
        "AssignmentDurationInSeconds": hit_type.assignment_duration_seconds,
        "QualificationRequirements": hit_type.qualification_requirements,
        "HITReviewStatus": hit.review_status,
        "NumberOfAssignmentsPending": hit.pending,
        "NumberOfAssignmentsAvailable": state.available,
        "NumberOfAssignmentsCompleted": hit.completed,
    }
    if hit_type.keywords:
        output["Keywords"] = hit_type.keywords
    if hit.requester_annotation:
        output["RequesterAnnotation"] = hit.requester_annotation
    return output
