"""Per-project learning settings (LearningSettings), changed by the owner."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.models import learning
from apps.models.models import LearningSettings
from apps.models.services.pacing import project_pace_quietly
from apps.tasks.models import Project
from hitlcrowd.errors import InvalidInput, full_clean

SETTINGS_FIELDS = frozenset(
    {
        "model_enabled",
        "retrain_after_labels",
        "promotion_metric",
        "promotion_min_gain",
        "holdout_fraction",
        "strategy",
        "audit_share",
        "pre_annotation",
        "suspected_error_threshold",
        "learning_config",
        "people_batch",
    }
)


@transaction.atomic
def learning_settings_update(*, project: Project, **fields: Any) -> LearningSettings:
    unknown = set(fields) - SETTINGS_FIELDS
    if unknown:
        raise InvalidInput(
            errors={name: ["This field cannot be changed."] for name in sorted(unknown)}
        )
    row, _ = LearningSettings.objects.select_for_update().get_or_create(project=project)
    for name, value in fields.items():
        setattr(row, name, value)
    if "learning_config" in fields:
        try:
            learning.LearningConfig.from_dict(row.learning_config)
        except (TypeError, ValueError) as exc:
            raise InvalidInput.field("learning_config", str(exc)) from exc
    full_clean(row)
    row.save()
    if {"people_batch", "model_enabled"} & set(fields):
        transaction.on_commit(lambda: project_pace_quietly(project=project))
    return row
