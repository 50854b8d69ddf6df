"""GetAssignment, ListAssignmentsForHIT, ApproveAssignment, RejectAssignment, and the one
rendering of an assignment."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.mturk.models import MturkAssignment
from apps.mturk.operations.call import Call
from apps.mturk.operations.hits import hit_output
from apps.mturk.operations.wire import timestamp
from apps.mturk.pagination import paginate
from apps.mturk.selectors import assignment_get, assignment_list, hit_get
from apps.mturk.services.assignments import assignment_approve, assignment_reject
from apps.mturk.workers import worker_id_loaded
from hitlcrowd.errors import NotFound


def get_assignment(call: Call) -> dict[str, Any]:
    assignment_id = call.params["AssignmentId"]
    try:
        row = assignment_get(requester=call.requester, assignment_id=assignment_id)
    except NotFound:
        raise NotFound(f"Assignment {assignment_id} does not exist.") from None
    now = timezone.now()
    hit = hit_get(requester=call.requester, hit_id=row.mturk_hit.hit_id, now=now)
    return {"Assignment": assignment_output(row, hit.hit_id), "HIT": hit_output(hit, now)}


def list_assignments_for_hit(call: Call) -> dict[str, Any]:
    params = call.params
    try:
        hit = hit_get(requester=call.requester, hit_id=params["HITId"], now=timezone.now())
    except NotFound:
        raise NotFound(f"HIT {params['HITId']} does not exist.") from None
    statuses = sorted(set(params.get("AssignmentStatuses") or []))
    page = paginate(
        assignment_list(hit=hit, statuses=statuses),
        params=params,
        operation="ListAssignmentsForHIT",
        requester_id=call.requester.pk,
        filters={"hit": hit.pk, "statuses": statuses},
    )
    return page.output("Assignments", lambda row: assignment_output(row, hit.hit_id))


def approve_assignment(call: Call) -> dict[str, Any]:
    assignment_approve(
        requester=call.requester,
        assignment_id=call.params["AssignmentId"],
        feedback=call.params.get("RequesterFeedback", ""),
        override_rejection=bool(call.params.get("OverrideRejection", False)),
    )
    return {}


def reject_assignment(call: Call) -> dict[str, Any]:
    assignment_reject(
        requester=call.requester,
        assignment_id=call.params["AssignmentId"],
        feedback=call.params["RequesterFeedback"],
    )
    return {}


def assignment_output(row: MturkAssignment, hit_id: str) -> dict[str, Any]:
    """An assignment in MTurk's shape, from a row of selectors.assignment_list (its lease and
    worker loaded). Deadline is the lease's end; AcceptTime its start."""
    lease = row.task_assignment
    output: dict[str, Any] = {
        "AssignmentId": row.assignment_id,
        "WorkerId": worker_id_loaded(lease.worker),
        "HITId": hit_id,
        "AssignmentStatus": row.status,
        "AutoApprovalTime": timestamp(row.auto_approval_at),
        "AcceptTime": timestamp(lease.leased_at),
        "SubmitTime": timestamp(row.submitted_at),
        "Deadline": timestamp(lease.lease_expires_at),
        "Answer": row.answer,
    }
    # An overridden rejection keeps its time in the row (and the audit trail), not here.
    if row.status == row.Status.APPROVED:
        output["ApprovalTime"] = timestamp(row.approved_at)
    if row.status == row.Status.REJECTED:
        output["RejectionTime"] = timestamp(row.rejected_at)
    if row.requester_feedback:
        output["RequesterFeedback"] = row.requester_feedback
    return output
