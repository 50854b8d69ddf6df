"""Users in the loop: accept or correct a prediction. The label (source `user`) becomes the
item's final label and a training label; the item leaves the people queue. The resolution
itself is the tasks app's (apps.tasks.services.items.item_resolve), as an admin's is: it
closes the item's leases and writes an audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.models.models import Feedback
from apps.tasks.models import Item, Project
from apps.tasks.services.items import item_resolve
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, NotFound


@transaction.atomic
def item_feedback(
    *, project: Project, item_id: int, user: User, label: str, accepted: bool
) -> Feedback:
    """`accepted=True` confirms the model's label (then `label` must equal it); False
    corrects it. Sending the same feedback again changes nothing."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("No such item in this project.")
    _check(project, item, label, accepted)
    last = Feedback.objects.filter(item=item).order_by("-id").first()
    if last is not None and (last.label, last.accepted) == (label, accepted):
        return last
    model_label = item.prediction
    item_resolve(item_id=item.pk, label=label, by=user, source=Item.Source.USER)
    feedback = Feedback.objects.create(
        item=item,
        project=project,
        user=user,
        label=label,
        accepted=accepted,
        model_label=model_label,
    )
    return feedback


def _check(project: Project, item: Item, label: Any, accepted: Any) -> None:
    if not isinstance(label, str) or label not in project.labels:
        raise InvalidInput.field("label", f"Pick one of: {', '.join(project.labels)}.")
    if not isinstance(accepted, bool):
        raise InvalidInput.field("accepted", "Must be true or false.")
    if item.is_gold:
        raise InvalidInput.field("item", "A gold item already has its known label.")
    if accepted and label != item.prediction:
        raise InvalidInput.field(
            "accepted", f"The model predicted {item.prediction!r}; accept only that label."
        )
