"""Reads for batches, scoped to the requester who owns the project (admins see all)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, QuerySet

from apps.tasks.models import Batch, Item, Project
from apps.workers.models import User
from hitlcrowd.errors import one_or_not_found

# States in which an item has a final label.
DONE_STATES = frozenset({Item.State.AUTO_LABELED, Item.State.CONSENSUS, Item.State.RESOLVED})


def batch_list_for_requester(*, user: User, project: Project | None = None) -> QuerySet[Batch]:
    """Newest first; `project` must already be one the user may see."""
    batches = Batch.objects.select_related("project", "uploaded_by")
    if not user.is_staff:
        batches = batches.filter(project__owner=user)
    if project is not None:
        batches = batches.filter(project=project)
    return batches.order_by("-created_at", "-id")


def batch_get_for_requester(*, user: User, batch_id: int) -> Batch:
    """404 (not 403) for someone else's batch, so ids don't leak."""
    return one_or_not_found(batch_list_for_requester(user=user), pk=batch_id)


def batch_status(*, batch: Batch) -> dict[str, Any]:
    return batch_status_many(batches=[batch])[batch.pk]


def batch_status_many(*, batches: Iterable[Batch]) -> dict[int, dict[str, Any]]:
    """Status per batch with one GROUP BY over their items, whatever the number of batches."""
    batches = list(batches)
    by_state = {b.pk: dict.fromkeys(Item.State.values, 0) for b in batches}
    gold: dict[int, int] = dict.fromkeys(by_state, 0)
    rows = (
        Item.objects.filter(batch_id__in=list(by_state))
        .order_by()
        .values("batch_id", "state", "is_gold")
        .annotate(n=Count("id"))
    )
    for row in rows:
        by_state[row["batch_id"]][row["state"]] += row["n"]
        if row["is_gold"]:
            gold[row["batch_id"]] += row["n"]
    return {b.pk: _status(b, by_state[b.pk], gold[b.pk]) for b in batches}


def _status(batch: Batch, by_state: dict[str, int], gold: int) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "project": batch.project_id,
        "file_name": batch.file_name,
        "format": batch.format,
        "status": batch.status,
        "created_at": batch.created_at,
        "uploaded_by": batch.uploaded_by.username,
        "rows": batch.row_count,
        "created": batch.created_count,
        "auto_labeled": batch.auto_labeled_count,
        "sent_to_people": batch.sent_to_people_count,
        "gold": gold,
        "done": sum(n for state, n in by_state.items() if state in DONE_STATES),
        "by_state": by_state,
        "error_count": batch.error_count,
        "errors": batch.errors,
    }
