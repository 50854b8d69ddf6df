"""Writes of the learning loop. Other apps call `labels_changed` (after consensus writes
labels), `predictions_imported` (after a batch import), `suggestion_of` (pre-annotation) and
`item_queue_priorities` (the queue place of a re-opened item); everything else is used by this
app's API, jobs, admin and commands."""

from apps.models.services.hooks import (
    labels_changed,
    predictions_imported,
    suggestion_of,
)
from apps.models.services.pacing import pace_holds_new_items, pace_if_stalled
from apps.models.services.priorities import item_queue_priorities

__all__ = [
    "item_queue_priorities",
    "labels_changed",
    "pace_holds_new_items",
    "pace_if_stalled",
    "predictions_imported",
    "suggestion_of",
]
