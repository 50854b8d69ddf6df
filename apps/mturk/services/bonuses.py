"""SendBonus: a bonus to the worker of one of the requester's assignments, paid as a ledger
bonus entry (ledger_grant_bonus, which writes its bonus_grant audit event) out of the
requester's prepaid funds (funds_check), once per UniqueRequestToken."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from apps.mturk.errors import BonusAlreadySent
from apps.mturk.models import MturkAssignment, MturkBonus
from apps.mturk.workers import worker_id_of
from apps.workers.ledger import MAX_BONUS, MAX_REASON_LENGTH, funds_check, ledger_grant_bonus
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, NotFound

TOKEN_MAX = 64


def bonus_send(
    *,
    requester: User,
    worker_id: str,
    assignment_id: str,
    amount: str,
    reason: str,
    unique_request_token: str | None = None,
) -> MturkBonus:
    """Pay `amount` to the worker of one of the requester's submitted assignments (any status
    since: MTurk let a rejected one's worker be paid a bonus). `worker_id` must be that
    worker's WorkerId. A token used before by this requester pays nothing: BonusAlreadySent,
    as MTurk answered a repeat (it forgot tokens after 24 hours; they are kept here)."""
    value = _amount(amount)
    reason = _reason(reason)
    token = unique_request_token or None
    if token is not None and len(token) > TOKEN_MAX:
        raise InvalidInput.field("UniqueRequestToken", f"At most {TOKEN_MAX} characters.")
    _raise_if_token_used(requester, token)
    try:
        with transaction.atomic():
            return _send(requester, worker_id, assignment_id, value, reason, token)
    except IntegrityError:
        # A concurrent call with the same token won (mturkbonus_request_token_unique).
        _raise_if_token_used(requester, token)
        raise


def _send(
    requester: User,
    worker_id: str,
    assignment_id: str,
    value: Decimal,
    reason: str,
    token: str | None,
) -> MturkBonus:
    row = (
        MturkAssignment.objects.select_related("task_assignment__worker", "mturk_hit__hit_type")
        .filter(assignment_id=assignment_id, mturk_hit__requester=requester)
        .first()
    )
    if row is None:
        raise NotFound(f"Assignment {assignment_id} does not exist.")
    worker = row.task_assignment.worker
    if worker_id_of(worker) != worker_id:
        raise InvalidInput.field(
            "WorkerId", f"Worker {worker_id} did not work on assignment {assignment_id}."
        )
    funds_check(requester=requester, amount=value)
    entry = ledger_grant_bonus(
        worker=worker,
        project=row.mturk_hit.hit_type.project,
        amount=value,
        reason=reason,
        by=requester,
    )
    return MturkBonus.objects.create(
        ledger_entry=entry,
        requester=requester,
        mturk_assignment=row,
        mturk_hit_id=row.mturk_hit_id,
        unique_request_token=token,
    )


def _raise_if_token_used(requester: User, token: str | None) -> None:
    if (
        token is not None
        and MturkBonus.objects.filter(requester=requester, unique_request_token=token).exists()
    ):
        raise BonusAlreadySent(token)


def _amount(amount: str) -> Decimal:
    """BonusAmount: botocore sent a CurrencyAmount (digits, at most two places)."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError):
        raise InvalidInput.field("BonusAmount", "A US dollar amount is needed.") from None
    if not value.is_finite() or not Decimal("0.01") <= value <= MAX_BONUS:
        raise InvalidInput.field("BonusAmount", f"Must be between 0.01 and {MAX_BONUS}.")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput.field("BonusAmount", "At most two decimal places (cents).")
    return value


def _reason(reason: str) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput.field("Reason", "Say why the bonus is paid: the worker reads it.")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput.field("Reason", f"At most {MAX_REASON_LENGTH} characters.")
    return reason
