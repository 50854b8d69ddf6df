"""Workers take tasks: claim a lease on a HIT, submit an answer, skip, let leases expire.

The contract, as Mechanical Turk kept it:
- a worker never gets the same HIT twice (unique (hit, worker); skipped and expired count);
- a HIT never has more live plus submitted assignments than `answers_wanted` (gold excepted);
- an expired lease gives its slot back;
- a worker holds at most one live lease per project (asking again returns the same one).
- gold is mixed into a worker's real work, never served alone (the qualification test aside).

`HIT.slots_taken` is bumped by the claim statement itself and recomputed from the assignment
rows whenever a slot comes back, so it cannot drift the way signal-kept counters do.

Lock order everywhere: assignment row, then HIT row. The claim SKIP LOCKs HITs, so it never
waits on a submit, skip or expiry; only when that found nothing does its last attempt wait
(CLAIM_LOCK_WAIT at most) for HITs held by others, so that locked never reads as empty.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.models.services import pace_if_stalled, suggestion_of
from apps.panels.errors import PanelQuotaReached
from apps.tasks import sql
from apps.tasks.errors import (
    AnswerConflict,
    GuidelineNotAcknowledged,
    LeaseExpired,
    NotQualified,
    ProjectClosed,
    QualificationUnavailable,
    TaskClosed,
)
from apps.tasks.models import HIT, Answer, Assignment, Item, Project
from apps.tasks.selectors.assignments import (
    ClaimContext,
    answers_given_count,
    claim_context_of,
    project_list_open_to_worker,
)
from apps.tasks.services.answers import answer_committed
from apps.workers.errors import BudgetSpent
from apps.workers.ledger import budget_check, budget_locked, ledger_credit_answer
from apps.workers.models import Qualification, User
from apps.workers.reliability import TRUSTED_GOLD_FRACTION, gold_bar, gold_share_for
from apps.workers.selectors import (
    block_notice_probed,
    qualification_get,
    worker_gold_counts,
)
from apps.workers.services import qualification_record, qualification_start
from hitlcrowd.errors import InvalidInput, NotFound
from hitlcrowd.locking import hold_worker
from hitlcrowd.rawrows import insert_row, update_row

CLAIM_RETRIES = 3
# The claim's last attempt waits this long for HITs another transaction holds (a re-score
# batch, a consensus run's write, a submit) rather than answer "nothing" while they are open:
# finding 17 of issue 13, a 204 with 76 tasks open during a re-score. Only when the
# skip-locked attempts found nothing, so the common claim never waits.
CLAIM_LOCK_WAIT = "2s"
LOCK_NOT_AVAILABLE = "55P03"
EXPIRE_BATCH = 1000
MAX_REASON_LENGTH = 500
MAX_SECONDS_SPENT = 7 * 24 * 3600


# --- Claim ---------------------------------------------------------------------------------


def assignment_claim(
    *, worker: User, project: Project | None = None, context: ClaimContext | None = None
) -> Assignment | None:
    """The worker's live lease on `project`, or a new one; None when there is nothing to do.

    `context`: the project as project_get_open_for_claim read it for this worker, in place of
    `project` (it saves reading it again). Without either: any live lease, else the first open
    project with work. Raises NotQualified (403) when the worker failed the project's
    qualification test, QualificationUnavailable (409) when the test has no task left for
    them, ProjectClosed (409) when the project is closed, BudgetSpent (409) when its budget is
    spent, GuidelineNotAcknowledged (409) when the worker has not acknowledged the current
    guideline (without a project: only when no other project had a task), PanelQuotaReached
    (409) when a panel participant gave their link's quota of answers on the project or is
    done there.
    """
    if context is not None:
        return _claim_in_project(worker, context)
    if project is not None:
        return _claim_in_project(worker, claim_context_of(worker=worker, project=project))
    live = _live_lease(worker, project=None)
    if live is not None:
        return live
    unread = None
    for candidate in project_list_open_to_worker(worker=worker):
        try:
            context = claim_context_of(worker=worker, project=candidate)
            assignment = _claim_in_project(worker, context)
        except (NotQualified, BudgetSpent, QualificationUnavailable, PanelQuotaReached):
            continue
        except GuidelineNotAcknowledged as exc:
            unread = unread or exc
            continue
        if assignment is not None:
            return assignment
    if unread is not None:
        raise unread
    return None


def _claim_in_project(worker: User, context: ClaimContext) -> Assignment | None:
    project = context.project
    if not project.is_open:
        raise ProjectClosed()
    if context.block_notice is not None:
        raise NotQualified(context.block_notice)
    if context.panel_quota is not None:
        _check_panel_quota(worker, project, context.panel_quota)
    if context.unread_guideline is not None:
        live = _live_lease(worker, project)  # a task already taken may still be answered
        if live is None:
            raise GuidelineNotAcknowledged(project.pk, context.unread_guideline)
        return live
    if project.budget is not None:
        live = _live_lease(worker, project)
        if live is not None:
            return live
        # BudgetSpent (409): HITs stay open but are not served.
        if budget_check(project=project):
            with budget_locked(project=project):
                return _claim_with_retries(worker, context)
    return _claim_with_retries(worker, context)


def _check_panel_quota(worker: User, project: Project, quota: int) -> None:
    """A panel participant gets tasks until they gave their link's quota of answers here
    (or were given their outcome: quota 0). One lease at a time per project
    (assignment_one_live_lease) and this count before each claim keep them at the quota: a
    live lease is one answer still to come."""
    if quota <= 0 or answers_given_count(worker=worker, project=project) >= quota:
        raise PanelQuotaReached()


def _claim_with_retries(worker: User, context: ClaimContext) -> Assignment | None:
    project = context.project
    assignment = _claim_attempts(worker, context)
    if assignment is None and pace_if_stalled(project=project):
        assignment = _claim_attempts(worker, context)  # the pacing opened the next items
    if assignment is None:
        _raise_if_test_stuck(worker, project)
    return assignment


def _claim_attempts(worker: User, context: ClaimContext) -> Assignment | None:
    project = context.project
    swept = False
    for _ in range(CLAIM_RETRIES):
        try:
            with transaction.atomic():
                # After the sweep, wait for locked HITs: "all locked" is not "empty".
                assignment = _claim_once(worker, context, wait=swept)
        except IntegrityError:
            # A concurrent request of the same worker took a lease first (one live lease per
            # project), or the worker's own lease ran out but is still marked leased: the
            # next round returns that lease or, after the sweep, takes another HIT.
            assignment = None
        except OperationalError as exc:
            if not _lock_wait_ended(exc):
                raise
            return None  # the HITs stayed locked past CLAIM_LOCK_WAIT: nothing now
        else:
            if assignment is not None or swept:
                return assignment
        if not swept:
            # Lazy expiry: only when no free slot was found, so the common claim stays cheap.
            assignment_expire_due(project=project)
            swept = True
    return _live_lease(worker, project)


def _raise_if_test_stuck(worker: User, project: Project) -> None:
    if project.qualification_size == 0:
        return
    qualification = qualification_get(worker=worker, project=project)
    if qualification is not None and qualification.state == Qualification.State.TESTING:
        raise QualificationUnavailable(
            needed=project.qualification_size, answered=qualification.answered
        )


class Pool(StrEnum):
    """Where a claim looks for a HIT."""

    REAL = "real"
    GOLD = "gold"  # gold mixed into real work: only while the worker has real work left
    TEST = "test"  # the qualification test: gold alone


def _lock_wait_ended(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _claim_once(worker: User, context: ClaimContext, wait: bool = False) -> Assignment | None:
    # The claim takes nothing while the worker holds a lease here (it checks that itself), so
    # the common case, no live lease, costs no separate look-up.
    project = context.project
    for pool in _gold_plan(worker, project):
        assignment = _take_slot(worker, project, pool, wait)
        if assignment is not None:
            return _record_pre_annotation(assignment, context)
    return _live_lease(worker, project)


def _record_pre_annotation(assignment: Assignment, context: ClaimContext) -> Assignment:
    """Record on the new lease, in the claim's transaction, whether the project pre-annotates
    and whether this task shows the model's suggestion: the task and its answer read these,
    so the option turned on or off later changes neither. One UPDATE, on such projects only."""
    if context.pre_annotation:
        assignment.pre_annotated = True
        assignment.suggestion_shown = suggestion_of(item=assignment.hit.item) is not None
        update_row(assignment, "pre_annotated", "suggestion_shown")
    return assignment


def _gold_plan(worker: User, project: Project) -> list[Pool]:
    """Which pools to try, in order: the test's gold alone while testing, else gold first
    with the worker's gold share (_gold_first), then real work.

    A gold claim succeeds only while real work is left for the worker (apps.tasks.sql), so
    when it runs out the worker gets 204, as on a project without gold: whether a task comes
    depends on the real work only, never on which tasks are gold."""
    if project.qualification_size > 0:
        qualification = qualification_get(worker=worker, project=project)
        if qualification is None:
            qualification = qualification_start(worker=worker, project=project)
        if qualification.state == Qualification.State.FAILED:
            raise NotQualified(_failed_reason(project))
        if qualification.state == Qualification.State.TESTING:
            return [Pool.TEST]
    return [Pool.GOLD, Pool.REAL] if _gold_first(worker, project) else [Pool.REAL]


def _gold_first(worker: User, project: Project) -> bool:
    """One draw against the worker's gold share: the project's gold_share until the worker's
    gold clears the bar, then TRUSTED_GOLD_FRACTION of it (reliability.gold_share_for).

    The worker's gold counts (one row by a unique index, written by the consensus run) are
    read only for a draw between the two shares, about 7.5% of claims at the default share."""
    share = project.gold_share
    if share <= 0:
        return False
    draw = random.random()
    if draw >= share:
        return False
    if draw < share * TRUSTED_GOLD_FRACTION:
        return True
    gold_answers, gold_correct = worker_gold_counts(worker=worker, project=project)
    bar = gold_bar(
        gold_accuracy=project.block_gold_accuracy,
        below_skill=project.block_below_skill,
        labels=len(project.labels),
    )
    share_now = gold_share_for(
        share=share, gold_answers=gold_answers, gold_correct=gold_correct, bar=bar
    )
    return draw < share_now


def _failed_reason(project: Project) -> str:
    # Pass or fail only, never the score: the test is the same gold items in the same order
    # for every worker, so scores from a few accounts answering differently give the labels.
    return (
        "You did not pass this project's qualification test "
        f"({project.qualification_pass_rate:.0%} of its {project.qualification_size} test "
        "tasks right is needed), so this project has no tasks for you."
    )


def _take_slot(worker: User, project: Project, pool: Pool, wait: bool = False) -> Assignment | None:
    """Take a slot; with `wait`, wait (up to CLAIM_LOCK_WAIT) for HITs other transactions
    hold instead of skipping them."""
    now = timezone.now()
    claim = {
        "worker": worker,
        "project": project,
        "gold": pool != Pool.REAL,
        "real_left": pool == Pool.GOLD,
        "now": now,
        "expires": now + timedelta(seconds=project.lease_seconds),
    }
    if connection.vendor != "postgresql":
        assignment_id = sql.claim_take_portable(**claim)
        return None if assignment_id is None else _load(assignment_id, project)
    return sql.claim_take(**claim, wait=wait, lock_wait=CLAIM_LOCK_WAIT)


def claim_sql(pool: Pool = Pool.REAL, *, wait: bool = False) -> str:
    """The PostgreSQL claim statement for `pool` (apps.tasks.sql.claim_sql; bench/assign.py
    explains and replays it)."""
    return sql.claim_sql(real_left=pool == Pool.GOLD, wait=wait)


def _live_lease(worker: User, project: Project | None) -> Assignment | None:
    leases = Assignment.objects.filter(
        worker=worker, state=Assignment.State.LEASED, lease_expires_at__gt=timezone.now()
    )
    if project is not None:
        leases = leases.filter(project=project)
    lease = leases.order_by("leased_at", "id").values_list("pk", flat=True).first()
    return _load(lease, project) if lease is not None else None


def _load(assignment_id: int, project: Project | None = None) -> Assignment:
    """The assignment with its HIT, item and guideline; with `project`, that instance is
    attached (keeping its annotations) instead of being loaded again."""
    if project is None:
        return Assignment.objects.select_related("hit__item", "project", "guideline_version").get(
            pk=assignment_id
        )
    assignment = Assignment.objects.select_related("hit__item", "guideline_version").get(
        pk=assignment_id, project=project
    )
    assignment.project = project
    return assignment


# --- Submit and skip -------------------------------------------------------------------------


def assignment_submit(
    *, worker: User, assignment_id: int, label: str, seconds_spent: float
) -> Answer:
    """Record the worker's answer. The same submission again returns the first answer with
    `answer.replayed = True`; another label on an answered assignment is AnswerConflict (409);
    after the lease expired, LeaseExpired (410); after its item was settled by a person
    (services/items.py), TaskClosed (410: no answer, no pay); someone else's assignment,
    NotFound (404). A worker blocked on the project meanwhile is refused (NotQualified, 403, with
    `block_notice`): no answer, no pay, and the lease ends, giving its slot back."""
    seconds = _check_seconds(seconds_spent)
    with transaction.atomic():
        assignment, notice = _lock_own(worker, assignment_id)
        if notice is None:
            answer = _submit_locked(worker, assignment, label, seconds)
    if notice is not None:
        _refuse_blocked(worker, assignment, notice)
    if answer is None:  # the lease was closed in the committed transaction above
        raise TaskClosed()
    return answer


def _submit_locked(
    worker: User, assignment: Assignment, label: str, seconds: float
) -> Answer | None:
    _check_label(assignment.project, label)
    existing = _answer_of(assignment)
    if existing is not None:
        if existing.label != label:
            raise AnswerConflict(
                f"This task was already answered with {existing.label!r}; "
                "an answer cannot be changed."
            )
        existing.replayed = True
        return existing
    _check_live(assignment, "submit")
    answer = _record_answer(worker, assignment, label, seconds)
    if answer is not None:
        answer.replayed = False
    return answer


def _refuse_blocked(worker: User, assignment: Assignment, notice: str) -> NoReturn:
    """End the blocked worker's leases on the project (and discard what still counts of theirs)
    in a committed step of its own, then refuse: raising inside the submit's transaction
    would have rolled the lease's end back."""
    from apps.tasks.services.discard import answers_discard  # it imports hit_slots_recount

    reason = Answer.DiscardReason.BLOCKED
    answers_discard(project_id=assignment.project_id, worker_ids=[worker.pk], reason=reason)
    raise NotQualified(notice)


# Items settled by a person (services/items.py closes their HIT): a lease taken on the HIT
# just before it closed is refused.
SETTLED_BY_HAND = frozenset({Item.State.RESOLVED, Item.State.AMBIGUOUS})


def _record_answer(
    worker: User, assignment: Assignment, label: str, seconds: float
) -> Answer | None:
    """The answer, or None when its item was settled meanwhile (the lease is closed)."""
    now = timezone.now()
    hit = sql.hit_locked(assignment.hit_id)
    if hit.state != HIT.State.OPEN and hit.item.state in SETTLED_BY_HAND:
        assignment.state, assignment.finished_at = Assignment.State.CLOSED, now
        update_row(assignment, "state", "finished_at")
        hit_slots_recount(hit_ids=[hit.pk])
        return None
    assignment.state = Assignment.State.SUBMITTED
    assignment.finished_at = now
    update_row(assignment, "state", "finished_at")
    # Raw INSERTs (rawrows): the ORM's create() compiled each on every submit.
    answer = insert_row(
        Answer,
        assignment_id=assignment.pk,
        item_id=hit.item_id,
        project_id=assignment.project_id,
        worker_id=worker.pk,
        label=label,
        guideline_version_id=assignment.guideline_version_id,
        seconds_spent=seconds,
        suggestion_shown=assignment.suggestion_shown,  # as recorded when handed out
        superseded_by_id=None,
        discarded_at=None,
        discard_reason="",
        created_at=now,
    )
    answer.project = assignment.project
    answer.guideline_version = assignment.guideline_version
    ledger_credit_answer(answer=answer, project=assignment.project)
    if hit.is_gold:
        _score_qualification(worker, assignment.project)
    else:
        _close_if_answered(hit)
    project_id, item_id = assignment.project_id, hit.item_id
    transaction.on_commit(lambda: answer_committed(project_id=project_id, item_id=item_id))
    return answer


def _close_if_answered(hit: HIT) -> None:
    # slots_taken (live + submitted, read under the HIT lock) bounds the submitted count:
    # below answers_wanted the HIT cannot be complete yet, so most submits skip the count.
    if hit.state != HIT.State.OPEN or hit.slots_taken < hit.answers_wanted:
        return
    # Raw and prepared (apps.tasks.sql), as the rest of the submit.
    if sql.hit_submitted_count(hit.pk) >= hit.answers_wanted:
        hit.state, hit.updated_at = HIT.State.DONE, timezone.now()
        update_row(hit, "state", "updated_at")


def assignment_skip(*, worker: User, assignment_id: int, reason: str = "") -> Assignment:
    """Give the slot back; this worker is never offered the HIT again. Skipping twice is a
    no-op; skipping a submitted assignment is AnswerConflict (409)."""
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput.field(
            "reason", f"Give a reason of at most {MAX_REASON_LENGTH} characters."
        )
    with transaction.atomic():
        assignment, notice = _lock_own(worker, assignment_id)
        if notice is None:
            _skip_locked(assignment, reason)
    if notice is not None:
        _refuse_blocked(worker, assignment, notice)
    return _load(assignment.pk)


def _skip_locked(assignment: Assignment, reason: str) -> None:
    if assignment.state == Assignment.State.SKIPPED:
        return
    if assignment.state == Assignment.State.SUBMITTED:
        raise AnswerConflict("This task was already answered; it cannot be skipped.")
    _check_live(assignment, "skip")
    assignment.state = Assignment.State.SKIPPED
    assignment.finished_at = timezone.now()
    assignment.skip_reason = reason.strip()
    update_row(assignment, "state", "finished_at", "skip_reason")
    hit_slots_recount(hit_ids=[assignment.hit_id])


def _lock_own(worker: User, assignment_id: int) -> tuple[Assignment, str | None]:
    """The worker's assignment, locked, with its project and guideline version, and what the
    worker is told when blocked on the project now (`block_notice`, else None). One raw
    query: the ORM's select_related compiled ~1 ms of CPU on every submit. NotFound when the
    assignment is not the worker's. The worker's row is held first (hitlcrowd.locking
    `hold_worker`): a block being written commits before the probe reads it, not after the
    answer is paid."""
    hold_worker(worker.pk)
    found = sql.assignment_locked_row(assignment_id=assignment_id, worker_id=worker.pk)
    if found is None:
        raise NotFound("No such assignment among yours.")
    assignment, project, guideline, extra = found
    automatic, block_reason, everywhere_reason = extra
    assignment.project = project
    assignment.guideline_version = guideline if assignment.guideline_version_id else None
    notice = block_notice_probed(
        automatic=automatic, reason=block_reason, everywhere_reason=everywhere_reason
    )
    return assignment, notice


def _answer_of(assignment: Assignment) -> Answer | None:
    # Answers are written only with the move out of `leased` (under this row's lock), so the
    # common case, a live lease, needs no look-up.
    if assignment.state == Assignment.State.LEASED:
        return None
    return Answer.objects.filter(assignment=assignment).first()


def _check_live(assignment: Assignment, verb: str) -> None:
    # Discarded: ended by a block since lifted; its slot went back as an expired one's does.
    if assignment.state in (Assignment.State.EXPIRED, Assignment.State.DISCARDED):
        raise LeaseExpired()
    if assignment.state == Assignment.State.CLOSED:
        raise TaskClosed()
    if assignment.state == Assignment.State.SKIPPED:
        raise AnswerConflict(f"You skipped this task; you cannot {verb} it now.")
    if assignment.lease_expires_at <= timezone.now():
        raise LeaseExpired()


def _check_label(project: Project, label: object) -> None:
    if not isinstance(label, str) or label not in project.labels:
        raise InvalidInput.field(
            "label", f"Pick one of the project's labels: {', '.join(project.labels)}."
        )


def _check_seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput.field("seconds_spent", "A number of seconds is needed.") from None
    if not 0 <= seconds <= MAX_SECONDS_SPENT:
        raise InvalidInput.field("seconds_spent", f"Must be between 0 and {MAX_SECONDS_SPENT}.")
    return seconds


# --- Slots and leases ------------------------------------------------------------------------


def hit_slots_recount(*, hit_ids: Iterable[int]) -> None:
    """Recompute `slots_taken` (live + submitted) from the assignment rows.

    Call it inside the transaction that changed those rows, or after changing a HIT's
    answers_wanted. Locks the HITs in id order so concurrent recounts cannot deadlock.
    """
    ids = sorted(set(hit_ids))
    if not ids:
        return
    list(HIT.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    taken = (
        Assignment.objects.filter(
            hit=OuterRef("pk"),
            state__in=[Assignment.State.LEASED, Assignment.State.SUBMITTED],
            superseded_by__isnull=True,  # answers of a re-queued HIT no longer fill it
        )
        .order_by()
        .values("hit")
        .annotate(n=Count("pk"))
        .values("n")
    )
    HIT.objects.filter(pk__in=ids, is_gold=False).update(
        slots_taken=Coalesce(Subquery(taken), Value(0)), updated_at=timezone.now()
    )


def assignment_expire_due(*, project: Project | None = None, now: datetime | None = None) -> int:
    """Expire leases past their time and give their slots back. Returns how many expired.

    Runs from the every-minute schedule (apps.tasks.jobs.expire_leases_job), the
    `expire_leases` command and lazily before each claim. Expires at most EXPIRE_BATCH per
    call; rows another sweep holds are skipped, not waited for.
    """
    now = now or timezone.now()
    due = Assignment.objects.filter(state=Assignment.State.LEASED, lease_expires_at__lte=now)
    if project is not None:
        due = due.filter(project=project)
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "hit_id")[:EXPIRE_BATCH]
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=Assignment.State.EXPIRED, finished_at=now
        )
        hit_slots_recount(hit_ids=[hit_id for _, hit_id in rows])
    return len(rows)


# --- Gold and qualification ------------------------------------------------------------------


@transaction.atomic
def item_mark_gold(*, project: Project, item_id: int, label: str) -> Item:
    """Make an item of `project` gold with its known label, and give it an open gold HIT."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("No such item in this project.")
    _check_label(project, label)
    item.is_gold = True
    item.gold_label = label
    item.save(update_fields=["is_gold", "gold_label", "updated_at"])
    hit, created = HIT.objects.get_or_create(
        item=item,
        defaults={"project": project, "answers_wanted": 1, "is_gold": True},
    )
    if not created:
        hit.is_gold = True
        hit.state = HIT.State.OPEN
        hit.slots_taken = 0
        hit.save(update_fields=["is_gold", "state", "slots_taken", "updated_at"])
    return item


def _score_qualification(worker: User, project: Project) -> None:
    """Recompute the test score from the worker's first gold answers on the project."""
    if project.qualification_size == 0:
        return
    qualification = qualification_get(worker=worker, project=project)
    if qualification is None or qualification.state != Qualification.State.TESTING:
        return
    answers = (
        Answer.objects.filter(worker=worker, project=project, item__is_gold=True)
        .order_by("created_at", "pk")
        .values_list("label", "item__gold_label")[: project.qualification_size]
    )
    pairs = list(answers)
    qualification_record(
        qualification=qualification,
        project=project,
        answered=len(pairs),
        correct=sum(1 for given, known in pairs if given == known),
    )
