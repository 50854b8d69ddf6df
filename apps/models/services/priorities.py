"""The place an item gets in the people queue, one rule for every HIT that opens.

A HIT's priority is its item's uncertainty under the active model, by the project's active
learning strategy (a batch strategy ranks items by margin here: its diverse batch is picked
once per re-score, scoring._diversity_boost). Without a usable model it is 0, what the batch
import gives. The re-score applies it to every waiting item; the tasks app asks for it when it
re-opens an item (guideline re-queue, send back for more answers), so a re-opened HIT no
longer sits at 0 below every HIT the model ranked.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from apps.models import active, learning
from apps.models.errors import ModelUnloadable
from apps.models.features import supports_builtin_model
from apps.models.models import LearningSettings
from apps.models.services.common import (
    active_version,
    learning_settings_of,
    model_load,
    model_unloadable_retrain,
)
from apps.tasks.models import Item, Project

NO_MODEL_PRIORITY = 0.0
SCORE_BATCH = 1000


def per_item_priority(row: LearningSettings, proba: np.ndarray, *, seed: int) -> np.ndarray:
    """Priorities (higher is served first) of items the model gave these probabilities."""
    strategy = row.strategy if row.strategy not in active.BATCH_STRATEGIES else "margin"
    return active.prioritize(strategy, proba, seed=seed)


def item_queue_priorities(*, project: Project, item_ids: Iterable[int]) -> dict[int, float]:
    """{item id: the priority its HIT gets}, for items of `project`."""
    ids = sorted(set(item_ids))
    found = dict.fromkeys(ids, NO_MODEL_PRIORITY)
    row = learning_settings_of(project)
    version = active_version(project.pk)
    if version is None or not row.model_enabled or not ids:
        return found
    try:
        model = model_load(version)
    except ModelUnloadable as error:  # queued as if there were no model, until a retrain
        model_unloadable_retrain(version=version, error=error)
        return found
    labels = list(project.labels)
    for start in range(0, len(ids), SCORE_BATCH):
        payloads = Item.objects.filter(project=project, pk__in=ids[start : start + SCORE_BATCH])
        usable = [
            (pk, payload)
            for pk, payload in payloads.order_by("pk").values_list("pk", "payload")
            if supports_builtin_model(project.item_kind, payload, model.config.features)
        ]
        if not usable:
            continue
        proba = learning.predict_proba(model, [payload for _, payload in usable], labels)
        priority = per_item_priority(row, proba, seed=usable[0][0])
        found.update((pk, float(p)) for (pk, _), p in zip(usable, priority, strict=True))
    return found
