"""HITs: CreateHIT and CreateHITWithHITType make one item of the HIT type's project, its
tasks.HIT (MaxAssignments answers from distinct workers, served until its expiry) and the
MturkHIT that is its MTurk face. Items, HITs and leases stay the tasks app's: written through
apps.tasks.services.items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.mturk.errors import HITAlreadyExists
from apps.mturk.models import HITType, MturkHIT
from apps.mturk.questions import QuestionInvalid, question_parse
from apps.mturk.services.hit_types import mturk_id
from apps.tasks.services.items import item_create
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
