"""Disagreement queue actions besides resolving to a label (services/consensus.item_resolve):
send an item back for more answers, or mark it ambiguous (out of the queue and of training).

Each action records who and when on the item (resolved_by, resolved_at, review_action) and
appends an AuditEvent in the same transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.tasks.models import HIT, Assignment, AuditEvent, Item
from apps.tasks.services.assignments import hit_slots_recount
from apps.tasks.services.audit import audit_record
from apps.tasks.services.consensus import ResolveRefused
from apps.workers.models import User
from hitlcrowd.api import ApiError

MAX_MORE_ANSWERS = 20


def _lock_review_item(item_id: int) -> Item:
    item = Item.objects.select_for_update().select_related("project").get(pk=item_id)
    if item.state != Item.State.NEEDS_REVIEW:
        raise ResolveRefused(f"Only items needing review; this one is {item.state}.")
    return item


def _record(item: Item, action: str, by: User, event: str, changes: dict) -> None:
    item.review_action = action
    item.resolved_by = by
    item.resolved_at = timezone.now()
    item.save(update_fields=["state", "review_action", "resolved_by", "resolved_at", "updated_at"])
    audit_record(project_id=item.project_id, actor=by, action=event, obj=item, changes=changes)


@transaction.atomic
def item_send_back(*, item_id: int, more: int, by: User) -> Item:
    """Reopen the item's HIT for `more` answers beyond those submitted, letting it exceed the
    project's max_overlap by as much (HIT.extra_answers, which consensus honours)."""
    if not isinstance(more, int) or isinstance(more, bool) or not 1 <= more <= MAX_MORE_ANSWERS:
        message = f"Ask for 1 to {MAX_MORE_ANSWERS} more answers."
        raise ApiError(message, code="invalid", errors={"more": [message]})
    item = _lock_review_item(item_id)
    hit = HIT.objects.select_for_update().filter(item=item, is_gold=False).first()
    if hit is None:
        raise ResolveRefused("This item has no HIT to send back.")
    submitted = Assignment.objects.filter(hit=hit, state=Assignment.State.SUBMITTED).count()
    wanted_before = hit.answers_wanted
    hit.answers_wanted = submitted + more
    hit.extra_answers = max(submitted + more - item.project.max_overlap, hit.extra_answers)
    hit.state = HIT.State.OPEN
    hit.save(update_fields=["answers_wanted", "extra_answers", "state", "updated_at"])
    hit_slots_recount(hit_ids=[hit.pk])
    item.state = Item.State.WAITING
    changes = {
        "state": [Item.State.NEEDS_REVIEW, item.state],
        "answers_wanted": [wanted_before, submitted + more],
    }
    _record(item, Item.ReviewAction.MORE_ANSWERS, by, AuditEvent.Action.ITEM_SEND_BACK, changes)
    return item


@transaction.atomic
def item_mark_ambiguous(*, item_id: int, by: User) -> Item:
    """The item cannot be decided: it leaves the queue, gets no more answers and is never
    used for training (apps.models.services.training excludes the state)."""
    item = _lock_review_item(item_id)
    now = timezone.now()
    HIT.objects.filter(item=item, state=HIT.State.OPEN).update(state=HIT.State.DONE, updated_at=now)
    item.state = Item.State.AMBIGUOUS
    changes = {"state": [Item.State.NEEDS_REVIEW, item.state]}
    _record(item, Item.ReviewAction.AMBIGUOUS, by, AuditEvent.Action.ITEM_AMBIGUOUS, changes)
    return item
