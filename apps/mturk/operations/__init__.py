"""The dispatch table: MTurk operation name -> handler.

A handler takes a `Call` (the requester the signature proved, the key, and the input already
checked against the operation's input shape in apps/mturk/shapes.py) and returns the output
as a dict of the operation's output shape (checked in the tests against botocore's model,
tests/helpers/mturk.py). It calls services and selectors, and refuses with domain errors or
`MturkError`s; the endpoint (apps/mturk/endpoint.py) turns both into the wire's error shape.

Adding an operation: a handler in the module of its resource, one line here, a conformance
test through boto3 in tests/mturk/ (the response validated), and its row in docs/mturk.md.
Every operation of the model not listed here answers a RequestError naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.mturk.operations import (
    account,
    assignments,
    blocks,
    bonuses,
    hit_types,
    hits,
    notify,
    qualifications,
)
from apps.mturk.operations.call import Call

Handler = Callable[[Call], dict[str, Any]]

OPERATIONS: dict[str, Handler] = {
    "ApproveAssignment": assignments.approve_assignment,
    "AssociateQualificationWithWorker": qualifications.associate_qualification_with_worker,
    "CreateAdditionalAssignmentsForHIT": hits.create_additional_assignments_for_hit,
    "CreateHIT": hits.create_hit,
    "CreateHITType": hit_types.create_hit_type,
    "CreateHITWithHITType": hits.create_hit_with_hit_type,
    "CreateQualificationType": qualifications.create_qualification_type,
    "CreateWorkerBlock": blocks.create_worker_block,
    "DeleteHIT": hits.delete_hit,
    "DeleteQualificationType": qualifications.delete_qualification_type,
    "DeleteWorkerBlock": blocks.delete_worker_block,
    "DisassociateQualificationFromWorker": qualifications.disassociate_qualification_from_worker,
    "GetAccountBalance": account.get_account_balance,
    "GetAssignment": assignments.get_assignment,
    "GetHIT": hits.get_hit,
    "GetQualificationScore": qualifications.get_qualification_score,
    "GetQualificationType": qualifications.get_qualification_type,
    "ListAssignmentsForHIT": assignments.list_assignments_for_hit,
    "ListBonusPayments": bonuses.list_bonus_payments,
    "ListHITs": hits.list_hits,
    "ListQualificationTypes": qualifications.list_qualification_types,
    "ListReviewableHITs": hits.list_reviewable_hits,
    "ListWorkerBlocks": blocks.list_worker_blocks,
    "ListWorkersWithQualificationType": qualifications.list_workers_with_qualification_type,
    "NotifyWorkers": notify.notify_workers,
    "RejectAssignment": assignments.reject_assignment,
    "SendBonus": bonuses.send_bonus,
    "UpdateExpirationForHIT": hits.update_expiration_for_hit,
    "UpdateHITReviewStatus": hits.update_hit_review_status,
    "UpdateHITTypeOfHIT": hits.update_hit_type_of_hit,
    "UpdateQualificationType": qualifications.update_qualification_type,
}

__all__ = ["OPERATIONS", "Call", "Handler"]
