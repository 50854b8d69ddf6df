"""A model's record: its accuracy on items it never trained on, and the audits that feed it.

Evidence for a trained version is its holdout plus every audited item people have judged
(audited items never enter a training set: apps.models.services.training.training_items), so
all versions are judged on the same audits as they accumulate. The import's model (the
requester's own predictions) is recorded as a version of source `import` with the audits drawn
while it was the model: its labels and confidences are in the audit flags.

Audits: besides `audit_share` of the auto-labels, while the project asks for an accuracy
(`auto_label_accuracy`) and the incumbent's record is too short to prove it, a larger share of
the waiting items the model is at least AUDIT_FLOOR sure of is flagged, enough for
evidence.audits_needed(target) * AUDIT_MARGIN (bench/autolabel.py measures the cost).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.models import evidence, learning
from apps.models.errors import ModelUnloadable
from apps.models.features import supports_builtin_model
from apps.models.models import ItemFlag, LearningSettings, ModelVersion
from apps.models.selectors import audit_verdicts, auto_label_threshold, auto_labels_below
from apps.models.services.common import (
    active_version,
    learning_settings_of,
    model_load,
    model_unloadable_retrain,
    models_dir,
)
from apps.tasks.models import Item, Project

log = logging.getLogger(__name__)

AUDIT_FLOOR = 0.5
AUDIT_MARGIN = 1.5
IMPORT_NUMBER = 0


# --- Evidence ---------------------------------------------------------------------------------


def evidence_pairs(
    model: learning.TrainedModel, payloads: Sequence[Any], labels: Sequence[str], label_set
) -> list[list]:
    """[confidence, correct] of the model on each item."""
    if not payloads:
        return []
    proba = learning.predict_proba(model, list(payloads), list(label_set))
    predicted, confidence = learning.top_labels(proba, list(label_set))
    return [
        [round(float(c), 6), p == y] for p, c, y in zip(predicted, confidence, labels, strict=True)
    ]


def audited_examples(*, project: Project, exclude: Iterable[int] = ()) -> tuple[list, list, list]:
    """(item ids, payloads, people's labels) of the audited items people have judged, whose
    payload a built-in model can read."""
    verdicts = audit_verdicts(project=project)
    for pk in exclude:
        verdicts.pop(pk, None)
    ids, payloads, labels = [], [], []
    rows = Item.objects.filter(pk__in=list(verdicts)).order_by("pk").values_list("pk", "payload")
    for pk, payload in rows:
        if verdicts[pk] in project.labels and supports_builtin_model(project.item_kind, payload):
            ids.append(pk)
            payloads.append(payload)
            labels.append(verdicts[pk])
    return ids, payloads, labels


def evidence_store(version: ModelVersion, pairs: list[list]) -> evidence.Record:
    record = evidence.record_of([bool(ok) for _, ok in pairs])
    fields = {
        "evidence": pairs,
        "evidence_n": record.n,
        "evidence_correct": record.correct,
        "accuracy_low": record.low if record.n else None,
        "evidence_at": timezone.now(),
    }
    ModelVersion.objects.filter(pk=version.pk).update(**fields)
    for name, value in fields.items():
        setattr(version, name, value)
    return record


def import_judgements(version: ModelVersion) -> dict[int, list]:
    """The import's model on the audits drawn while it was the model: item id ->
    [confidence, correct], for the items people have judged."""
    flags = ItemFlag.objects.filter(model_version=version, kind=ItemFlag.Kind.AUDIT)
    flagged = {pk: (label, conf) for pk, label, conf in flags.values_list(
        "item_id", "model_label", "confidence"
    )}  # fmt: skip
    verdicts = audit_verdicts(project=version.project, item_ids=flagged)
    return {
        pk: [float(flagged[pk][1] or 0.0), flagged[pk][0] == label]
        for pk, label in sorted(verdicts.items())
    }


def import_pairs(version: ModelVersion) -> list[list]:
    return list(import_judgements(version).values())


def holdout_examples(version: ModelVersion) -> tuple[list, list, list]:
    """(item ids, payloads, labels) of the version's holdout, from its training_set.json."""
    try:
        body = json.loads((models_dir() / version.training_set_path).read_bytes())
    except (OSError, ValueError):
        return [], [], []
    held = {
        pk: label
        for pk, label, out in zip(body["item_ids"], body["labels"], body["holdout"], strict=True)
        if out
    }
    rows = Item.objects.filter(pk__in=list(held)).order_by("pk").values_list("pk", "payload")
    ids, payloads, labels = [], [], []
    for pk, payload in rows:
        ids.append(pk)
        payloads.append(payload)
        labels.append(held[pk])
    return ids, payloads, labels


def evidence_refresh(*, project: Project) -> None:
    """Recompute the records of the active version and of the import's model from the audits
    judged so far (after consensus stored labels on audited items)."""
    imported = import_record_of(project)
    if imported is not None:
        evidence_store(imported, import_pairs(imported))
    version = active_version(project.pk)
    if version is None:
        return
    try:
        model = model_load(version)
    except ModelUnloadable as error:
        log.warning("evidence of %s not refreshed: %s", version.name, error)
        model_unloadable_retrain(version=version, error=error)
        return
    held_ids, held_payloads, held_labels = holdout_examples(version)
    _, payloads, labels = audited_examples(project=project, exclude=held_ids)
    pairs = evidence_pairs(model, held_payloads + payloads, held_labels + labels, project.labels)
    evidence_store(version, pairs)


def evidence_refresh_if_audited(*, project: Project, item_ids: Iterable[int]) -> bool:
    """Refresh when one of the changed items is an audited one. True if refreshed."""
    ids = list(item_ids)
    if not ids:
        return False
    if not ItemFlag.objects.filter(item_id__in=ids, kind=ItemFlag.Kind.AUDIT).exists():
        return False
    evidence_refresh(project=project)
    return True


# --- The import's model ------------------------------------------------------------------------


def import_record_of(project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, source=ModelVersion.Source.IMPORT).first()


def import_record_ensure(*, project: Project, name: str) -> ModelVersion:
    """The project's record of the import's model (one per project: the latest import's name)."""
    found = import_record_of(project)
    if found is not None:
        if name and found.external_name != name:
            ModelVersion.objects.filter(pk=found.pk).update(external_name=name[:100])
            found.external_name = name[:100]
        return found
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                project=project,
                number=IMPORT_NUMBER,
                source=ModelVersion.Source.IMPORT,
                external_name=(name or "import")[:100],
                promotion_reason="The requester's predictions, imported with a batch.",
            )
    except IntegrityError:
        return ModelVersion.objects.get(project=project, number=IMPORT_NUMBER)


def import_audits_draw(*, project: Project, batch_id: int, model_name: str = "") -> int:
    """Record the import's model and flag for audit a share of the batch's waiting items it
    predicted (audit_share_for). Returns the items flagged."""
    from apps.models.services.scoring import audit_drawn

    predicted = Item.objects.filter(batch_id=batch_id, is_gold=False).exclude(prediction="")
    if not predicted.exists():
        return 0
    name = model_name or (
        predicted.exclude(model_version="").values_list("model_version", flat=True).first() or ""
    )
    version = import_record_ensure(project=project, name=name)
    candidates = list(
        predicted.filter(state=Item.State.WAITING, confidence__gte=AUDIT_FLOOR).values_list(
            "pk", "prediction", "confidence"
        )
    )
    row = learning_settings_of(project)
    share = audit_share_for(project=project, row=row, version=version, candidates=len(candidates))
    drawn = [c for c in candidates if audit_drawn(c[0], share)]
    audits_flag(project=project, version=version, rows=drawn)
    return len(drawn)


def audits_flag(
    *, project: Project, version: ModelVersion, rows: Iterable[tuple[int, str, float]]
) -> None:
    """Flag (item id, model label, confidence) rows for audit: people label these items
    without seeing the model, and no model trains on them."""
    ItemFlag.objects.bulk_create(
        [
            ItemFlag(
                item_id=pk,
                project=project,
                kind=ItemFlag.Kind.AUDIT,
                model_version=version,
                model_label=label,
                confidence=confidence,
                reason="Audit sample: people label it too, to measure the model.",
            )
            for pk, label, confidence in rows
        ],
        ignore_conflicts=True,
    )


def auto_labels_recheck(*, project: Project) -> int:
    """After the accuracy wanted (or the threshold) changed: the auto-labels below the
    threshold now in force go back to people (apps.tasks.services.items writes). Confidences
    are those stored when each item was auto-labeled. Returns the items sent back."""
    from apps.tasks.services.items import items_auto_labels_reopen

    threshold = auto_label_threshold(project=project)
    below = auto_labels_below(project=project, threshold=threshold)
    return items_auto_labels_reopen(
        project=project, item_ids=list(below.values_list("pk", flat=True))
    )


def reopen_budget(*, project: Project, row: LearningSettings) -> int:
    """How many auto-labels below the threshold a re-score sends back to people: a retrain's
    worth (retrain_after_labels) while people have more than that left to do, all of them
    once they have less (auto_labels_due_back sends those when people run out between
    re-scores)."""
    if _people_work_left(project) < row.retrain_after_labels:
        return 10**9
    return row.retrain_after_labels


def _people_work_left(project: Project) -> int:
    return Item.objects.filter(project=project, state=Item.State.WAITING, is_gold=False).count()


def auto_labels_due_back(*, project: Project) -> int:
    """When people have less than a retrain's worth of work left, the auto-labels the active
    version scored below the threshold in force go back to them (a re-score sends back only
    a retrain's worth at a time: scoring._auto_labels_rescore). Called after labels change.
    Returns the items sent back."""
    from apps.tasks.services.items import items_auto_labels_reopen

    row = learning_settings_of(project)
    version = active_version(project.pk)
    if version is None or not row.model_enabled:
        return 0
    threshold = auto_label_threshold(project=project)
    if threshold is None or _people_work_left(project) >= row.retrain_after_labels:
        return 0
    below = auto_labels_below(project=project, threshold=threshold).filter(
        model_version=version.name
    )
    return items_auto_labels_reopen(
        project=project, item_ids=list(below.values_list("pk", flat=True))
    )


# --- How many audits --------------------------------------------------------------------------


def audit_share_for(
    *, project: Project, row: LearningSettings, version: ModelVersion | None, candidates: int
) -> float:
    """The share of the `candidates` (waiting items the model is AUDIT_FLOOR sure of) to audit
    now: 0 without an accuracy target (only auto-labels are audited then), else enough to
    bring the audits to audits_needed(target) * AUDIT_MARGIN, at least audit_share."""
    target = project.auto_label_accuracy
    if target is None or candidates <= 0:
        return 0.0
    wanted = evidence.audits_needed(target) * AUDIT_MARGIN
    have = ItemFlag.objects.filter(project=project, kind=ItemFlag.Kind.AUDIT).count()
    short = wanted - have
    if short <= 0:
        return row.audit_share
    return min(1.0, max(row.audit_share, short / candidates))
