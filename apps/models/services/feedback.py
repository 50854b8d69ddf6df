"""Users in the loop: accept or correct a prediction. The label (source `user`) becomes the
item's final label and a training label; the item leaves the people queue."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apps.models.models import Feedback
from apps.models.services.hooks import labels_changed
from apps.tasks.models import HIT, Assignment, Item, Project
from apps.tasks.services.assignments import hit_slots_recount
from apps.workers.models import User


@transaction.atomic
def item_feedback(
    *, project: Project, item_id: int, user: User, label: str, accepted: bool
) -> Feedback:
    """`accepted=True` confirms the model's label (then `label` must equal it); False
    corrects it. Sending the same feedback again changes nothing."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise Http404("No such item in this project.")
    _check(project, item, label, accepted)
    last = Feedback.objects.filter(item=item).order_by("-id").first()
    if last is not None and (last.label, last.accepted) == (label, accepted):
        return last
    now = timezone.now()
    item.final_label = label
    item.final_confidence = 1.0
    item.posterior = {name: float(name == label) for name in project.labels}
    item.label_source = Item.Source.USER
    item.state = Item.State.RESOLVED
    item.resolved_by = user
    item.resolved_at = now
    item.save()
    _close_hit(item, now)
    feedback = Feedback.objects.create(
        item=item,
        project=project,
        user=user,
        label=label,
        accepted=accepted,
        model_label=item.prediction,
    )
    labels_changed(project_id=project.pk, item_ids=[item.pk])
    return feedback


def _check(project: Project, item: Item, label: Any, accepted: Any) -> None:
    if not isinstance(label, str) or label not in project.labels:
        raise ValidationError({"label": f"Pick one of: {', '.join(project.labels)}."})
    if not isinstance(accepted, bool):
        raise ValidationError({"accepted": "Must be true or false."})
    if item.is_gold:
        raise ValidationError({"item": "A gold item already has its known label."})
    if accepted and label != item.prediction:
        raise ValidationError(
            {"accepted": f"The model predicted {item.prediction!r}; accept only that label."}
        )


def _close_hit(item: Item, now) -> None:
    hit = HIT.objects.select_for_update().filter(item=item, state=HIT.State.OPEN).first()
    if hit is None:
        return
    HIT.objects.filter(pk=hit.pk).update(state=HIT.State.DONE, updated_at=now)
    Assignment.objects.filter(hit=hit, state=Assignment.State.LEASED).update(
        state=Assignment.State.EXPIRED, finished_at=now
    )
    hit_slots_recount(hit_ids=[hit.pk])
