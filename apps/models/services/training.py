"""Retraining: collect the training labels, train, judge against the active version on the
same holdout, record a ModelVersion, promote only if better, flag suspected label errors.

One run at a time per project: the claim is the INSERT of a RUNNING TrainingRun, which the
partial unique constraint `trainingrun_one_running` allows once. A run left RUNNING by a
killed job is marked failed once it is older than the queue's timeout (`job_dead_after()`, the
rule consensus runs and re-scorings follow too), so the retry that django-q2 delivers after
Q_RETRY seconds can claim the project again, and a job lost with its cluster (Redis broker)
does not block the next retrain.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from apps.models import evidence, learning
from apps.models.errors import ModelUnloadable, RetrainRunning
from apps.models.features import supports_builtin_model
from apps.models.models import ItemFlag, LearningSettings, ModelVersion, TrainingRun
from apps.models.services import audits
from apps.models.services.common import (
    RESCORE_JOB,
    RETRAIN_JOB,
    active_version,
    artifact_write,
    learning_config_of,
    learning_settings_of,
    model_load,
)
from apps.models.services.pacing import project_pace_quietly
from apps.tasks.models import Answer, AuditEvent, Item, Project
from apps.tasks.services.audit import audit_record
from apps.tasks.services.items import items_review_suspected
from apps.tasks.services.projects import refuse_unless_native
from apps.workers.selectors import blocked_worker_ids
from hitlcrowd.jobs import job_dead_after

log = logging.getLogger(__name__)

MIN_TRAINING_LABELS = 10
SEED = 0


def training_runs_dead_fail(*, project_id: int) -> int:
    """Mark failed the runs left RUNNING by a job that died (kill -9, timeout): past the
    queue's timeout none is alive. Without this a lost job (the Redis broker does not deliver
    it again) would block retraining for good. Returns the runs marked."""
    stale = timezone.now() - job_dead_after()
    return TrainingRun.objects.filter(
        project_id=project_id, status=TrainingRun.Status.RUNNING, started_at__lt=stale
    ).update(
        status=TrainingRun.Status.FAILED,
        finished_at=timezone.now(),
        detail="The job was killed or timed out; the active version was left as it was.",
    )


def training_running(*, project_id: int) -> bool:
    """Whether a live run holds the project (dead ones are marked failed first)."""
    training_runs_dead_fail(project_id=project_id)
    return TrainingRun.objects.filter(
        project_id=project_id, status=TrainingRun.Status.RUNNING
    ).exists()


# --- The training set --------------------------------------------------------------------------


@dataclass
class TrainingSet:
    item_ids: list[int] = field(default_factory=list)
    payloads: list[dict] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # The holdout split ranks items by external id: the same labels give the same split
    # whatever primary keys the database handed out.
    external_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.item_ids)

    def by_source(self) -> dict[str, int]:
        return dict(sorted(Counter(self.sources).items()))


def training_items(project: Project):
    """Items whose label people decided: gold, admin resolutions, user feedback, and final
    crowd consensus backed by at least one answer of a worker not blocked. Never the model's
    own labels (no self-training), never items waiting or in the disagreement queue."""
    unblocked_answer = (
        Answer.objects.counted()
        .filter(item=OuterRef("pk"))
        .exclude(worker_id__in=blocked_worker_ids(project=project))
    )
    audited = ItemFlag.objects.filter(item=OuterRef("pk"), kind=ItemFlag.Kind.AUDIT)
    return (
        Item.objects.filter(project=project)
        .annotate(has_answer=Exists(unblocked_answer))
        .filter(_decided(answered=True))
        # An admin marked these undecidable (apps/tasks/services/items.py).
        .exclude(state=Item.State.AMBIGUOUS)
        # Audited items judge every version, so none trains on them (services/audits.py).
        .exclude(Exists(audited))
        .order_by("pk")
    )


def _decided(*, answered: bool) -> Q:
    """Gold, resolved by an admin or user, or crowd consensus (with `answered`: backed by an
    answer of an unblocked worker, the `has_answer` annotation)."""
    crowd = Q(state=Item.State.CONSENSUS, label_source=Item.Source.CROWD)
    if answered:
        crowd &= Q(has_answer=True)
    resolved = Q(state=Item.State.RESOLVED, label_source__in=[Item.Source.ADMIN, Item.Source.USER])
    return Q(is_gold=True) | resolved | crowd


def training_label_count(project: Project) -> int:
    return training_items(project).count()


def training_set_collect(*, project: Project) -> TrainingSet:
    rows = training_items(project).values_list(
        "pk", "payload", "is_gold", "gold_label", "final_label", "label_source", "external_id"
    )
    config = learning_config_of(learning_settings_of(project)).features
    out = TrainingSet()
    for pk, payload, is_gold, gold_label, final_label, source, external_id in rows.iterator(
        chunk_size=2000
    ):
        label = gold_label if is_gold else final_label
        if label not in project.labels or not supports_builtin_model(
            project.item_kind, payload, config
        ):
            continue
        out.item_ids.append(pk)
        out.payloads.append(payload)
        out.labels.append(label)
        out.sources.append(Item.Source.GOLD if is_gold else source)
        out.external_ids.append(external_id)
    return _same_width(out, project.item_kind, config.field_for(project.item_kind))


def _same_width(data: TrainingSet, kind: str, key: str) -> TrainingSet:
    """Numeric items must all have the most common length; the odd ones are left out."""
    if kind == "text" or not data.payloads:
        return data
    widths = [len(p[key]) for p in data.payloads]
    common = Counter(widths).most_common(1)[0][0]
    keep = [i for i, w in enumerate(widths) if w == common]
    return TrainingSet(*[[column[i] for i in keep] for column in _columns(data)])


def _columns(data: TrainingSet) -> tuple[list, list, list, list, list]:
    return data.item_ids, data.payloads, data.labels, data.sources, data.external_ids


# --- Trigger -----------------------------------------------------------------------------------


def retrain_due(*, project: Project) -> bool:
    """N new training labels since the latest version (promoted or not), and none running.
    Never on an MTurk project: it has no built-in model."""
    if project.kind != Project.Kind.NATIVE:
        return False
    row = learning_settings_of(project)
    if not row.model_enabled:
        return False
    if training_running(project_id=project.pk):
        return False
    seen = (
        ModelVersion.objects.filter(project=project)
        .order_by("-number")
        .values_list("labels_seen", flat=True)
        .first()
    ) or 0
    wanted = seen + row.retrain_after_labels
    # The exact count probes every item's answers for one by an unblocked worker (~50 ms at
    # 20k items, after every consensus run); a count without that probe bounds it from above
    # and is enough to say "not yet", which is the usual answer.
    if _labeled_items_bound(project) < wanted:
        return False
    return training_label_count(project) >= wanted


def _labeled_items_bound(project: Project) -> int:
    """At least training_label_count: the same items without the unblocked-answer check."""
    items = Item.objects.filter(project=project).filter(_decided(answered=False))
    return items.exclude(state=Item.State.AMBIGUOUS).count()


def retrain_request(*, project: Project, trigger: str = "manual") -> None:
    """Retrain now, asked for by a person: queued, or refused (RetrainRunning) while a run
    holds the project, so the person hears it rather than a job that claims nothing."""
    refuse_unless_native(project, "retraining a model")
    if training_running(project_id=project.pk):
        raise RetrainRunning()
    retrain_enqueue(project_id=project.pk, trigger=trigger)


def retrain_enqueue(*, project_id: int, trigger: str = "labels") -> None:
    from django_q.tasks import async_task

    # ack_failure=False: a job that raised is delivered again after Q_CLUSTER["retry"]
    # seconds, up to max_attempts (the global ack_failures=True would drop it).
    async_task(
        RETRAIN_JOB,
        project_id,
        trigger,
        q_options={"group": f"retrain-{project_id}", "ack_failure": False},
    )


# --- One run -------------------------------------------------------------------------------


def _claim(project_id: int, trigger: str) -> TrainingRun | None:
    training_runs_dead_fail(project_id=project_id)
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(project_id=project_id, trigger=trigger)
    except IntegrityError:
        return None  # another run holds the project


def _finish(run: TrainingRun, status: str, detail: str, version: ModelVersion | None = None):
    TrainingRun.objects.filter(pk=run.pk).update(
        status=status, detail=detail[:5000], finished_at=timezone.now(), model_version=version
    )
    run.refresh_from_db()
    return run


def model_retrain(*, project_id: int, trigger: str = "labels") -> TrainingRun | None:
    """Train a candidate and promote it if better. None when another run holds the project.
    A failure marks the run failed, leaves the active version alone and re-raises (so the
    queue retries)."""
    run = _claim(project_id, trigger)
    if run is None:
        return None
    try:
        project = Project.objects.get(pk=project_id)
        run = _train_and_judge(project, run)
    except Exception as exc:
        _finish(run, TrainingRun.Status.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    if run.status == TrainingRun.Status.PROMOTED:
        try:
            suspected_errors_flag(project=project, version=run.model_version)
        except Exception:  # the new version stands; the check runs again after the next one
            log.exception("suspected label errors of project %s failed", project_id)
    # Not promoted (or skipped): the model has learned what it will from these labels, and
    # people may have the next items. Promoted: they wait for its re-score.
    project_pace_quietly(project=project)
    return run


def _train_and_judge(project: Project, run: TrainingRun) -> TrainingRun:
    row = learning_settings_of(project)
    data = training_set_collect(project=project)
    if len(data) < MIN_TRAINING_LABELS or len(set(data.labels)) < 2:
        detail = (
            f"{len(data)} training labels with {len(set(data.labels))} distinct labels; "
            f"need {MIN_TRAINING_LABELS} and 2."
        )
        return _finish(run, TrainingRun.Status.SKIPPED, detail)
    split = learning.split_holdout(
        data.labels, keys=data.external_ids, fraction=row.holdout_fraction, seed=SEED
    )
    payloads = np.asarray(data.payloads, dtype=object)
    labels = np.asarray(data.labels, dtype=object)
    model = learning.train(
        list(payloads[split.train]),
        list(labels[split.train]),
        kind=project.item_kind,
        label_set=list(project.labels),
        config=learning_config_of(row),
        seed=SEED,
    )
    holdout = (list(payloads[split.holdout]), list(labels[split.holdout]))
    metrics = learning.evaluate(model, *holdout)
    old_metrics, note = _judge_active(project, holdout)
    # Judged on items it never trained on: its holdout and every audit people have judged.
    audit_ids, audit_payloads, audit_labels = audits.audited_examples(project=project)
    judged = (holdout[0] + audit_payloads, holdout[1] + audit_labels)
    pairs = audits.evidence_pairs(model, *judged, project.labels)
    audit_ok = {
        pk: bool(ok) for pk, (_, ok) in zip(audit_ids, pairs[len(holdout[0]) :], strict=True)
    }
    mine, theirs, incumbent_name = _records_to_compare(project, pairs, judged, audit_ok)
    verdict = evidence.promotion_verdict(
        mine,
        theirs,
        baseline=_one_class_share(data.labels),
        incumbent_name=incumbent_name,
        min_gain=row.promotion_min_gain,
        successor=_successor(project, len(data)),
    )
    better, reason = verdict.promote, verdict.reason
    if better and row.promotion_metric != LearningSettings.Metric.ACCURACY:
        better, also = learning.is_better(
            metrics, old_metrics, row.promotion_metric, row.promotion_min_gain
        )
        reason += f"; {also}"
    version = _record(project, model, data, split, metrics, old_metrics, reason + note, better)
    audits.evidence_store(version, pairs)
    status = TrainingRun.Status.PROMOTED if better else TrainingRun.Status.KEPT_OLD
    return _finish(run, status, reason + note, version)


def _records_to_compare(
    project: Project, pairs: list[list], judged: tuple[list, list], audit_ok: dict[int, bool]
) -> tuple[list[bool], list[bool] | None, str]:
    """Right/wrong of the candidate and of the incumbent on the same items: the active version
    on all of the candidate's evidence; else the import's model on the audits drawn while it
    was the model (its labels are in their flags; the holdout's were overwritten by re-scores);
    else no incumbent (the one-class baseline is the bar)."""
    mine = [bool(ok) for _, ok in pairs]
    old = active_version(project.pk)
    if old is not None:
        try:
            theirs = audits.evidence_pairs(model_load(old), *judged, project.labels)
            return mine, [bool(ok) for _, ok in theirs], f"active {old.name}"
        except (ModelUnloadable, ValueError):
            log.warning("active %s could not be evaluated", old.name, exc_info=True)
    imported = audits.import_record_of(project)
    if imported is None:
        return mine, None, ""
    theirs_by_item = audits.import_judgements(imported)
    audits.evidence_store(imported, list(theirs_by_item.values()))
    shared = [pk for pk in theirs_by_item if pk in audit_ok]
    if len(shared) < evidence.MIN_EVIDENCE:  # no record to beat yet
        return mine, None, ""
    return (
        [audit_ok[pk] for pk in shared],
        [bool(theirs_by_item[pk][1]) for pk in shared],
        imported.name,
    )


def _successor(project: Project, labels: int) -> bool:
    """Whether the candidate is the active version's own kind trained on more labels (it
    then needs only not to be clearly worse). The import's model must be beaten clearly."""
    old = active_version(project.pk)
    return old is not None and labels > old.labels_seen


def _one_class_share(labels: list[str]) -> float:
    return Counter(labels).most_common(1)[0][1] / len(labels) if labels else 0.0


def _judge_active(project: Project, holdout: tuple[list, list]):
    """The active version's metrics on the candidate's holdout (not its stored figures)."""
    old = active_version(project.pk)
    if old is None:
        return None, ""
    try:
        return learning.evaluate(model_load(old), *holdout), ""
    except (ModelUnloadable, ValueError) as exc:
        return None, f" (active {old.name} could not be evaluated: {exc})"


def _record(
    project: Project,
    model: learning.TrainedModel,
    data: TrainingSet,
    split: learning.HoldoutSplit,
    metrics: learning.Metrics,
    old_metrics: learning.Metrics | None,
    reason: str,
    promote: bool,
) -> ModelVersion:
    number = (ModelVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0) + 1
    base = f"p{project.pk}/v{number}"
    sha = artifact_write(f"{base}/model.zip", learning.dump_model(model))
    artifact_write(f"{base}/training_set.json", _training_set_json(data, split))
    with transaction.atomic():
        version = ModelVersion.objects.create(
            project=project,
            number=number,
            artifact_path=f"{base}/model.zip",
            artifact_sha256=sha,
            training_set_path=f"{base}/training_set.json",
            n_train=len(split.train),
            n_holdout=len(split.holdout),
            labels_by_source=data.by_source(),
            labels_seen=len(data),
            accuracy=metrics.accuracy,
            macro_f1=metrics.macro_f1,
            ece=metrics.ece,
            compared_with=_metrics_dict(old_metrics),
            sklearn_version=model.sklearn_version,
            train_seconds=model.train_seconds,
            calibration=model.calibration,
            label_set=list(model.label_set),
            promotion_reason=reason,
        )
        if promote:
            _promote(version)
    return version


def _promote(version: ModelVersion) -> None:
    now = timezone.now()
    active = ModelVersion.objects.filter(project_id=version.project_id, is_active=True)
    retired = list(active.values_list("number", flat=True))
    active.update(is_active=False, retired_at=now)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True, promoted_at=now)
    version.is_active, version.promoted_at = True, now
    audit_record(
        project_id=version.project_id,
        actor=None,
        action=AuditEvent.Action.MODEL_PROMOTE,
        obj=version,
        changes={"active_version": [retired[0] if retired else None, version.number]},
    )
    version_id = version.pk
    transaction.on_commit(lambda: rescore_enqueue(model_version_id=version_id))


def rescore_enqueue(*, model_version_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        RESCORE_JOB,
        model_version_id,
        q_options={"group": f"rescore-{model_version_id}", "ack_failure": False},
    )


def _metrics_dict(metrics: learning.Metrics | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    return {"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1, "ece": metrics.ece}


def _training_set_json(data: TrainingSet, split: learning.HoldoutSplit) -> bytes:
    """Which items, which labels, from which source, and which were held out."""
    holdout = np.zeros(len(data), dtype=bool)
    holdout[split.holdout] = True
    body = {
        "item_ids": data.item_ids,
        "labels": data.labels,
        "sources": data.sources,
        "holdout": holdout.astype(int).tolist(),
    }
    return json.dumps(body, separators=(",", ":")).encode()


# --- Suspected label errors ------------------------------------------------------------------


def suspected_errors_flag(*, project: Project, version: ModelVersion) -> int:
    """Crowd labels the model confidently contradicts, out of fold, go to the disagreement
    queue (state needs_review) with the reason kept in an ItemFlag. Returns items flagged."""
    row = learning_settings_of(project)
    if row.suspected_error_threshold >= 1.0:
        return 0
    data = training_set_collect(project=project)
    if len(data) < MIN_TRAINING_LABELS or len(set(data.labels)) < 2:
        return 0
    found = learning.suspected_label_errors(
        data.payloads,
        data.labels,
        kind=project.item_kind,
        config=learning_config_of(row),
        seed=SEED,
        threshold=row.suspected_error_threshold,
    )
    crowd = [e for e in found if data.sources[e.index] == Item.Source.CROWD]
    return _flag_errors(project, version, data, crowd)


@transaction.atomic
def _flag_errors(project, version, data: TrainingSet, errors: list) -> int:
    by_item = {data.item_ids[error.index]: error for error in errors}
    moved = items_review_suspected(project=project, item_ids=by_item)
    for item_id in moved:
        error = by_item[item_id]
        reason = (
            f"Model {version.name} (out of fold) says {error.suggested!r} with "
            f"p={error.confidence:.3f}; consensus {error.given!r} has "
            f"p={error.given_probability:.3f}."
        )
        ItemFlag.objects.update_or_create(
            item_id=item_id,
            kind=ItemFlag.Kind.SUSPECTED_ERROR,
            defaults={
                "project": project,
                "model_version": version,
                "model_label": error.suggested,
                "given_label": error.given,
                "confidence": error.confidence,
                "reason": reason,
            },
        )
    return len(moved)


def learning_settings_ensure(*, project: Project) -> LearningSettings:
    row, _ = LearningSettings.objects.get_or_create(project=project)
    return row
