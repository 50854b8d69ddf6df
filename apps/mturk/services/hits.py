"""HITs: CreateHIT and CreateHITWithHITType make one item of the HIT type's project, its
tasks.HIT (MaxAssignments answers from distinct workers, served until its expiry) and the
MturkHIT that is its MTurk face. Items, HITs and leases stay the tasks app's: written through
apps.tasks.services.items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.mturk.errors import (
    HITAlreadyExists,
    HITStateInvalid,
    MaximumAssignmentsIncreaseInvalid,
)
from apps.mturk.models import HITExtension, HITType, MturkHIT
from apps.mturk.questions import QuestionInvalid, question_parse
from apps.mturk.selectors import REVIEWABLE, REVIEWING, hit_get, hit_state
from apps.mturk.services.hit_types import mturk_id
from apps.tasks.errors import ItemHasAssignments
from apps.tasks.services.items import hit_answers_add, hit_expiry_set, item_create, item_move
from apps.workers.ledger import funds_check, funds_lock
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput

# MTurk's limits: a HIT lives 30 s to a year, wants 1 to 1,000,000 assignments; its
# annotation is at most 255 characters and its request token 64.
LIFETIME = (30, 365 * 24 * 3600)
MAX_ASSIGNMENTS = (1, 1_000_000)
ANNOTATION_MAX = 255
TOKEN_MAX = 64


@dataclass(frozen=True)
class NewHIT:
    """What CreateHIT's caller asked for, checked (hit_checked) before anything is written."""

    question: str
    question_kind: str
    lifetime_seconds: int
    max_assignments: int
    requester_annotation: str
    unique_request_token: str | None


def hit_checked(
    *,
    question: str,
    lifetime_seconds: int,
    max_assignments: int = 1,
    requester_annotation: str = "",
    unique_request_token: str | None = None,
) -> NewHIT:
    """The HIT's values checked as MTurk did; refusals name MTurk's parameter."""
    try:
        parsed = question_parse(question)
    except QuestionInvalid as exc:
        raise InvalidInput.field("Question", str(exc)) from None
    _check_range("LifetimeInSeconds", lifetime_seconds, LIFETIME)
    _check_range("MaxAssignments", max_assignments, MAX_ASSIGNMENTS)
    if len(requester_annotation) > ANNOTATION_MAX:
        raise InvalidInput.field("RequesterAnnotation", f"At most {ANNOTATION_MAX} characters.")
    token = unique_request_token or None
    if token is not None and not 1 <= len(token) <= TOKEN_MAX:
        raise InvalidInput.field("UniqueRequestToken", f"At most {TOKEN_MAX} characters.")
    return NewHIT(
        question=question,
        question_kind=parsed.kind,
        lifetime_seconds=lifetime_seconds,
        max_assignments=max_assignments,
        requester_annotation=requester_annotation,
        unique_request_token=token,
    )


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidInput.field(name, f"Must be between {low} and {high}.")


def hit_create(*, requester: User, hit_type: HITType, new: NewHIT) -> MturkHIT:
    """A new HIT of the requester's `hit_type`. A UniqueRequestToken used before by this
    requester creates nothing: HITAlreadyExists names the HIT it made (MTurk's answer). MTurk
    forgot tokens after 24 hours; here they are kept, so a late retry never duplicates."""
    if hit_type.requester_id != requester.pk:
        raise ValueError("a HIT is created with the requester's own HIT type")
    _raise_if_token_used(requester, new.unique_request_token)
    try:
        with transaction.atomic():
            return _create(requester, hit_type, new, timezone.now())
    except IntegrityError:
        # A concurrent call with the same token won (mturkhit_request_token_unique).
        _raise_if_token_used(requester, new.unique_request_token)
        raise


def _raise_if_token_used(requester: User, token: str | None) -> None:
    if token is None:
        return
    hit_id = (
        MturkHIT.objects.filter(requester=requester, unique_request_token=token)
        .values_list("hit_id", flat=True)
        .first()
    )
    if hit_id is not None:
        raise HITAlreadyExists(hit_id)


def _create(requester: User, hit_type: HITType, new: NewHIT, now: datetime) -> MturkHIT:
    # MTurk's prepayment: the HIT's rewards go on hold (requester_balance counts its open
    # slots) only if the available balance covers them all.
    funds_check(requester=requester, amount=_reward(hit_type) * new.max_assignments)
    hit_id = mturk_id()
    item = item_create(
        project=hit_type.project,
        external_id=hit_id,
        payload={"mturk_hit_id": hit_id},
        answers_wanted=new.max_assignments,
        expires_at=now + timedelta(seconds=new.lifetime_seconds),
    )
    return MturkHIT.objects.create(
        hit_id=hit_id,
        requester=requester,
        hit_type=hit_type,
        task_hit=item.hit,
        question=new.question,
        question_kind=new.question_kind,
        requester_annotation=new.requester_annotation,
        unique_request_token=new.unique_request_token,
    )


def _reward(hit_type: HITType) -> Decimal:
    """The reward of one assignment, as the balance's holds count it (the type's project)."""
    return hit_type.project.reward_per_answer


# --- A HIT's life after creation ---------------------------------------------------------------

# MTurk: a HIT made with fewer than 10 assignments cannot be extended to 10 or more.
EXTENSION_THRESHOLD = 10


def _locked(hit: MturkHIT) -> MturkHIT:
    """The HIT's row locked, with its counts as hit_list reads them (one statement)."""
    now = timezone.now()
    MturkHIT.objects.select_for_update().filter(pk=hit.pk).values("pk").first()
    return hit_get(requester=hit.requester, hit_id=hit.hit_id, now=now)


def _refuse_if_disposed(hit: MturkHIT) -> None:
    if hit.disposed_at is not None:
        raise HITStateInvalid(f"HIT {hit.hit_id} was deleted: it cannot be changed.")


@transaction.atomic
def hit_expire_at(*, hit: MturkHIT, expire_at: datetime) -> MturkHIT:
    """UpdateExpirationForHIT: a time in the past expires the HIT now (no new assignment
    starts; live ones may still be submitted until their own deadline); a later one, at most
    a HIT's longest lifetime from now, makes an expired HIT available again."""
    funds_lock(requester_id=hit.requester_id)  # before the HIT's row, as every spend locks them
    hit = _locked(hit)
    _refuse_if_disposed(hit)
    now = timezone.now()
    if expire_at > now + timedelta(seconds=LIFETIME[1]):
        raise InvalidInput.field("ExpireAt", "At most 365 days from now.")
    if expire_at > now and hit.task_hit.expires_at <= now:
        # Open again, its open slots go back on hold: only if the balance covers them.
        slots = max(0, hit.task_hit.answers_wanted - hit.pending - hit.submitted)
        if slots:
            funds_check(requester=hit.requester, amount=_reward(hit.hit_type) * slots)
    hit_expiry_set(hit_id=hit.task_hit_id, expires_at=expire_at)
    if expire_at > now and hit.reviewing:
        MturkHIT.objects.filter(pk=hit.pk).update(reviewing=False)
    return hit


@transaction.atomic
def hit_review_status_update(*, hit: MturkHIT, revert: bool) -> MturkHIT:
    """UpdateHITReviewStatus: Reviewable -> Reviewing, or with `revert` Reviewing ->
    Reviewable. Asking for the status the HIT already has changes nothing."""
    hit = _locked(hit)
    status = hit_state(hit, timezone.now()).status
    wanted, source = (REVIEWABLE, REVIEWING) if revert else (REVIEWING, REVIEWABLE)
    if status not in (wanted, source):
        raise HITStateInvalid(
            f"HIT {hit.hit_id} is {status}: only a {source} HIT can become {wanted}."
        )
    MturkHIT.objects.filter(pk=hit.pk).update(reviewing=not revert)
    return hit


@transaction.atomic
def hit_delete(*, hit: MturkHIT) -> MturkHIT:
    """DeleteHIT, MTurk's rule: only a Reviewable (or Reviewing) HIT whose submitted
    assignments were all approved or rejected is disposed; a deleted HIT is kept for its
    record and listed nowhere. Deleting it again changes nothing."""
    hit = _locked(hit)
    if hit.disposed_at is not None:
        return hit
    status = hit_state(hit, timezone.now()).status
    if status not in (REVIEWABLE, REVIEWING):
        raise HITStateInvalid(
            f"HIT {hit.hit_id} is {status}: only a Reviewable HIT can be deleted (let it "
            "expire first, with UpdateExpirationForHIT, and wait for its assignments)."
        )
    if hit.submitted > hit.completed:
        raise HITStateInvalid(
            f"HIT {hit.hit_id} has {hit.submitted - hit.completed} submitted assignment(s) "
            "still to approve or reject."
        )
    MturkHIT.objects.filter(pk=hit.pk).update(disposed_at=timezone.now(), reviewing=False)
    return hit


def hit_assignments_add(
    *, hit: MturkHIT, more: int, unique_request_token: str | None = None
) -> MturkHIT:
    """CreateAdditionalAssignmentsForHIT: `more` workers may do the HIT. MTurk's rule: a HIT
    with fewer than 10 assignments cannot reach 10 or more. A UniqueRequestToken used before
    by this requester adds nothing again (the retry succeeds: the HIT was extended)."""
    token = unique_request_token or None
    if token is not None and len(token) > TOKEN_MAX:
        raise InvalidInput.field("UniqueRequestToken", f"At most {TOKEN_MAX} characters.")
    if not 1 <= more <= MAX_ASSIGNMENTS[1]:
        raise InvalidInput.field(
            "NumberOfAdditionalAssignments", f"Must be between 1 and {MAX_ASSIGNMENTS[1]}."
        )
    try:
        with transaction.atomic():
            return _add_assignments(hit, more, token)
    except IntegrityError:
        if token is None or not _token_used(hit.requester, token):
            raise
        return hit  # a concurrent retry with the same token did it


def _token_used(requester: User, token: str) -> bool:
    return HITExtension.objects.filter(requester=requester, unique_request_token=token).exists()


def _add_assignments(hit: MturkHIT, more: int, token: str | None) -> MturkHIT:
    # The requester's row before the HIT's: a bonus (funds_check, then an INSERT citing the
    # HIT) locks them in this order, so the two cannot deadlock.
    funds_lock(requester_id=hit.requester_id)
    hit = _locked(hit)
    if token is not None and _token_used(hit.requester, token):
        return hit
    _refuse_if_disposed(hit)
    now_wanted = hit.task_hit.answers_wanted
    if now_wanted + more > MAX_ASSIGNMENTS[1]:
        raise InvalidInput.field(
            "NumberOfAdditionalAssignments",
            f"The HIT would want more than {MAX_ASSIGNMENTS[1]} assignments.",
        )
    if now_wanted < EXTENSION_THRESHOLD <= now_wanted + more:
        raise MaximumAssignmentsIncreaseInvalid(now_wanted)
    funds_check(requester=hit.requester, amount=_reward(hit.hit_type) * more)
    hit_answers_add(hit_id=hit.task_hit_id, more=more)
    if token is not None:
        HITExtension.objects.create(
            requester=hit.requester,
            mturk_hit=hit,
            unique_request_token=token,
            assignments_added=more,
        )
    if hit.reviewing:
        MturkHIT.objects.filter(pk=hit.pk).update(reviewing=False)
    return hit


@transaction.atomic
def hit_type_move(*, hit: MturkHIT, hit_type: HITType) -> MturkHIT:
    """UpdateHITTypeOfHIT: the HIT moves to another of its requester's HIT types, whose
    reward, duration, auto-approval delay and QualificationRequirements apply from then on.
    A HIT type is a project here, so its item and HIT move to the type's project
    (apps.tasks.services.items.item_move); only a HIT no worker has taken (no assignment: no
    live lease, no answer, none returned or expired): an assignment stays with the project
    where it was paid, reviewed and counted (HITStateInvalid saying so). Moving a HIT to its
    own type changes nothing; a deleted HIT is refused."""
    if hit_type.requester_id != hit.requester_id:
        raise ValueError("a HIT moves between its requester's own HIT types")
    funds_lock(requester_id=hit.requester_id)  # before the HIT's row, as every spend locks them
    hit = _locked(hit)
    _refuse_if_disposed(hit)
    if hit.hit_type_id == hit_type.pk:
        return hit
    # Its open slots are held at the new reward from now on: a dearer type needs the
    # difference available.
    more = (_reward(hit_type) - _reward(hit.hit_type)) * hit_state(hit, timezone.now()).available
    if more > 0:
        funds_check(requester=hit.requester, amount=more)
    try:
        item_move(item_id=hit.task_hit.item_id, project=hit_type.project, by=hit.requester)
    except ItemHasAssignments as exc:
        raise HITStateInvalid(
            f"HIT {hit.hit_id} has {exc.count} assignment(s): a HIT that workers have "
            "accepted keeps its HIT type. Create a new HIT of the other type instead."
        ) from None
    MturkHIT.objects.filter(pk=hit.pk).update(hit_type=hit_type)
    hit.hit_type = hit_type
    return hit
