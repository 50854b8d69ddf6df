"""Reads for the workers app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.workers.models import (
    Block,
    Deposit,
    LedgerCheckpoint,
    LedgerEntry,
    Qualification,
    User,
    WorkerStats,
)
from apps.workers.reliability import check_schedule
from hitlcrowd.rawrows import fetch_rows

if TYPE_CHECKING:
    from apps.tasks.models import Project


def qualification_get(*, worker: User, project: Project) -> Qualification | None:
    return Qualification.objects.filter(worker=worker, project=project).first()


def worker_gold_counts(*, worker: User, project: Project) -> tuple[int, int]:
    """(gold answers, gold correct) of the worker on the project as of the last consensus run;
    (0, 0) before it. One row by the unique (worker, project) index: the claim reads it."""
    rows = WorkerStats.objects.filter(worker=worker, project=project).values_list(
        "gold_answers", "gold_correct"
    )
    found = list(rows[:1])
    return found[0] if found else (0, 0)


def blocks_active_on(*, project_id: int | OuterRef) -> QuerySet[Block]:
    """The active blocks that hold on the project: its own, its owner's blocks (a requester's,
    on all their projects) and the account-wide ones, the account-wide first, then the
    owner's (what the worker is told). Indexes block_one_active, block_one_active_for_requester
    and block_one_active_everywhere; the owner is one probe of the project's primary key."""
    from apps.tasks.models import Project

    inner = OuterRef(project_id) if isinstance(project_id, OuterRef) else project_id
    owner = Project.objects.filter(pk=inner).values("owner_id")[:1]
    everywhere = Q(project__isnull=True, requester__isnull=True)
    return Block.objects.filter(
        Q(project_id=project_id) | everywhere | Q(requester_id=Subquery(owner)),
        lifted_at__isnull=True,
    ).order_by(
        F("project_id").asc(nulls_first=True), F("requester_id").asc(nulls_first=True), "-id"
    )


def blocked_worker_ids(*, project: Project) -> QuerySet:
    """Ids of the workers blocked on the project now, there or everywhere (a subquery;
    evaluate with list())."""
    return blocks_active_on(project_id=project.pk).order_by().values("worker_id")


def projects_worked(*, worker: User, owner: User | None = None) -> list[int]:
    """Ids of the projects (of `owner`, when given) the worker has taken tasks on (so answers
    or leases), in order."""
    from apps.tasks.models import Assignment

    taken = Assignment.objects.filter(worker=worker).order_by("project_id")
    if owner is not None:
        taken = taken.filter(project__owner=owner)
    return list(taken.values_list("project_id", flat=True).distinct())


def block_active(*, worker: User, project: Project) -> Block | None:
    """The worker's active block on the project or everywhere, if any (the claim refuses
    them)."""
    return blocks_active_on(project_id=project.pk).filter(worker=worker).first()


def requester_blocks(*, requester: User) -> QuerySet[Block]:
    """The requester's active blocks on all their projects (one per worker), oldest first:
    index block_one_active_for_requester."""
    return Block.objects.filter(requester=requester, lifted_at__isnull=True).order_by("pk")


def worker_stats_list_for_project(*, project: Project) -> QuerySet[WorkerStats]:
    """A project's workers with their stats, best first, each annotated with `blocked_reason`
    (the active block's reason or None). Scope the project to its owner before calling."""
    active = blocks_active_on(project_id=OuterRef("project")).filter(worker=OuterRef("worker"))
    return (
        WorkerStats.objects.filter(project=project)
        .select_related("worker")
        .annotate(blocked_reason=Subquery(active.values("reason")[:1]))
        .order_by("-skill", "worker_id")
    )


def worker_stats_list_for_worker(*, worker: User) -> QuerySet[WorkerStats]:
    """The worker's own stats on each project, each annotated with `blocked_automatic` (None
    when not blocked), `blocked_by_requester` (the block that holds first is the project
    owner's, whose reason the worker is not told) and `blocked_by_admin_reason`: the worker is
    told `block_notice`."""
    active = blocks_active_on(project_id=OuterRef("project")).filter(worker=OuterRef("worker"))
    by_hand = active.filter(automatic=False, requester__isnull=True)
    return (
        WorkerStats.objects.filter(worker=worker)
        .select_related("project")
        .annotate(
            blocked_automatic=Subquery(active.values("automatic")[:1]),
            blocked_by_requester=Subquery(active.values("requester_id")[:1]),
            blocked_by_admin_reason=Subquery(by_hand.values("reason")[:1]),
        )
        .order_by("project_id")
    )


def block_check_schedule() -> str:
    """When block checks come, in words (reliability.check_schedule)."""
    return check_schedule(every=settings.BLOCK_CHECK_EVERY, lead=settings.BLOCK_CHECK_LEAD)


REQUESTER_BLOCK_NOTICE = "You are blocked from this requester's projects."


def block_notice(
    *, automatic: bool, reason: str = "", everywhere: bool = False, by_requester: bool = False
) -> str:
    """What a blocked worker is told. Never an automatic block's reason: it names gold answers
    and accuracy ("Failed gold: 3 of 5 correct"), and which rule caught them would say whether
    gold did. An admin's block carries the admin's `reason`, written for the worker; a
    requester's block on all their projects does not (the MTurk API's CreateWorkerBlock: its
    reason is the requester's note, which the worker does not see)."""
    if everywhere:  # only ever by hand, with a reason
        return f"You are blocked on every project by an administrator: {reason}"
    if by_requester:
        return REQUESTER_BLOCK_NOTICE
    if automatic:
        return (
            "You are blocked on this project: your answers did not meet its quality rules "
            f"(checked {block_check_schedule()})."
        )
    if reason:
        return f"You are blocked on this project by an administrator: {reason}"
    return "You are blocked on this project by an administrator."


def block_notice_probed(
    *,
    automatic: bool | None,
    reason: str | None,
    everywhere_reason: str | None,
    by_requester: bool = False,
) -> str | None:
    """block_notice from the raw probes of the claim and the submit (the project's active
    block's `automatic` and `reason`, the account-wide block's reason, whether the project's
    owner blocked the worker); None when none holds."""
    if everywhere_reason is not None:
        return block_notice(automatic=False, reason=everywhere_reason, everywhere=True)
    if by_requester:
        return REQUESTER_BLOCK_NOTICE
    if automatic is None:
        return None
    return block_notice(automatic=bool(automatic), reason=reason or "")


@dataclass(frozen=True)
class BlockNotices:
    """What the worker is told of each of their active blocks: the account-wide one, those of
    requesters (by requester id) and those of single projects (by project id)."""

    everywhere: str | None
    by_requester: dict[int, str]
    by_project: dict[int, str]

    def on(self, project: Project) -> str | None:
        """The notice for a project, the widest block first; None when it is not blocked."""
        return (
            self.everywhere
            or self.by_requester.get(project.owner_id)
            or self.by_project.get(project.pk)
        )


def block_notices_for_worker(*, worker: User) -> BlockNotices:
    """What the worker is told of each active block (block_notice). One query."""
    rows = Block.objects.filter(worker=worker, lifted_at__isnull=True).values_list(
        "project_id", "requester_id", "automatic", "reason"
    )
    everywhere, by_requester, by_project = None, {}, {}
    for project_id, requester_id, automatic, reason in rows:
        if requester_id is not None:
            by_requester[requester_id] = REQUESTER_BLOCK_NOTICE
        elif project_id is None:
            everywhere = block_notice(automatic=False, reason=reason, everywhere=True)
        else:
            by_project[project_id] = block_notice(automatic=automatic, reason=reason)
    return BlockNotices(everywhere=everywhere, by_requester=by_requester, by_project=by_project)


# --- Ledger ----------------------------------------------------------------------------------

ZERO = Decimal("0")


def _money_sum(expression: str | F) -> Coalesce:
    """SUM(expression) as money, 0 over no rows."""
    return Coalesce(
        Sum(expression), ZERO, output_field=DecimalField(max_digits=18, decimal_places=4)
    )


def _totals(entries: QuerySet) -> dict[str, Any]:
    """Conditional sums over ledger entries: credits, bonuses, reversals, answers credited."""
    kind = LedgerEntry.Kind
    money = DecimalField(max_digits=18, decimal_places=4)
    return {
        "credits": Coalesce(Sum("amount", filter=Q(kind=kind.CREDIT)), ZERO, output_field=money),
        "bonuses": Coalesce(Sum("amount", filter=Q(kind=kind.BONUS)), ZERO, output_field=money),
        "reversals": Coalesce(
            Sum("amount", filter=Q(kind=kind.REVERSAL)), ZERO, output_field=money
        ),
        "answers": Count("pk", filter=Q(kind=kind.CREDIT)),
        "rejected": Count("pk", filter=Q(kind=kind.REVERSAL)),
    }


def _with_amount(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "amount": row["credits"] + row["bonuses"] - row["reversals"]}


def project_spend(*, project: Project) -> dict[str, Any]:
    """A project's totals: credits, bonuses, reversals, answers, rejected, amount (= spend).
    One query. Scope the project to its owner before calling."""
    entries = LedgerEntry.objects.filter(project=project)
    return _with_amount(entries.aggregate(**_totals(entries)))


def project_spend_per_worker(*, project: Project) -> list[dict[str, Any]]:
    """Per worker on the project: worker id and username, and the totals above. One query."""
    rows = (
        LedgerEntry.objects.filter(project=project)
        .values("worker_id", "worker__username")
        .annotate(**_totals(LedgerEntry.objects.none()))
        .order_by("worker_id")
    )
    return [_with_amount(row) for row in rows]


def ledger_totals_by_worker(
    *, project_id: int, worker_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per worker of `worker_ids` on the project: credits, bonuses, reversals, answers
    (credited), rejected (reversed), each quantized to the ledger's places. One query."""
    rows = (
        LedgerEntry.objects.filter(project_id=project_id, worker_id__in=worker_ids)
        .values("worker_id")
        .annotate(**_totals(LedgerEntry.objects.none()))
        .order_by()
    )
    money = ("credits", "bonuses", "reversals")
    return {
        row.pop("worker_id"): {k: _money(v) if k in money else v for k, v in row.items()}
        for row in rows
    }


def worker_earnings(*, worker: User, visible: Q | None = None) -> list[dict[str, Any]]:
    """Per project: my credited answers, reward per answer, bonuses, reversals and amount.
    Gold answers are paid like the rest, or the total would tell which tasks were gold.
    With `visible` (a condition on the entry's project), each row says whether it holds
    (`visible`), in the same query. One query."""
    rows = _with_visible(LedgerEntry.objects.filter(worker=worker), visible)
    rows = (
        rows.values("project_id", "project__name", "project__reward_per_answer", "visible")
        .annotate(**_totals(LedgerEntry.objects.none()))
        .order_by("project_id")
    )
    return [
        {
            "project": {"id": row["project_id"], "name": row["project__name"]},
            "reward_per_answer": row["project__reward_per_answer"],
            **_with_amount(row),
        }
        for row in rows
    ]


def _with_visible(entries: QuerySet, visible: Q | None) -> QuerySet:
    condition = Value(True) if visible is None else ExpressionWrapper(visible, BooleanField())
    return entries.annotate(visible=condition)


NOTES_SHOWN = 50


def worker_ledger_notes(*, worker: User, visible: Q | None = None) -> list[dict[str, Any]]:
    """The admins' bonuses and rejections for the worker, newest first (at most NOTES_SHOWN):
    kind, project name, reason, amount, answers and `at`. Each bonus is a row; a project's
    reversals with one reason are one row (one rejection, or several with the same reason).
    `visible` as in worker_earnings. One query."""
    kind = LedgerEntry.Kind
    entries = LedgerEntry.objects.filter(worker=worker, kind__in=[kind.BONUS, kind.REVERSAL])
    rows = (
        _with_visible(entries, visible)
        .annotate(bonus_id=Case(When(kind=kind.BONUS, then=F("pk"))))
        .values("kind", "project_id", "project__name", "visible", "reason", "bonus_id")
        .annotate(amount=Sum("amount"), answers=Count("answer_id"), at=Max("created_at"))
        .order_by("-at", "kind")[:NOTES_SHOWN]
    )
    return list(rows)


MONEY_PLACES = Decimal("0.0001")  # LedgerEntry.amount's decimal places


def signed_sum() -> Coalesce:
    """Credits + bonuses - reversals, as one SUM."""
    money = DecimalField(max_digits=18, decimal_places=4)
    signed = Case(
        When(kind=LedgerEntry.Kind.REVERSAL, then=-F("amount")),
        default=F("amount"),
        output_field=money,
    )
    return Coalesce(Sum(signed), ZERO, output_field=money)


def spend_on_discarded(*, project: Project) -> Decimal:
    """What the ledger paid (credits + bonuses - reversals) for the project's answers that no
    longer count: a block discards a worker's answers but they stay paid until rejected."""
    entries = LedgerEntry.objects.filter(project=project, answer__discarded_at__isnull=False)
    return _money(entries.aggregate(total=signed_sum())["total"])


def _money(amount: Decimal) -> Decimal:
    # SQLite sums decimals as floats: 0.05 comes back as 0.0500000000000000.
    return amount.quantize(MONEY_PLACES)


def ledger_spend(*, project: Project) -> tuple[Decimal, int]:
    """(spend, entries after the checkpoint): the checkpoint plus a sum over the entries after
    it (index ledger_project_tail), so the cost follows the tail, not the project's history.
    Two queries."""
    checkpoint = (
        LedgerCheckpoint.objects.filter(project=project).values_list("upto_id", "amount").first()
    )
    upto, amount = checkpoint or (0, ZERO)
    tail = LedgerEntry.objects.filter(project=project, pk__gt=upto).aggregate(
        total=signed_sum(), n=Count("pk")
    )
    return _money(amount + tail["total"]), tail["n"]


def _live_leases(project: Project) -> int:
    from apps.tasks.models import Assignment

    return Assignment.objects.filter(
        project=project, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
    ).count()


def ledger_committed(*, project: Project) -> tuple[Decimal, int]:
    """(spend plus the reward owed if every live lease is answered, entries after the
    checkpoint). Three queries."""
    spend, tail = ledger_spend(project=project)
    return spend + _live_leases(project) * project.reward_per_answer, tail


@dataclass(frozen=True)
class Balance:
    """A requester's prepaid funds: `deposited` (paid in, Deposit rows) less `spent` (what the
    ledger owes workers on the requester's projects: credits + bonuses - reversals) is what is
    left; `on_hold` of it is what is promised and not paid yet (requester_balance says what),
    and `available` the rest: what a new HIT, more assignments or a bonus may spend. Negative
    when native projects without a budget spent past the deposits (they need no deposit)."""

    deposited: Decimal
    spent: Decimal
    on_hold: Decimal

    @property
    def available(self) -> Decimal:
        return self.deposited - self.spent - self.on_hold


def requester_balance(*, requester: User, now: datetime | None = None) -> Balance:
    """Deposits, the ledger's spend and what is on hold, each summed from its rows (no
    counter). On hold, the reward of every slot that may still become a paid answer:

    - each open slot of a live MTurk HIT (open, not past its expiry): MaxAssignments less
      its submitted assignments, its live leases included (`_live_hit_slots`);
    - each live lease on any other HIT (a native project's, or an expired MTurk HIT's, whose
      worker may still submit until their deadline);
    - each MTurk assignment submitted and not yet approved or rejected.

    A deleted HIT holds nothing (only a Reviewable HIT is deleted: expired or full). Six
    aggregates, each on an index of its rows; the ledger sum grows with the requester's history
    (a per-requester checkpoint, as the budget check has per project, when it matters)."""
    from apps.tasks.models import Assignment

    now = now or timezone.now()
    deposited = Deposit.objects.filter(requester=requester).aggregate(total=_money_sum("amount"))[
        "total"
    ]
    spent = LedgerEntry.objects.filter(project__owner=requester).aggregate(total=signed_sum())[
        "total"
    ]
    reward = _money_sum("project__reward_per_answer")
    # Leases on live MTurk HITs are among those HITs' open slots: not counted twice.
    leases = Assignment.objects.filter(
        project__owner=requester, state=Assignment.State.LEASED, lease_expires_at__gt=now
    ).exclude(hit__state="open", hit__expires_at__gt=now)
    # The MTurk face of a submitted assignment (apps.mturk.models.MturkAssignment), by name:
    # the workers app does not import the mturk app.
    awaiting_review = Assignment.objects.filter(project__owner=requester, mturk__status="Submitted")
    on_hold = (
        _live_hit_slots(requester, now)
        + leases.aggregate(total=reward)["total"]
        + awaiting_review.aggregate(total=reward)["total"]
    )
    return Balance(deposited=_money(deposited), spent=_money(spent), on_hold=_money(on_hold))


def _live_hit_slots(requester: User, now: datetime) -> Decimal:
    """The reward of every open slot of the requester's live MTurk HITs: open (not full, not
    expired by the sweep: tasks.HIT.state) and not past their expiry (the sweep runs each
    minute). Their MaxAssignments (index hit_open_expiring) less their submitted MTurk
    assignments (by HIT, assignment_hit_worker_unique), both weighted by the reward."""
    from apps.tasks.models import HIT, Assignment

    live = {"state": "open", "expires_at__gt": now}
    slots = F("answers_wanted") * F("project__reward_per_answer")
    wanted = HIT.objects.filter(project__owner=requester, **live).aggregate(
        total=_money_sum(slots)
    )["total"]
    used = Assignment.objects.filter(
        project__owner=requester,
        mturk__isnull=False,
        **{f"hit__{name}": value for name, value in live.items()},
    ).aggregate(total=_money_sum("project__reward_per_answer"))
    return wanted - used["total"]


def budget_status(*, project: Project) -> dict[str, Any]:
    """budget (None = unlimited), spend, remaining and exhausted for a project. Exhausted: one
    more lease could take committed spend (spend + live leases' rewards) past the budget."""
    spend, _ = ledger_spend(project=project)
    if project.budget is None:
        return {"budget": None, "spend": spend, "remaining": None, "exhausted": False}
    committed = spend + _live_leases(project) * project.reward_per_answer
    return {
        "budget": project.budget,
        "spend": spend,
        "remaining": max(project.budget - committed, ZERO),
        "exhausted": committed + project.reward_per_answer > project.budget,
    }


def worker_stats_values(*, project: Project) -> dict[int, dict[str, Any]]:
    """The stored stats of the project's workers by worker id, each confusion matrix as a
    flat array, for the consensus run to skip rewriting unchanged rows. Read straight from the
    driver (Django would json.loads each matrix into nested lists)."""
    names = ["answers", "gold_answers", "gold_correct", "skill", "skill_low", "skill_high"]
    names += ["spam_score", "spam_score_low", "spam_score_high", "agreement", "median_seconds"]
    names += ["gold_check_gold"]
    rows = WorkerStats.objects.filter(project=project).values_list("worker_id", *names, "confusion")
    return {
        row[0]: dict(zip(names, row[1:-1], strict=True)) | {"confusion": _numbers(row[-1])}
        for row in fetch_rows(rows)
    }


def _numbers(text: str | None) -> np.ndarray | None:
    """A JSON array of numbers (nested or not) as a flat float array, read by NumPy's C parser:
    json.loads of 1,000 matrices of 10 x 10 took ~0.2 s on the shared machine."""
    if text is None:
        return None
    return np.fromstring(text.replace("[", " ").replace("]", " "), sep=",")
