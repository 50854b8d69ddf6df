"""The rewards ledger: credits for answers, bonuses, reversals of rejected answers; budgets.

Append-only: nothing here updates or deletes an entry. An answer is credited in the submit
transaction (one INSERT), an MTurk project's when the requester approves it (apps/mturk/
services/assignments.py); an admin who rejects a worker's answers on a project adds one
reversal per credited answer. Rejection is always explicit: an automatic block (a statistical
judgment) takes the worker's answers out of the consensus but does not take their pay back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.workers.errors import BudgetSpent, InsufficientFunds
from apps.workers.models import Deposit, LedgerCheckpoint, LedgerEntry, User
from apps.workers.selectors import ledger_committed, requester_balance, signed_sum
from hitlcrowd.errors import InvalidInput, full_clean
from hitlcrowd.rawrows import insert_row

if TYPE_CHECKING:
    from apps.tasks.models import Answer, Project

log = logging.getLogger(__name__)

MAX_BONUS = Decimal("100000")
# The budget check folds the ledger into the checkpoint once this many entries follow it...
CHECKPOINT_EVERY = 5000
# ...leaving out the entries younger than this (their transactions may still be open).
CHECKPOINT_LAG = timedelta(minutes=2)
# Far from the budget (this many rewards or more left) claims run side by side; nearer, they
# take turns, so concurrent claims cannot overshoot it.
BUDGET_SLACK = 50
MAX_REASON_LENGTH = 500
MAX_CHOSEN_ANSWERS = 10_000


def ledger_credit_answer(*, answer: Answer, project: Project) -> LedgerEntry:
    """Pay the project's reward for a new answer. Call it inside the transaction that created
    the answer (assignment_submit): one INSERT, no savepoint. The unique credit per answer
    makes a second call fail rather than pay twice."""
    entry = insert_row(  # raw INSERT: this runs on every submit (hitlcrowd/rawrows.py)
        LedgerEntry,
        worker_id=answer.worker_id,
        project_id=project.pk,
        kind=LedgerEntry.Kind.CREDIT,
        amount=project.reward_per_answer,
        answer_id=answer.pk,
        reason="",
        created_by_id=None,
        created_at=timezone.now(),
    )
    entry.project, entry.answer = project, answer
    return entry


@dataclass(frozen=True)
class AnswerChoice:
    """Which of a worker's answers on a project an admin rejects: all of them (the default),
    those given in a time range (`since` inclusive, `until` exclusive), or the `answer_ids`."""

    answer_ids: tuple[int, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def q(self, prefix: str = "") -> Q:
        chosen = Q()
        if self.answer_ids is not None:
            chosen &= Q(**{f"{prefix}pk__in": self.answer_ids})
        if self.since is not None:
            chosen &= Q(**{f"{prefix}created_at__gte": self.since})
        if self.until is not None:
            chosen &= Q(**{f"{prefix}created_at__lt": self.until})
        return chosen

    def check_range(self) -> None:
        """A 400 naming `until` when the range runs backwards."""
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput.field("until", "Must be after `since`.")


ALL_ANSWERS = AnswerChoice()


@transaction.atomic
def ledger_reject_answers(
    *,
    worker: User,
    project: Project,
    by: User,
    reason: str,
    choice: AnswerChoice = ALL_ANSWERS,
) -> int:
    """Reject the worker's chosen answers on the project (all by default): one reversal per
    credit not reversed yet, and the answers leave the consensus for good, giving their slots
    back (apps.tasks.services.discard; a live lease is left to be answered). `reason` is shown
    to the worker. Returns how many were reversed; running it again reverses nothing more."""
    reason = clean_reason(reason, required="Say why the answers are rejected: the worker reads it.")
    _check_choice(worker, project, choice)
    credits = list(
        LedgerEntry.objects.select_for_update()
        .filter(worker=worker, project=project, kind=LedgerEntry.Kind.CREDIT)
        .filter(choice.q("answer__"))
        .exclude(answer_id__in=_reversed_answers(worker, project))
        .order_by("pk")
        .values_list("answer_id", "amount")
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                worker=worker,
                project=project,
                kind=LedgerEntry.Kind.REVERSAL,
                amount=amount,
                answer_id=answer_id,
                reason=reason,
                created_by=by,
            )
            for answer_id, amount in credits
        ],
        batch_size=1000,
    )
    discarded = _discard_answers(project, worker, choice)
    if credits or discarded:
        changes = {"worker": worker.pk, "answers": len(credits), "reason": reason}
        _audit(project, by, "answers_reject", project, changes | {"discarded": discarded})
    return len(credits)


def _check_choice(worker: User, project: Project, choice: AnswerChoice) -> None:
    from apps.tasks.models import Answer

    choice.check_range()
    if choice.answer_ids is None:
        return
    if not choice.answer_ids:
        raise InvalidInput.field("answer_ids", "Choose at least one answer.")
    if len(choice.answer_ids) > MAX_CHOSEN_ANSWERS:
        raise InvalidInput.field("answer_ids", f"At most {MAX_CHOSEN_ANSWERS} answers at a time.")
    found = Answer.objects.filter(worker=worker, project=project, pk__in=choice.answer_ids)
    if found.count() != len(set(choice.answer_ids)):
        raise InvalidInput.field("answer_ids", "Only this worker's answers on this project.")


def _discard_answers(project: Project, worker: User, choice: AnswerChoice) -> int:
    from apps.tasks.models import Answer
    from apps.tasks.services.discard import answers_discard

    reason = Answer.DiscardReason.REJECTED
    only = None if choice == ALL_ANSWERS else choice.q()
    return answers_discard(
        project_id=project.pk, worker_ids=[worker.pk], reason=reason, leases=False, only=only
    ).answers


def _reversed_answers(worker: User, project: Project):
    return LedgerEntry.objects.filter(
        worker=worker, project=project, kind=LedgerEntry.Kind.REVERSAL
    ).values("answer_id")


@transaction.atomic
def ledger_grant_bonus(
    *, worker: User, project: Project, amount: object, reason: str, by: User
) -> LedgerEntry:
    """Grant a bonus (a positive Decimal, at most MAX_BONUS) with a reason."""
    value = _clean_amount(amount)
    reason = clean_reason(reason, required="Say why the bonus is granted.")
    if not worker.is_worker:
        raise InvalidInput.field("worker", "Bonuses go to workers.")
    entry = LedgerEntry(
        worker=worker,
        project=project,
        kind=LedgerEntry.Kind.BONUS,
        amount=value,
        reason=reason,
        created_by=by,
    )
    full_clean(entry)
    entry.save()
    changes = {"worker": worker.pk, "amount": str(value), "reason": reason}
    _audit(project, by, "bonus_grant", entry, changes)
    return entry


def funds_lock(*, requester_id: int) -> None:
    """Lock the requester's row until the transaction ends: spends of one requester take
    turns (check, write, commit). Take it first where the spend locks other rows too
    (CreateAdditionalAssignmentsForHIT locks its HIT), so every spend locks in one order."""
    User.objects.select_for_update().filter(pk=requester_id).values("pk").first()


def funds_check(*, requester: User, amount: Decimal) -> None:
    """Raise InsufficientFunds when the requester's available balance (requester_balance:
    deposits less spend less what is on hold) is less than `amount`. The one check of a
    requester's prepaid funds, for whatever spends them (a bonus, an overridden rejection, a
    HIT's rewards). Call it in the transaction that writes the spend: it locks the
    requester's row first (funds_lock), so two spends of one requester cannot both pass on
    the same money. The message opens with MTurk's words for it."""
    funds_lock(requester_id=requester.pk)
    available = requester_balance(requester=requester).available
    if available < amount:
        raise InsufficientFunds(
            "This Requester has insufficient funds in their account to complete this "
            f"transaction: the available balance ({_cents(available)}) cannot "
            f"cover {amount.quantize(Decimal('0.01'), rounding=ROUND_UP)}. Ask for a deposit."
        )


def _cents(amount: Decimal) -> Decimal:
    """As GetAccountBalance shows it: rounded down to the cent, no sign."""
    return max(amount, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


MAX_DEPOSIT = Decimal("10000000")


@transaction.atomic
def ledger_deposit(*, requester: User, amount: object, reason: str, by: User | None) -> Deposit:
    """Add to a requester's prepaid funds (a positive Decimal, at most MAX_DEPOSIT)."""
    value = _clean_amount(amount, most=MAX_DEPOSIT)
    reason = clean_reason(reason)
    if not requester.is_requester:
        raise InvalidInput.field("requester", "Funds are paid in by requesters.")
    deposit = Deposit(requester=requester, amount=value, reason=reason, created_by=by)
    full_clean(deposit)
    deposit.save()
    log.info("deposit: %s paid in for requester %s by %s", value, requester.pk, by and by.pk)
    return deposit


def _clean_amount(amount: object, *, most: Decimal = MAX_BONUS) -> Decimal:
    if isinstance(amount, float):
        raise InvalidInput.field("amount", "Give the amount as a decimal string, not a float.")
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise InvalidInput.field("amount", "A decimal amount is needed.") from None
    if not value.is_finite() or not Decimal(0) < value <= most:
        raise InvalidInput.field("amount", f"Must be more than 0 and at most {most}.")
    if value != value.quantize(Decimal("0.0001")):
        raise InvalidInput.field("amount", "At most 4 decimal places.")
    return value


def clean_reason(reason: object, *, required: str | None = None, field: str = "reason") -> str:
    """The reason stripped; a 400 naming `field` when too long, or empty and `required` (the
    message then)."""
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput.field(field, f"Give a reason of at most {MAX_REASON_LENGTH} characters.")
    if required and not reason.strip():
        raise InvalidInput.field(field, required)
    return reason.strip()


def budget_check(*, project: Project) -> bool:
    """Raise BudgetSpent (409) when one more lease could take the project past its budget:
    committed spend plus the reward of every live lease (each may become a paid answer) plus
    this one. HITs stay open; they are just not served until the budget is raised.

    Returns True when the budget is near (fewer than BUDGET_SLACK rewards left): the caller
    must then claim inside `budget_locked`, so that concurrent claims cannot all pass the same
    last check."""
    if project.budget is None:
        return False
    committed, tail = ledger_committed(project=project)
    if tail > CHECKPOINT_EVERY:
        ledger_checkpoint_advance(project=project)
    if committed + project.reward_per_answer > project.budget:
        _tell_budget_spent(project, committed)
        raise BudgetSpent()
    return committed + BUDGET_SLACK * project.reward_per_answer > project.budget


@contextmanager
def budget_locked(*, project: Project) -> Iterator[None]:
    """A transaction holding the project's checkpoint row, with the budget checked again
    inside it: near the budget, claims on the project take turns (check, lease, commit)."""
    LedgerCheckpoint.objects.get_or_create(project=project)
    with transaction.atomic():
        LedgerCheckpoint.objects.select_for_update().filter(project=project).values("pk").first()
        budget_check(project=project)
        yield


def _tell_budget_spent(project: Project, committed: Decimal) -> None:
    """One audit event per exhaustion: none yet since the project's settings last changed
    (raising the budget saves the project). Costs a query only on a refused claim."""
    from apps.tasks.models import AuditEvent

    told = AuditEvent.objects.filter(
        project=project, action=AuditEvent.Action.BUDGET_SPENT, created_at__gte=project.updated_at
    )
    if told.exists():
        return
    log.warning("budget: project %s spent (%s of %s)", project.pk, committed, project.budget)
    changes = {"budget": str(project.budget), "committed": str(committed)}
    _audit(project, None, "budget_spent", project, changes)


@transaction.atomic
def ledger_checkpoint_advance(*, project: Project, now: datetime | None = None) -> bool:
    """Fold the entries older than CHECKPOINT_LAG into the project's checkpoint. An entry is
    only folded once every entry with a smaller id is surely committed: ids are handed out at
    INSERT, and no ledger transaction stays open for CHECKPOINT_LAG. A conditional UPDATE, so
    two concurrent advances fold each entry once. True when the checkpoint moved."""
    now = now or timezone.now()
    checkpoint, _ = LedgerCheckpoint.objects.get_or_create(project=project)
    after = LedgerEntry.objects.filter(project=project, pk__gt=checkpoint.upto_id)
    safe = after.filter(created_at__lt=now - CHECKPOINT_LAG).aggregate(last=Max("pk"))["last"]
    if safe is None:
        return False
    folded = after.filter(pk__lte=safe).aggregate(total=signed_sum())["total"]
    moved = LedgerCheckpoint.objects.filter(project=project, upto_id=checkpoint.upto_id).update(
        upto_id=safe, amount=checkpoint.amount + folded, updated_at=now
    )
    return moved == 1


def _audit(project: Project, by: User | None, action: str, obj, changes: dict) -> None:
    from apps.tasks.services.audit import audit_record

    audit_record(project_id=project.pk, actor=by, action=action, obj=obj, changes=changes)
