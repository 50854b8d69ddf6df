"""The two calls other apps make into the learning loop."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.tasks.models import Item, Project

log = logging.getLogger(__name__)


def labels_changed(*, project_id: int, item_ids: Iterable[int] = ()) -> None:
    """Called by the services that store final labels (inside their transaction is fine),
    with the items whose label may have changed: after commit, webhooks owed for items that
    now have a final label, or a label other than the one last sent, are queued, and a retrain
    is queued if the project has N new training labels since its latest version."""
    changed = tuple(item_ids)
    transaction.on_commit(lambda: _after_labels(project_id, changed))


def _after_labels(project_id: int, item_ids: tuple[int, ...]) -> None:
    from apps.models.services.audits import auto_labels_due_back, evidence_refresh_if_audited
    from apps.models.services.pacing import project_pace
    from apps.models.services.training import retrain_due, retrain_enqueue
    from apps.models.services.webhooks import webhooks_queue_due

    try:
        webhooks_queue_due(project_id=project_id, changed_item_ids=item_ids)
        project = Project.objects.get(pk=project_id)
        # People judged audited items: the model's record, and so its threshold, moves.
        evidence_refresh_if_audited(project=project, item_ids=item_ids)
        if retrain_due(project=project):
            retrain_enqueue(project_id=project_id, trigger="labels")
        # People are running out of work: auto-labels the active version doubts go to them.
        auto_labels_due_back(project=project)
        project_pace(project=project)
    except Exception:
        # Labels are stored; the next consensus run checks again. Never fail the caller.
        log.exception("learning hooks of project %s failed", project_id)


def predictions_imported(*, project: Project, batch_id: int, model_name: str = "") -> None:
    """Called after a batch import commits (with or without predictions). Items that came
    with predictions make the import's model the incumbent (a ModelVersion of source
    `import`), and, while the project asks for an accuracy its record cannot prove yet, a
    share of the items it predicted is flagged for audit so people's labels measure it
    (apps/models/services/audits.py). With pacing on, the first of the batch's held items
    open to people."""
    from apps.models.services.audits import import_audits_draw
    from apps.models.services.pacing import project_pace_quietly

    try:
        import_audits_draw(project=project, batch_id=batch_id, model_name=model_name)
    except Exception:
        # The items are stored; without the record the first version is judged on its own.
        log.exception("recording the import's model of project %s failed", project.pk)
    # The batch's items wait held when pacing is on: the first of them open now.
    project_pace_quietly(project=project)


def suggestion_of(*, item: Item) -> dict[str, Any] | None:
    """The model's suggestion for an item: what a worker is shown when the project has
    pre-annotation on (off by default: it biases people toward the model) as the task is
    handed out (apps.tasks.services.assignments.claim records it). None when there is nothing."""
    # Audit items (auto-labeled, sent to people to measure the model) never show it: their
    # answers must be independent of the model they judge.
    if not item.prediction or item.state == Item.State.AUTO_LABELED:
        return None
    return {"label": item.prediction, "confidence": item.confidence}
