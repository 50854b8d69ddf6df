"""Guideline versions: drafts, publishing (with the re-queue choice), acknowledgement.

Publishing numbers the version under a lock on the project row, so two publishes of one
project get consecutive numbers, never the same one (the unique constraint is the backstop).
A re-queue supersedes the old answers of the chosen items (they leave the consensus), reopens
their HITs for `min_overlap` new answers under the new version (services/items.py,
items_requeue), and queues a consensus run.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from apps.tasks.models import (
    Answer,
    AuditEvent,
    GuidelineAcknowledgement,
    GuidelineVersion,
    Item,
    Project,
)
from apps.tasks.services.audit import audit_record
from apps.tasks.services.items import items_requeue
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, full_clean


class Requeue:
    """What publishing does to items answered under older versions."""

    KEEP = "keep"
    ALL = "all"
    LABELS = "labels"  # only items whose consensus is one of the labels the change names
    UNDECIDED = "undecided"  # only items without consensus yet
    CHOICES = [
        (KEEP, "Keep them as they are"),
        (ALL, "Re-queue all of them"),
        (LABELS, "Re-queue those whose consensus is one of these labels"),
        (UNDECIDED, "Re-queue those without consensus yet"),
    ]


REQUEUE_STATES = {
    Requeue.ALL: [Item.State.WAITING, Item.State.CONSENSUS, Item.State.NEEDS_REVIEW],
    Requeue.LABELS: [Item.State.CONSENSUS],
    Requeue.UNDECIDED: [Item.State.WAITING, Item.State.NEEDS_REVIEW],
}


@dataclass(frozen=True)
class PublishResult:
    guideline: GuidelineVersion
    requeued: int
    replayed: bool = False


# --- Drafts and publishing ---------------------------------------------------------------------


@transaction.atomic
def guideline_draft_create(
    *, project: Project, text: str, change_note: str = "", author: User | None
) -> GuidelineVersion:
    draft = GuidelineVersion(project=project, text=text, change_note=change_note, author=author)
    full_clean(draft)
    draft.save()
    return draft


@transaction.atomic
def guideline_publish(
    *,
    guideline: GuidelineVersion,
    by: User | None,
    requeue: str = Requeue.KEEP,
    labels: list[str] | None = None,
) -> PublishResult:
    """Publish a draft: it becomes the project's current version. Publishing it again
    returns it unchanged (`replayed`), re-queueing nothing a second time."""
    project = Project.objects.select_for_update().get(pk=guideline.project_id)
    labels = _check_requeue(project, requeue, labels)
    draft = GuidelineVersion.objects.select_for_update().get(pk=guideline.pk)
    if draft.is_published:
        return PublishResult(guideline=draft, requeued=0, replayed=True)
    if not draft.text.strip():
        raise InvalidInput.field("text", "A guideline needs some text.")
    previous = GuidelineVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"]
    draft.number = (previous or 0) + 1
    draft.published_at = timezone.now()
    draft.author = draft.author or by
    draft.save(update_fields=["number", "published_at", "author"])
    requeued = 0
    if requeue != Requeue.KEEP:
        items = guideline_requeue_items(project=project, requeue=requeue, labels=labels)
        items = items.values_list("pk", flat=True)
        requeued = items_requeue(project=project, version=draft, item_ids=items)
    changes = {"number": [previous, draft.number], "requeue": requeue, "requeued": requeued}
    if requeue == Requeue.LABELS:
        changes["labels"] = labels
    audit_record(
        project_id=project.pk,
        actor=by,
        action=AuditEvent.Action.GUIDELINE_PUBLISH,
        obj=draft,
        changes=changes,
    )
    if requeued:
        project_id = project.pk
        transaction.on_commit(lambda: _reaggregate(project_id))
    return PublishResult(guideline=draft, requeued=requeued)


def _check_requeue(project: Project, requeue: str, labels: list[str] | None) -> list[str]:
    if requeue not in dict(Requeue.CHOICES):
        raise InvalidInput.field("requeue", f"Pick one of: {', '.join(dict(Requeue.CHOICES))}.")
    if requeue != Requeue.LABELS:
        return []
    labels = [label for label in (labels or []) if label]
    unknown = sorted(set(labels) - set(project.labels))
    if not labels or unknown:
        raise InvalidInput.field(
            "labels", f"Name one or more of the project's labels: {', '.join(project.labels)}."
        )
    return sorted(set(labels))


def guideline_requeue_count(*, project: Project, requeue: str, labels: list[str] | None) -> int:
    """How many items publishing with this choice would re-queue now (0 for KEEP), counted
    by the query the publish runs; InvalidInput like the publish for a bad choice."""
    labels = _check_requeue(project, requeue, labels)
    if requeue == Requeue.KEEP:
        return 0
    return guideline_requeue_items(project=project, requeue=requeue, labels=labels).count()


def guideline_requeue_items(*, project: Project, requeue: str, labels: list[str]) -> QuerySet[Item]:
    """The items a publish re-queues: crowd items with answers still counting (so: given
    under an older version)."""
    counting = Answer.objects.counted().filter(item=OuterRef("pk"))
    items = (
        Item.objects.filter(project=project, is_gold=False, state__in=REQUEUE_STATES[requeue])
        .filter(label_source__in=["", Item.Source.CROWD])
        .filter(Exists(counting))
    )
    if requeue == Requeue.LABELS:
        items = items.filter(final_label__in=labels)
    return items


def _reaggregate(project_id: int) -> None:
    from apps.tasks.services.consensus.scheduling import aggregation_enqueue

    aggregation_enqueue(project_id=project_id)


# --- Acknowledgement -----------------------------------------------------------------------------


@transaction.atomic
def guideline_acknowledge(
    *, worker: User, project: Project, number: int
) -> GuidelineAcknowledgement:
    """Record that the worker read version `number`; acknowledging again changes nothing."""
    guideline = GuidelineVersion.objects.filter(
        project=project, number=number, published_at__isnull=False
    ).first()
    if guideline is None:
        raise InvalidInput.field(
            "version", "No such published version of this project's guideline."
        )
    acknowledgement, _ = GuidelineAcknowledgement.objects.get_or_create(
        guideline=guideline, worker=worker
    )
    return acknowledgement
