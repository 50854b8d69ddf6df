"""What a worker may read: projects open to them, their own assignments, answers and earnings.

Every function takes the worker and returns only that worker's rows. A worker never sees a
gold label, whether an item is gold, nor another worker's answers: `task_for_worker` is the
one place that shapes a task, and it is the same for gold and real items.

Nor an item's id: gold tasks are served from their own queue in id order and the others by
priority, so the ids of the tasks a worker got fall into two rising runs, and the step at
which each id came told which run, gold or not, exactly (issue 12). A worker sees `item_ref`
instead, a keyed hash of (worker, item): the same item always has the same ref for that
worker, refs have no order, and two accounts' refs cannot be matched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.models.services import suggestion_of
from apps.mturk.access import projects_hidden_from
from apps.mturk.requirements import Requirement, requirements_from_wire
from apps.tasks import sql
from apps.tasks.models import (
    HIT,
    Answer,
    Assignment,
    GuidelineVersion,
    Project,
)
from apps.tasks.selectors.visibility import project_visible_q
from apps.workers.models import LedgerEntry, Qualification, User
from apps.workers.reliability import GOLD_CHECK_ANSWERS
from apps.workers.selectors import block_notice_probed, worker_ledger_notes
from apps.workers.selectors import worker_earnings as ledger_worker_earnings
from hitlcrowd.errors import NotFound, one_or_not_found

NO_TEST = "none"


def project_list_open_to_worker(*, worker: User) -> QuerySet[Project]:
    """Open projects the worker may see (selectors/visibility.py), each annotated with
    `qualification_state`.

    `qualification_state` is "none" (no test), "not_started", "testing", "passed" or "failed".
    A project the worker failed stays listed (with its state) so pages can say why. An MTurk
    project whose requirements guarding DiscoverPreviewAndAccept the worker does not meet is
    left out (apps.mturk.access: MTurk hid such HITs from search).
    """
    state = Qualification.objects.filter(worker=worker, project=OuterRef("pk")).values("state")
    return (
        Project.objects.filter(is_open=True)
        .filter(project_visible_q(worker=worker))
        .exclude(pk__in=projects_hidden_from(worker=worker))
        .annotate(qualification_record=Subquery(state[:1]))
        .annotate(qualification_state=Coalesce("qualification_record", Value("not_started")))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class ClaimContext:
    """What one claim needs to know of a project for one worker, read in one query
    (project_get_open_for_claim, claim_context_of) and passed to assignment_claim."""

    project: Project
    block_notice: str | None  # what the worker is told of their active block here, else None
    pre_annotation: bool  # the project shows the model's suggestion (LearningSettings)
    guideline_number: int | None  # the current published guideline, None without one
    guideline_acknowledged: bool  # the worker acknowledged that version
    # Answers the worker may give here as a panel participant (their link's quota, 0 once
    # they are done); None for a worker who is no panel identity on this project.
    panel_quota: int | None = None
    # The worker's gold answers when their gold check (reliability.py) began; None when they
    # are on none. On a check: gold first.
    gold_check_start: int | None = None
    # An MTurk project's QualificationRequirements (its HIT type's; empty for native ones).
    requirements: tuple[Requirement, ...] = ()

    @property
    def unread_guideline(self) -> int | None:
        """The current guideline's number while the worker has not acknowledged it."""
        if self.guideline_number is None or self.guideline_acknowledged:
            return None
        return self.guideline_number


def project_get_open_for_claim(*, worker: User, project_id: int) -> ClaimContext | None:
    """The open project `project_id` with what a claim in it needs to know of the worker
    (ClaimContext), in one query; None when there is no such open project, or the worker may
    not see it (the visibility rule in SQL: apps.tasks.sql.VISIBLE_SQL)."""
    # Raw SQL (apps.tasks.sql): the ORM spent ~2 ms of CPU compiling this on every request.
    found = sql.project_for_claim_row(worker_id=worker.pk, project_id=project_id)
    if found is None:
        return None
    project, extra = found
    return _claim_context(project, extra)


def claim_context_of(*, worker: User, project: Project) -> ClaimContext:
    """The ClaimContext of a project already loaded (that instance is kept, with its
    annotations), in one query. NotFound when it was deleted, or the worker may not see it."""
    found = sql.project_for_claim_row(
        worker_id=worker.pk, project_id=project.pk, open_only=False, fields=["id"]
    )
    if found is None:
        raise NotFound("No such project.")
    return _claim_context(project, found[1])


def _claim_context(project: Project, extra: Sequence[Any]) -> ClaimContext:
    automatic, reason, everywhere_reason, by_owner, pre_annotation, *rest = extra
    number, acknowledged, quota, gold_check_start, requirements = rest
    return ClaimContext(
        project=project,
        block_notice=block_notice_probed(
            automatic=automatic,
            reason=reason,
            everywhere_reason=everywhere_reason,
            by_requester=bool(by_owner),
        ),
        pre_annotation=bool(pre_annotation),
        guideline_number=number,
        guideline_acknowledged=bool(acknowledged),
        panel_quota=quota,
        gold_check_start=gold_check_start,
        requirements=_requirements(requirements),
    )


def _requirements(stored: Any) -> tuple[Requirement, ...]:
    """The requirements column as the driver gives it (JSON text on SQLite)."""
    if not stored:
        return ()
    return tuple(requirements_from_wire(json.loads(stored) if isinstance(stored, str) else stored))


def gold_left_for(*, worker_id: int, project: Project) -> bool:
    """Whether a gold claim could give the worker a gold HIT now (the reliability's gold
    check): the claim's own rule for a free HIT of the gold pool."""
    return sql.free_hits(worker_id=worker_id, project=project, gold=True).exists()


def gold_check_answered(*, worker: User, project: Project, started: int) -> bool:
    """Whether a worker on a gold check begun at `started` gold answers
    (ClaimContext.gold_check_start) has given the gold answers its verdict waits for
    (reliability.GOLD_CHECK_ANSWERS): the claim then serves nothing until the consensus run
    gives the verdict, so a spammer's block is not pushed back by answers given while the run
    is on its way. Counts counted answers on gold items, a subset of what the run counts as
    gold (known labels), so it never says so before the run would."""
    given = Answer.objects.counted().filter(worker=worker, project=project, item__is_gold=True)
    return given.count() - started >= GOLD_CHECK_ANSWERS


def answers_given_count(*, worker: User, project: Project) -> int:
    """Every answer the worker gave on the project, counted or not (a panel quota counts
    the answers given, whatever became of them)."""
    return Answer.objects.filter(worker=worker, project=project).count()


def open_work_left_for(*, worker: User, project: Project) -> bool:
    """Whether an open real HIT of the project was never served to the worker: work that
    may still come to them (once others' leases end, or the pacing opens it) when the claim
    found nothing free now. False: nothing here will ever be theirs as things stand."""
    served = Assignment.objects.filter(
        hit=OuterRef("pk"), worker=worker, superseded_by__isnull=True
    )
    open_hits = HIT.objects.filter(project=project, is_gold=False, state=HIT.State.OPEN)
    return open_hits.exclude(Exists(served)).exists()


def qualification_state_of(project: Project) -> str:
    """The state shown to the worker for a project from `project_list_open_to_worker`."""
    if project.qualification_size == 0:
        return NO_TEST
    return getattr(project, "qualification_state", "not_started")


def _assignments_for_worker(worker: User) -> QuerySet[Assignment]:
    """The worker's assignments on projects they may see."""
    mine = Assignment.objects.filter(worker=worker)
    return mine.filter(project_visible_q(worker=worker, field="project")).select_related(
        "hit__item", "project", "guideline_version"
    )


def assignment_get_for_worker(*, worker: User, assignment_id: int) -> Assignment:
    """404 (not 403) for someone else's assignment, so ids don't leak."""
    return one_or_not_found(_assignments_for_worker(worker), pk=assignment_id)


def assignment_live_for_worker(*, worker: User, project: Project) -> Assignment | None:
    """The worker's live, unexpired lease on this project, if any."""
    return (
        _assignments_for_worker(worker)
        .filter(project=project, state=Assignment.State.LEASED)
        .filter(lease_expires_at__gt=timezone.now())
        .first()
    )


def latest_guideline(*, project: Project) -> GuidelineVersion | None:
    return (
        GuidelineVersion.objects.filter(project=project, published_at__isnull=False)
        .order_by("-number")
        .first()
    )


def task_for_worker(*, assignment: Assignment) -> dict[str, Any]:
    """THE shape of a task as a worker sees it; identical for gold and real items."""
    item = assignment.hit.item
    guideline = assignment.guideline_version
    task = {
        "assignment_id": assignment.pk,
        "state": assignment.state,
        "project": {"id": assignment.project.pk, "name": assignment.project.name},
        "item": {
            "ref": item_ref(worker_id=assignment.worker_id, item_id=item.pk),
            "payload": item.payload,
        },
        "labels": list(assignment.project.labels),
        "guideline": {"number": guideline.number, "text": guideline.text} if guideline else None,
        "lease_expires_at": assignment.lease_expires_at,
    }
    # Pre-annotation (a project option, off by default): the model's suggestion, as recorded
    # when the task was handed out (assignment_claim), so what the worker sees and what their
    # answer records agree. The key is on every task handed out while the option was on (None
    # where nothing was shown), so its absence cannot single out a gold item.
    if assignment.pre_annotated:
        task["suggestion"] = suggestion_of(item=item) if assignment.suggestion_shown else None
    return task


def item_ref(*, worker_id: int, item_id: int) -> str:
    """What a worker sees for an item's identity (see the module docstring)."""
    digest = salted_hmac("hitlcrowd.item-ref", f"{worker_id}:{item_id}", algorithm="sha256")
    return digest.hexdigest()[:16]


def answer_list_for_worker(*, worker: User) -> QuerySet[Answer]:
    """My answers on projects I may see, newest first (index answer_worker_history), each with
    `rejected_reason`:
    the admin's reason when they rejected it (its reversal's, ledger_one_reversal_per_answer)."""
    reversal = LedgerEntry.objects.filter(answer=OuterRef("pk"), kind=LedgerEntry.Kind.REVERSAL)
    return (
        Answer.objects.filter(worker=worker)
        .filter(project_visible_q(worker=worker, field="project"))
        .select_related("project", "guideline_version")
        .annotate(rejected_reason=Subquery(reversal.values("reason")[:1]))
        .order_by("-created_at", "-id")
    )


def answer_for_worker(*, answer: Answer) -> dict[str, Any]:
    """An answer as its author sees it: what they said, never whether it matched gold."""
    guideline = answer.guideline_version
    return {
        "id": answer.pk,
        "assignment_id": answer.assignment_id,
        "project": {"id": answer.project_id, "name": answer.project.name},
        "item_ref": item_ref(worker_id=answer.worker_id, item_id=answer.item_id),
        "label": answer.label,
        "seconds_spent": answer.seconds_spent,
        "guideline_number": guideline.number if guideline else None,
        "created_at": answer.created_at,
        "discard_reason": answer.discard_reason,
        "rejected_reason": getattr(answer, "rejected_reason", None),
    }


HIDDEN_PROJECTS = "Projects no longer open to you"


def worker_earnings(*, worker: User) -> list[dict[str, Any]]:
    """Per project, from the rewards ledger (apps.workers.selectors.worker_earnings): credited
    answers, reward_per_answer, credits, bonuses, reversals and amount.

    Projects the worker may no longer see (removed from the group, made private) are not
    named: their rows are folded into one last row whose `project` is None and whose
    `reward_per_answer` is None, so the totals stay what the ledger owes."""
    visible = project_visible_q(worker=worker, field="project")
    rows = ledger_worker_earnings(worker=worker, visible=visible)
    shown = [row for row in rows if row["visible"]]
    hidden = [row for row in rows if not row["visible"]]
    if hidden:
        sums = ("credits", "bonuses", "reversals", "answers", "rejected", "amount")
        folded = {name: sum(row[name] for row in hidden) for name in sums}
        shown.append({**folded, "project": None, "reward_per_answer": None})
    return shown


def ledger_notes_for_worker(*, worker: User) -> list[dict[str, Any]]:
    """The admins' bonuses and rejections for the worker (apps.workers.selectors
    worker_ledger_notes), a project they may no longer see named HIDDEN_PROJECTS."""
    visible = project_visible_q(worker=worker, field="project")
    notes = worker_ledger_notes(worker=worker, visible=visible)
    return [
        note if note["visible"] else {**note, "project__name": HIDDEN_PROJECTS} for note in notes
    ]
