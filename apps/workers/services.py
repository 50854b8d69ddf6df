"""Writes for the workers app."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.workers.ledger import AnswerChoice, clean_reason, ledger_reject_answers
from apps.workers.models import Block, Qualification, User, WorkerStats
from apps.workers.reliability import (
    GOLD_CHECK_ANSWERS,
    SPAM_CLEAR_SHARE,
    SPAM_DOUBT,
    SPAM_MIN_EVIDENCE,
    BlockRules,
    answers_block_reason,
    checkpoint_size,
    gold_block_reason,
    skill_intervals,
    spam_scores,
)
from apps.workers.selectors import projects_worked, worker_stats_values
from hitlcrowd.errors import InvalidInput, full_clean
from hitlcrowd.locking import lock_workers_for_block

if TYPE_CHECKING:
    from apps.tasks.models import Project


@transaction.atomic
def worker_identity_create(*, username: str) -> User:
    """A worker account that signs in only through a link (a panel's entry): no email, an
    unusable password. Call it inside the caller's transaction; a taken username raises
    IntegrityError (the caller draws another)."""
    return User.objects.create_user(username=username, role=User.Role.WORKER)


def qualification_start(*, worker: User, project: Project) -> Qualification:
    """The worker's test record on the project, created in state `testing` the first time."""
    qualification, _ = Qualification.objects.get_or_create(worker=worker, project=project)
    return qualification


@transaction.atomic
def qualification_record(
    *, qualification: Qualification, project: Project, answered: int, correct: int
) -> Qualification:
    """Store the score recomputed from the worker's test answers; decide once all are in."""
    qualification.answered = answered
    qualification.correct = correct
    if answered >= project.qualification_size:
        passed = correct >= project.qualification_pass_rate * answered
        qualification.state = Qualification.State.PASSED if passed else Qualification.State.FAILED
    full_clean(qualification)
    qualification.save()
    return qualification


# --- Reliability and blocking ----------------------------------------------------------------

STATS_FIELDS = [
    "answers",
    "gold_answers",
    "gold_correct",
    "skill",
    "skill_low",
    "skill_high",
    "spam_score",
    "spam_score_low",
    "spam_score_high",
    "agreement",
    "median_seconds",
    "confusion",
    "updated_at",
]


def _rules(project: Project) -> BlockRules:
    return BlockRules(
        below_spam_score=project.block_below_spam_score,
        below_skill=project.block_below_skill,
        min_answers=project.block_min_answers,
        gold_accuracy=project.block_gold_accuracy,
        min_gold=project.block_min_gold,
    )


# Stored stats are rewritten only when a value moves more than this (a warm-started run
# nudges every worker's matrix in the last digits; the 1,000-row upsert was ~0.3 s).
STATS_TOLERANCE = 1e-4
# Confusion matrices are stored to 6 digits, as posteriors are: a 10 x 10 matrix then stays
# under PostgreSQL's 2 kB TOAST threshold and half as much JSON is written.
STATS_DIGITS = 6
STATS_COUNTS = ["answers", "gold_answers", "gold_correct"]
STATS_FLOATS = ["skill", "skill_low", "skill_high", "agreement", "median_seconds"]
SPAM_FIELDS = ["spam_score", "spam_score_low", "spam_score_high"]
STATS_FLOATS += SPAM_FIELDS
# A stored spam score interval is computed again only for a worker with new answers, or whose
# score moved more than this (other workers' answers and blocks move the consensus): the
# interval costs ~1 ms per worker on 10 classes, and a run on a busy project sees few movers.
SPAM_MOVED = 0.01


@transaction.atomic
def worker_stats_store(
    *,
    project: Project,
    stats: list[dict[str, Any]],
    stored: dict[int, dict[str, Any]] | None = None,
) -> list[Block]:
    """Upsert the stats of each worker whose stats changed (one statement per batch), then
    block the workers the project's rules catch among the rows with `checked` counts (the
    workers who reached a block check in this run, `block_check_sizes`): judged on those.
    `stored` is `worker_stats_values` when the caller read it already. Returns the new blocks.
    Called by the consensus run."""
    now = timezone.now()
    _, low, high = skill_intervals(
        np.array([row["gold_correct"] for row in stats], dtype=float),
        np.array([row["gold_answers"] for row in stats], dtype=float),
        np.array([np.nan if row["skill"] is None else row["skill"] for row in stats], dtype=float),
        np.array([row["answers"] - row["gold_answers"] for row in stats], dtype=float),
    )
    if stored is None:
        stored = worker_stats_values(project=project)
    spam = _spam_columns(stats, stored)
    rows = [
        _stats_row(project, row, float(lo), float(hi), scores, now)
        for row, lo, hi, scores in zip(stats, low, high, spam, strict=True)
    ]
    changed = [row for row in rows if not _same_stats(stored.get(row.worker_id), row)]
    for row in changed:
        if row.confusion is not None:
            row.confusion = np.round(np.asarray(row.confusion, dtype=float), STATS_DIGITS).tolist()
    WorkerStats.objects.bulk_create(
        changed,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["worker", "project"],
        update_fields=STATS_FIELDS,
    )
    return _block_by_rules(project, [row for row in stats if row.get("checked")])


def block_check_sizes(
    *,
    project: Project,
    worker_ids: list[int],
    counts: list[int],
    gold: list[int],
    stored: dict[int, dict],
) -> np.ndarray:
    """Per worker, the answers a block check now covers (reliability.checkpoint_size) when
    this run is the first to see them reach it, else 0; for a worker on a gold check, all of
    their answers once GOLD_CHECK_ANSWERS more of them (`gold`) are on gold: the verdict comes
    then, not at the next checkpoint, which can be 10 answers later. `stored`:
    worker_stats_values."""
    schedule = {
        "every": settings.BLOCK_CHECK_EVERY,
        "skip": project.qualification_size,
        "lead": settings.BLOCK_CHECK_LEAD,
    }
    sizes = []
    for worker_id, count, gold_count in zip(worker_ids, counts, gold, strict=True):
        size = checkpoint_size(count, **schedule)
        before = stored.get(worker_id)
        seen = 0 if before is None else checkpoint_size(before["answers"], **schedule)
        check_gold = None if before is None else before["gold_check_gold"]
        if check_gold is not None and gold_count - check_gold >= GOLD_CHECK_ANSWERS:
            sizes.append(count)  # the verdict ends the check: this size is not seen twice
            continue
        sizes.append(size if size > seen else 0)
    return np.asarray(sizes, dtype=np.int64)


def _same_stats(stored: dict[str, Any] | None, row: WorkerStats) -> bool:
    if stored is None:
        return False
    if any(stored[name] != getattr(row, name) for name in STATS_COUNTS):
        return False
    if not all(_close(stored[name], getattr(row, name)) for name in STATS_FLOATS):
        return False
    old, new = stored["confusion"], row.confusion
    if old is None or new is None:
        return old is None and new is None
    old, new = np.ravel(old).astype(float), np.ravel(new).astype(float)
    return old.shape == new.shape and bool(np.all(np.abs(old - new) <= STATS_TOLERANCE))


def _close(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) and math.isnan(new)
    return abs(old - new) <= STATS_TOLERANCE


def _spam_columns(
    stats: list[dict[str, Any]], stored: dict[int, dict[str, Any]]
) -> list[tuple[float | None, float | None, float | None]]:
    """Per row: (spam score, low, high) from its `spam_counts`; the stored interval is kept
    while the worker gave no new answer and the score stayed within SPAM_MOVED."""
    out: list[tuple[float | None, float | None, float | None]] = []
    for row in stats:  # without counts (no new answer on a warm run): the stored score stands
        before = stored.get(row["worker_id"]) or {}
        out.append(tuple(before.get(name) for name in SPAM_FIELDS))  # type: ignore[arg-type]
    with_counts = [index for index, row in enumerate(stats) if row.get("spam_counts") is not None]
    if not with_counts:
        return out
    counts = np.stack(
        [np.asarray(stats[index]["spam_counts"], dtype=float) for index in with_counts]
    )
    scores, _, _ = spam_scores(counts, rows=[])
    due = []
    for position, index in enumerate(with_counts):
        before = stored.get(stats[index]["worker_id"])
        score = _number(scores[position])
        if _spam_kept(before, stats[index], score):
            out[index] = (score, before["spam_score_low"], before["spam_score_high"])
        else:
            due.append(position)
    if due:
        _, low, high = spam_scores(counts[due])
        for position, lo, hi in zip(due, low.tolist(), high.tolist(), strict=True):
            out[with_counts[position]] = (_number(scores[position]), _number(lo), _number(hi))
    return out


def _spam_kept(before: dict[str, Any] | None, row: dict[str, Any], score: float | None) -> bool:
    if before is None or before["answers"] != row["answers"] or score is None:
        return False
    if before["spam_score"] is None or before["spam_score_high"] is None:
        return False
    return abs(before["spam_score"] - score) <= SPAM_MOVED


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _stats_row(
    project: Project,
    row: dict[str, Any],
    low: float,
    high: float,
    spam: tuple[float | None, float | None, float | None],
    now,
) -> WorkerStats:
    return WorkerStats(
        worker_id=row["worker_id"],
        project=project,
        answers=row["answers"],
        gold_answers=row["gold_answers"],
        gold_correct=row["gold_correct"],
        skill=row["skill"],
        skill_low=low,
        skill_high=high,
        spam_score=spam[0],
        spam_score_low=spam[1],
        spam_score_high=spam[2],
        agreement=row["agreement"],
        median_seconds=row["median_seconds"],
        confusion=row["confusion"],
        updated_at=now,
    )


def _block_by_rules(project: Project, rows: list[dict[str, Any]]) -> list[Block]:
    """Blocks for the rows the rules catch, judged on each row's `checked` answers only (the
    model's skill is the current one)."""
    rules = _rules(project)
    if not rows or max(rules.below_spam_score, rules.below_skill, rules.gold_accuracy) <= 0:
        return []
    # An admin who lifted a block has the last word: no automatic block again on this project.
    # A worker blocked everywhere, or by the project's owner on all their projects, needs no
    # block here either.
    everywhere = Q(project__isnull=True, lifted_at__isnull=True) & (
        Q(requester__isnull=True) | Q(requester_id=project.owner_id)
    )
    here = Q(project=project) & (Q(lifted_at__isnull=True) | Q(lifted_by__isnull=False))
    spared = set(
        Block.objects.filter(here | everywhere)
        .filter(worker_id__in=[row["worker_id"] for row in rows])
        .values_list("worker_id", flat=True)
    )
    checked = [row["checked"] for row in rows]
    _, _, high = skill_intervals(
        np.array([done["gold_correct"] for done in checked], dtype=float),
        np.array([done["gold_answers"] for done in checked], dtype=float),
        np.array([np.nan if row["skill"] is None else row["skill"] for row in rows], dtype=float),
        np.array([done["answers"] - done["gold_answers"] for done in checked], dtype=float),
    )
    spam_scores_checked = _checked_spam(checked)
    on_check, rechecks = _checks_on(project, [row["worker_id"] for row in rows])
    blocks, starts, ends = [], [], []
    recheck_starts, recheck_ends = [], []
    for row, done, skill_high, (spam_point, spam) in zip(
        rows, checked, high.tolist(), spam_scores_checked, strict=True
    ):
        worker_id = row["worker_id"]
        if worker_id in spared:
            continue
        gold_reason = gold_block_reason(
            rules=rules, gold_answers=done["gold_answers"], gold_correct=done["gold_correct"]
        )
        reason = gold_reason or answers_block_reason(
            rules=rules, answers=done["answers"], skill_high=skill_high, spam_high=spam
        )
        if gold_reason is None:  # failed gold is direct proof: no gold check to start or wait
            doubt = reason is None and _in_doubt(project, rules, done, spam_point)
            failed = reason is not None or doubt
            step = _gold_check_step(project, worker_id, on_check, done, failed=failed)
            if step == "start":
                starts.append((worker_id, done, reason or _doubt_reason(spam_point)))
                continue
            if step == "wait":
                continue
            if step == "" and (reason is not None or worker_id in rechecks):
                look = _recheck_step(rules, done, reason, spam, rechecks.get(worker_id))
                if look == "start":
                    recheck_starts.append((worker_id, done, reason))
                    continue
                if look == "wait":
                    continue
        if worker_id in rechecks:
            recheck_ends.append(worker_id)
        if worker_id in on_check:
            ends.append(worker_id)
        if reason is not None:
            blocks.append(Block(worker_id=worker_id, project=project, reason=reason))
    blocked = {block.worker_id for block in blocks}
    _checks_set(project, starts, ends, blocked)
    _checks_set(project, recheck_starts, recheck_ends, blocked, recheck=True)
    lock_workers_for_block(block.worker_id for block in blocks)
    created = Block.objects.bulk_create(blocks)
    for block in created:  # a handful per run at most: rules block each worker once
        _audit(block, None, "worker_block", {"worker": block.worker_id, "reason": block.reason})
    return created


def _gold_check_step(
    project: Project, worker_id: int, on_check: dict[int, int], done: dict, *, failed: bool
) -> str:
    """The gold check's part in a block check (reliability.py): "start" one on a failure
    with gold left for the worker, "wait" for GOLD_CHECK_ANSWERS gold answers while gold is
    left, "end" it with this check's verdict, or "" (not on one, nothing to start)."""
    from apps.tasks.selectors.assignments import gold_left_for

    if worker_id not in on_check:
        return "start" if failed and gold_left_for(worker_id=worker_id, project=project) else ""
    gold_since = done["gold_answers"] - (on_check[worker_id] or 0)
    if gold_since < GOLD_CHECK_ANSWERS and gold_left_for(worker_id=worker_id, project=project):
        return "wait"
    return "end"


def _recheck_step(
    rules: BlockRules, done: dict, reason: str | None, spam: float | None, since: int | None
) -> str:
    """The recheck's part in a block check without gold (reliability.py): "block" on a clear
    failure of the spam rule, a failure of the skill rule (off by default; it blocks at once
    as it always did) or a failed recheck, "start" one on a first spam rule failure short of
    clear, "wait" until the first check BLOCK_CHECK_EVERY answers after it, "clear" a recheck
    passed then."""
    if reason is not None:
        if spam is None or spam >= rules.below_spam_score:
            return "block"  # the skill rule failed, not the spam rule
        if spam < rules.below_spam_score * SPAM_CLEAR_SHARE:
            return "block"  # a clear failure
    if since is None:
        return "start" if reason is not None else ""
    if done["answers"] < since + settings.BLOCK_CHECK_EVERY:
        return "wait"
    return "block" if reason is not None else "clear"


def _checks_on(project: Project, worker_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """The workers among `worker_ids` on a gold check on the project (reliability.py), with
    the gold answers each check started with; and those on a recheck, with the answers it
    started at."""
    rows = WorkerStats.objects.filter(project=project, worker_id__in=worker_ids).filter(
        Q(gold_check_at__isnull=False) | Q(recheck_at__isnull=False)
    )
    on_check, rechecks = {}, {}
    for worker_id, check_at, check_gold, recheck_at in rows.values_list(
        "worker_id", "gold_check_at", "gold_check_gold", "recheck_at"
    ):
        if check_at is not None:
            on_check[worker_id] = check_gold
        if recheck_at is not None:
            rechecks[worker_id] = recheck_at
    return on_check, rechecks


def _checks_set(
    project: Project,
    starts: list[tuple[int, dict, str]],
    ends: list[int],
    blocked: set[int],
    *,
    recheck: bool = False,
) -> None:
    """Put the `starts` workers (worker, the check's counts, the failed rule's reason) on a
    gold check, or a recheck, and take the `ends` ones off it, audited (a cleared worker; a
    blocked one has its block's event): a handful per run at most."""
    from apps.tasks.services.audit import audit_record

    action = "worker_recheck" if recheck else "worker_gold_check"
    stats = WorkerStats.objects.filter(project=project)
    for worker_id, done, reason in starts:
        answers = done["answers"]
        if recheck:
            stats.filter(worker_id=worker_id).update(recheck_at=answers)
        else:
            stats.filter(worker_id=worker_id).update(
                gold_check_at=answers, gold_check_gold=done["gold_answers"]
            )
        row = stats.get(worker_id=worker_id)
        changes = {"worker": worker_id, "answers": answers, "reason": reason}
        audit_record(project_id=project.pk, actor=None, action=action, obj=row, changes=changes)
    if not ends:
        return
    if recheck:
        stats.filter(worker_id__in=ends).update(recheck_at=None)
    else:
        stats.filter(worker_id__in=ends).update(gold_check_at=None, gold_check_gold=None)
    for row in stats.filter(worker_id__in=set(ends) - blocked).order_by("worker_id"):
        audit_record(
            project_id=project.pk,
            actor=None,
            action=f"{action}_clear",
            obj=row,
            changes={"worker": row.worker_id, "answers": row.answers},
        )


def _checked_spam(checked: list[dict[str, Any]]) -> list[tuple[float | None, float | None]]:
    """The spam score and its interval's upper bound over the answers each check covers;
    (None, None) (no verdict) below SPAM_MIN_EVIDENCE answers of evidence."""
    out: list[tuple[float | None, float | None]] = [(None, None)] * len(checked)
    due = [
        index
        for index, done in enumerate(checked)
        if done.get("spam_counts") is not None
        and float(np.sum(done["spam_counts"])) >= SPAM_MIN_EVIDENCE
    ]
    if due:
        counts = np.stack([np.asarray(checked[i]["spam_counts"], dtype=float) for i in due])
        score, _, high = spam_scores(counts)
        for index, point, top in zip(due, score.tolist(), high.tolist(), strict=True):
            out[index] = (_number(point), _number(top))
    return out


def _in_doubt(project: Project, rules: BlockRules, done: dict, spam_point: float | None) -> bool:
    """A worker the rules pass at their first check with a spam score below SPAM_DOUBT
    (reliability.py): a gold check settles it before they give much more real work."""
    if rules.below_spam_score <= 0 or spam_point is None or spam_point >= SPAM_DOUBT:
        return False
    return done["answers"] == project.qualification_size + settings.BLOCK_CHECK_EVERY


def _doubt_reason(spam_point: float | None) -> str:
    return f"spam score {spam_point:.2f} in doubt (below {SPAM_DOUBT:g}) at the first check"


@transaction.atomic
def worker_block(
    *,
    worker: User,
    project: Project,
    reason: str,
    by: User | None = None,
    reject: AnswerChoice | None = None,
) -> Block:
    """Block a worker on a project, by hand when `by` is given (its reason is then required:
    the worker reads it); an active block is returned as it is. Their answers leave the
    consensus for good, their leases there end and their slots come back
    (apps.tasks.services.discard); the consensus is queued to run again. A submit of the
    worker's in flight finishes first; one that comes meanwhile waits and is refused. With
    `reject`, their answers are rejected first (ledger_reject_answers: pay reversed, with
    the same reason)."""
    if by is not None:
        reason = clean_reason(reason, required="Say why: the worker reads it.")
        _check_worker(worker)
    lock_workers_for_block([worker.pk])
    if reject is not None and by is not None:
        ledger_reject_answers(worker=worker, project=project, by=by, reason=reason, choice=reject)
    block = (
        Block.objects.select_for_update()
        .filter(worker=worker, project=project, lifted_at__isnull=True)
        .first()
    )
    if block is None:
        block = Block(worker=worker, project=project, reason=reason, automatic=by is None)
        block.created_by = by
        full_clean(block)
        block.save()
        _audit(block, by, "worker_block", {"worker": block.worker_id, "reason": reason})
        _discard_answers(project.pk, worker.pk)
    return block


def worker_block_everywhere(
    *, worker: User, reason: str, by: User, reject: AnswerChoice | None = None
) -> Block:
    """Block the worker by hand on every project, those created later included: one Block
    with no project, which the claim and the submit probe by index. The block commits first
    (the worker is refused from then on), then, one transaction per project the worker has
    taken tasks on (a worker on many projects does not hold every project's locks at once),
    their answers there are rejected (with `reject`) and leave the consensus, their leases
    end, slots back
    (apps.tasks.services.discard); a discard cut off is caught by that project's next
    consensus run. An active account-wide block is returned as it is. Audited on every
    project: each project's trail is where its owner reads it."""
    reason = clean_reason(reason, required="Say why: the worker reads it.")
    _check_worker(worker)
    if reject is not None:
        reject.check_range()  # before the block commits, as worker_block's one transaction
    block, created = _block_wide(worker, reason, by)
    for project_id in projects_worked(worker=worker):
        with transaction.atomic():
            lock_workers_for_block([worker.pk])
            if reject is not None:
                from apps.tasks.models import Project

                project = Project.objects.get(pk=project_id)
                ledger_reject_answers(
                    worker=worker, project=project, by=by, reason=reason, choice=reject
                )
            if created:
                _discard_answers(project_id, worker.pk)
    return block


def worker_block_for_requester(*, worker: User, requester: User, reason: str) -> Block:
    """Block the worker from every project of `requester`, those created later too (the MTurk
    API's CreateWorkerBlock): one Block with the requester and no project, which the claim
    and the submit probe by index. As worker_block_everywhere, on the requester's projects
    only: the block commits first, then, one transaction per project of theirs the worker took
    tasks on, the worker's answers there leave the consensus and their leases end. `reason`
    is the requester's note: the worker is not told it. An active block is returned as it is
    (its reason unchanged)."""
    reason = clean_reason(
        reason, required="Say why (for your records: the worker does not see it)."
    )
    _check_worker(worker)
    block, created = _block_wide(worker, reason, requester, requester=requester)
    if created:
        for project_id in projects_worked(worker=worker, owner=requester):
            with transaction.atomic():
                lock_workers_for_block([worker.pk])
                _discard_answers(project_id, worker.pk)
    return block


@transaction.atomic
def _block_wide(
    worker: User, reason: str, by: User, requester: User | None = None
) -> tuple[Block, bool]:
    """The worker's active block on every project (of `requester` when given), made now if
    there was none; and whether it was."""
    lock_workers_for_block([worker.pk])
    active = Block.objects.select_for_update().filter(
        worker=worker, project__isnull=True, requester=requester, lifted_at__isnull=True
    )
    block = active.first()
    if block is not None:
        return block, False
    block = Block(
        worker=worker,
        project=None,
        requester=requester,
        reason=reason,
        automatic=False,
        created_by=by,
    )
    full_clean(block)
    block.save()
    _audit(block, by, "worker_block", {"worker": worker.pk, "reason": reason, **_wide(block)})
    return block, True


def _wide(block: Block) -> dict[str, Any]:
    """How an audit entry says a block's scope when it is wider than one project."""
    if block.requester_id is not None:
        return {"requester": block.requester_id}
    return {"everywhere": True} if block.project_id is None else {}


def _check_worker(worker: User) -> None:
    if not worker.is_worker:
        raise InvalidInput.field("worker", "Not a worker.")


@transaction.atomic
def worker_unblock(*, block: Block, by: User, reason: str = "") -> Block:
    """Lift a block: the worker may take tasks again (an account-wide block's lifting leaves
    their per-project blocks in force). The answers discarded at the block stay out of the
    consensus (apps.tasks.services.discard). `reason` goes to the audit."""
    reason = clean_reason(reason)
    block = Block.objects.select_for_update().get(pk=block.pk)
    if block.lifted_at is None:
        block.lifted_at = timezone.now()
        block.lifted_by = by
        block.save(update_fields=["lifted_at", "lifted_by"])
        changes = {"worker": block.worker_id, "active": [True, False], **_wide(block)}
        _audit(block, by, "worker_unblock", changes | ({"reason": reason} if reason else {}))
        if block.project_id is not None:
            projects = [block.project_id]
        else:
            projects = projects_worked(worker=block.worker, owner=block.requester)
        for project_id in projects:
            _reaggregate(project_id)
    return block


def worker_unblock_everywhere(*, worker: User, by: User, reason: str = "") -> list[Block]:
    """Lift every active block of the worker, the account-wide one and those on single
    projects (worker_unblock on each). Returns them."""
    active = Block.objects.filter(worker=worker, lifted_at__isnull=True).order_by("pk")
    return [worker_unblock(block=block, by=by, reason=reason) for block in active]


def _audit(block: Block, by: User | None, action: str, changes: dict[str, Any]) -> None:
    """On the block's project; a requester's block on each of their projects (on the
    accounts' trail while they have none); an account-wide block's on every project."""
    from apps.tasks.models import Project
    from apps.tasks.services.audit import audit_record

    projects: list[int | None]
    if block.project_id is not None:
        projects = [block.project_id]
    else:
        every = Project.objects.order_by("pk")
        if block.requester_id is not None:
            every = every.filter(owner_id=block.requester_id)
        projects = list(every.values_list("pk", flat=True))
        if block.requester_id is not None and not projects:
            projects = [None]
    for project_id in projects:
        audit_record(project_id=project_id, actor=by, action=action, obj=block, changes=changes)


def _discard_answers(project_id: int, worker_id: int) -> None:
    from apps.tasks.models import Answer
    from apps.tasks.services.discard import answers_discard

    answers_discard(
        project_id=project_id, worker_ids=[worker_id], reason=Answer.DiscardReason.BLOCKED
    )


def _reaggregate(project_id: int) -> None:
    from apps.tasks.services.consensus.scheduling import aggregation_enqueue

    transaction.on_commit(lambda: aggregation_enqueue(project_id=project_id))
