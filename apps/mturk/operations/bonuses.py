"""SendBonus and ListBonusPayments."""

from __future__ import annotations

from typing import Any

from apps.mturk.errors import request_error
from apps.mturk.models import MturkBonus
from apps.mturk.operations.call import Call
from apps.mturk.operations.wire import currency, timestamp
from apps.mturk.pagination import paginate
from apps.mturk.selectors import bonus_list
from apps.mturk.services.bonuses import bonus_send
from apps.mturk.workers import worker_id_loaded


def send_bonus(call: Call) -> dict[str, Any]:
    params = call.params
    bonus_send(
        requester=call.requester,
        worker_id=params["WorkerId"],
        assignment_id=params["AssignmentId"],
        amount=params["BonusAmount"],
        reason=params["Reason"],
        unique_request_token=params.get("UniqueRequestToken"),
    )
    return {}


def list_bonus_payments(call: Call) -> dict[str, Any]:
    """The bonuses of one HIT (HITId) or one assignment (AssignmentId): exactly one of them,
    as MTurk required."""
    params = call.params
    hit_id, assignment_id = params.get("HITId"), params.get("AssignmentId")
    if (hit_id is None) == (assignment_id is None):
        raise request_error(
            "Give either HITId or AssignmentId (one of them).", "AWS.ParameterOutOfRange"
        )
    rows = bonus_list(requester=call.requester, hit_id=hit_id, assignment_id=assignment_id)
    page = paginate(
        rows,
        params=params,
        operation="ListBonusPayments",
        requester_id=call.requester.pk,
        filters={"hit": hit_id, "assignment": assignment_id},
    )
    return page.output("BonusPayments", bonus_output)


def bonus_output(bonus: MturkBonus) -> dict[str, Any]:
    """A BonusPayment, from a row of selectors.bonus_list."""
    entry = bonus.ledger_entry
    return {
        "WorkerId": worker_id_loaded(entry.worker),
        "BonusAmount": currency(entry.amount),
        "AssignmentId": bonus.mturk_assignment.assignment_id,
        "Reason": entry.reason,
        "GrantTime": timestamp(bonus.created_at),
    }
