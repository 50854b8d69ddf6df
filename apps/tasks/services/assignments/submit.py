"""Submit: record the worker's answer on their lease, pay it, close a full HIT, and after
commit ask for a consensus run (`apps.tasks.services.answers.answer_committed`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from apps.tasks import sql
from apps.tasks.errors import AnswerConflict, TaskClosed
from apps.tasks.models import HIT, Answer, Assignment, Item, Project
from apps.tasks.services.answers import answer_committed
from apps.tasks.services.assignments.gold import score_qualification
from apps.tasks.services.assignments.leases import check_label, check_live, lock_own, refuse_blocked
from apps.tasks.services.assignments.slots import hit_slots_recount
from apps.workers.ledger import ledger_credit_answer
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.rawrows import insert_row, update_row

MAX_SECONDS_SPENT = 7 * 24 * 3600
# Called with the new answer inside the submit's transaction (apps/mturk: its assignment row).
AnswerHook = Callable[[Answer], None]


def assignment_submit(
    *,
    worker: User,
    assignment_id: int,
    label: str,
    seconds_spent: float,
    on_answer: AnswerHook | None = None,
) -> Answer:
    """Record the worker's answer. The same submission again returns the first answer with
    `answer.replayed = True`; another label on an answered assignment is AnswerConflict (409);
    after the lease expired, LeaseExpired (410); after its item was settled by a person
    (services/items.py), TaskClosed (410: no answer, no pay); someone else's assignment,
    NotFound (404). A worker blocked on the project meanwhile is refused (NotQualified, 403, with
    `block_notice`): no answer, no pay, and the lease ends, giving its slot back.

    An MTurk project's task is answered only through its question's form
    (apps.mturk.services.external_submit, which passes `on_answer`): its answers carry no
    label and its reward is credited on approval, not here."""
    seconds = _check_seconds(seconds_spent)
    with transaction.atomic():
        assignment, notice = lock_own(worker, assignment_id)
        if notice is None:
            answer = _submit_locked(worker, assignment, label, seconds, on_answer)
    if notice is not None:
        refuse_blocked(worker, assignment, notice)
    if answer is None:  # the lease was closed in the committed transaction above
        raise TaskClosed()
    return answer


def _submit_locked(
    worker: User,
    assignment: Assignment,
    label: str,
    seconds: float,
    on_answer: AnswerHook | None,
) -> Answer | None:
    mturk = assignment.project.kind == Project.Kind.MTURK
    if mturk and on_answer is None:
        raise InvalidInput.field(
            "label", "This task is answered through its own form, which posts to externalSubmit."
        )
    check_label(assignment.project, label)
    existing = _answer_of(assignment)
    if existing is not None:
        if existing.label != label:
            raise AnswerConflict(
                f"This task was already answered with {existing.label!r}; "
                "an answer cannot be changed."
            )
        existing.replayed = True
        return existing
    check_live(assignment, "submit")
    answer = _record_answer(worker, assignment, label, seconds)
    if answer is not None:
        answer.replayed = False
        if on_answer is not None:
            on_answer(answer)
    return answer


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
    if assignment.project.kind == Project.Kind.NATIVE:  # MTurk: credited on approval
        ledger_credit_answer(answer=answer, project=assignment.project)
    if hit.is_gold:
        score_qualification(worker, assignment.project)
    else:
        _close_if_answered(hit)
    if assignment.project.has_consensus:  # the project row is loaded: no query
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


def _answer_of(assignment: Assignment) -> Answer | None:
    # Answers are written only with the move out of `leased` (under this row's lock), so the
    # common case, a live lease, needs no look-up.
    if assignment.state == Assignment.State.LEASED:
        return None
    return Answer.objects.filter(assignment=assignment).first()


def _check_seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput.field("seconds_spent", "A number of seconds is needed.") from None
    if not 0 <= seconds <= MAX_SECONDS_SPENT:
        raise InvalidInput.field("seconds_spent", f"Must be between 0 and {MAX_SECONDS_SPENT}.")
    return seconds
