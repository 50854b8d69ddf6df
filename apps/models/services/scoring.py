"""Scoring items with the active model: re-scoring open items after a promotion, and the
online predict call.

Routing follows the batch import's rule (`apps.tasks.ingest.RowValidator`): a non-gold item
whose confidence is at or above the project's threshold is auto-labeled, every other one waits
for people. An auto-labeled item drawn for the audit sample keeps (or gets) a HIT, flagged in
ItemFlag, so the model's live accuracy is measured on items people label without seeing it.

This module decides; the tasks app writes (apps.tasks.services.items): it gets `ScoredRow`s
and keeps with people any item someone holds a live lease on or has answered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.models import active, learning
from apps.models.errors import ModelUnloadable, PayloadConflict
from apps.models.features import supports_builtin_model
from apps.models.models import (
    ItemFlag,
    LearningSettings,
    ModelVersion,
    Prediction,
    RescoreRun,
)
from apps.models.selectors import auto_label_threshold
from apps.models.services import audits
from apps.models.services.common import (
    active_version,
    learning_settings_of,
    model_load,
    model_unloadable_retrain,
)
from apps.models.services.pacing import project_pace_quietly
from apps.models.services.priorities import NO_MODEL_PRIORITY, per_item_priority
from apps.tasks import ingest
from apps.tasks.models import HIT, Answer, Item, Project
from apps.tasks.services.items import (
    AUDIT,
    AUTO,
    PEOPLE,
    ScoredRow,
    hit_priorities_set,
    item_audit_open,
    item_create,
    item_scores_apply,
    items_auto_labels_rescore,
)
from apps.tasks.services.projects import refuse_unless_native
from hitlcrowd.errors import InvalidInput
from hitlcrowd.jobs import job_dead_after

log = logging.getLogger(__name__)

RESCORE_CHUNK = 1000
# Batch strategies pick their batch among this many of the most uncertain open items.
DIVERSITY_POOL = 500
DIVERSITY_BATCH = 50
LABELED_FEATURES = 2000
# coverage also covers a random sample of this many open HITs beyond the most uncertain ones.
COVERAGE_GROUND = 2000
AUDIT_SEED = "audit"
# Audit items are served before any other HIT (margin priorities are at most 1).
AUDIT_PRIORITY = 1.0


def audit_drawn(item_id: int, share: float) -> bool:
    """Deterministic: the same item is always in (or out of) the sample for a given share."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(f"{AUDIT_SEED}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def routing_threshold(project: Project) -> float:
    """The confidence at or above which the active model's label is final (inf: none is)."""
    threshold = auto_label_threshold(project=project)
    return math.inf if threshold is None else threshold


def _scorable(project: Project, row: LearningSettings, version: ModelVersion | None) -> bool:
    return version is not None and row.model_enabled


# --- Re-scoring -------------------------------------------------------------------------------


def rescore_start(*, model_version_id: int) -> RescoreRun | None:
    """The rescore run of the project's active version (created once); older running ones
    are superseded. A job queued by a version promoted and replaced since works for the
    active one: when promotions come faster than jobs (digits, 30 simulated workers: one
    every 2-3 s), a job that gave up on a replaced version left every version unscored but
    the last one (docs/benchmarks-simulate.md). None when no version is active. Whether this
    job may work on it is `rescore_claim`'s answer."""
    project_id = (
        ModelVersion.objects.filter(pk=model_version_id)
        .values_list("project_id", flat=True)
        .first()
    )
    version = ModelVersion.objects.filter(project_id=project_id, is_active=True).first()
    if version is None:
        return None
    RescoreRun.objects.filter(
        project_id=version.project_id, status=RescoreRun.Status.RUNNING
    ).exclude(model_version=version).update(
        status=RescoreRun.Status.SUPERSEDED, finished_at=timezone.now()
    )
    try:
        with transaction.atomic():
            run, created = RescoreRun.objects.get_or_create(
                model_version=version, defaults={"project_id": version.project_id}
            )
    except IntegrityError:
        run, created = RescoreRun.objects.get(model_version=version), False
    if created:
        total = _open_items(version.project_id).count()
        RescoreRun.objects.filter(pk=run.pk).update(total=total)
        run.total = total
    return run


def rescore_claim(run: RescoreRun) -> bool:
    """Take the run for this job (conditional UPDATE, so two jobs never work one run): a new
    run, one whose job died (running, claimed longer ago than Q_JOB_DEAD_AFTER: a redelivered
    job resumes it) or one the sweep marked failed, while attempts are left. `run` is reloaded."""
    now = timezone.now()
    running = Q(status=RescoreRun.Status.RUNNING)
    dead = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - job_dead_after())
    retry = Q(status=RescoreRun.Status.FAILED, attempts__lt=settings.Q_CLUSTER["max_attempts"])
    claimed = (
        RescoreRun.objects.filter(pk=run.pk)
        .filter((running & dead) | retry)
        .update(
            status=RescoreRun.Status.RUNNING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            finished_at=None,
        )
    )
    run.refresh_from_db()
    return claimed == 1


def rescore_recover_due(*, now: datetime | None = None) -> list[int]:
    """Mark failed the runs whose job died (still running, claimed longer ago than
    Q_JOB_DEAD_AFTER) and queue a job for those of an active version with attempts left: the
    Redis broker does not deliver a killed or failed job again. Returns the versions queued.
    Called by the every-5-minutes settle job."""
    from apps.models.services.training import rescore_enqueue

    now = now or timezone.now()
    dead = Q(claimed_at__lt=now - job_dead_after()) | Q(
        claimed_at__isnull=True, started_at__lt=now - job_dead_after()
    )
    stuck = RescoreRun.objects.filter(dead, status=RescoreRun.Status.RUNNING)
    queued = []
    for pk, version_id, attempts, version_active in stuck.values_list(
        "pk", "model_version_id", "attempts", "model_version__is_active"
    ):
        failed = (
            RescoreRun.objects.filter(dead, pk=pk, status=RescoreRun.Status.RUNNING).update(
                status=RescoreRun.Status.FAILED,
                finished_at=now,
                error="killed: its job died before the run finished",
            )
            == 1
        )
        if failed and version_active and attempts < settings.Q_CLUSTER["max_attempts"]:
            rescore_enqueue(model_version_id=version_id)
            queued.append(version_id)
    return queued


def _open_items(project_id: int, after: int = 0):
    """Waiting items, gold ones too: they get a prediction (for pre-annotation, so a task
    with no suggestion never tells a worker it is gold) but are never routed."""
    return (
        Item.objects.filter(project_id=project_id, state=Item.State.WAITING, pk__gt=after)
        .exclude(label_source__in=[Item.Source.ADMIN, Item.Source.USER])
        .order_by("pk")
    )


def rescore_run(*, model_version_id: int) -> RescoreRun | None:
    """Score the open items in chunks, resuming after the last finished chunk. Stops when a
    newer version got promoted meanwhile. Does nothing while another job holds the run."""
    run = rescore_start(model_version_id=model_version_id)
    if run is None or not rescore_claim(run):
        return run
    version = run.model_version
    project = Project.objects.get(pk=version.project_id)
    row = learning_settings_of(project)
    try:
        model = model_load(version)
    except ModelUnloadable as error:  # running it again will not help; a retrain will
        model_unloadable_retrain(version=version, error=error)
        RescoreRun.objects.filter(pk=run.pk).update(error=str(error)[:2000])
        return _end(run, RescoreRun.Status.FAILED)
    try:
        while _still_active(version):
            chunk = list(
                _open_items(project.pk, run.last_item_id).values(
                    "pk", "payload", "is_gold", "hit__pk"
                )[:RESCORE_CHUNK]
            )
            if not chunk:
                break
            _rescore_chunk(project, row, version, model, run, chunk)
        _auto_labels_rescore(project, row, version, model)
        if not _still_active(version):
            return _end(run, RescoreRun.Status.SUPERSEDED)
        _diversity_boost(project, row, model)
    except Exception as exc:
        RescoreRun.objects.filter(pk=run.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    run = _end(run, RescoreRun.Status.FINISHED)
    # The new version ranked the held items: people get its first choices.
    project_pace_quietly(project=project)
    return run


def _auto_labels_rescore(project: Project, row, version: ModelVersion, model) -> int:
    """The new version re-scores what earlier models auto-labeled (the import's seed model
    included): an auto-label is a model's label, so the better model's label and confidence
    replace it. Items now below the threshold in force go back to people, the least sure
    first, at most `audits.reopen_budget` of them a re-score: a fast crowd would otherwise
    spend its answers on items the next version takes back (the rest wait their turn,
    auto-labeled with the score they got). While the new version's record proves no
    threshold (auto_label_accuracy set, too little evidence), earlier auto-labels stand.
    Returns the items sent back."""
    below: list[ScoredRow] = []
    after = 0
    while _still_active(version):
        chunk = list(
            Item.objects.filter(
                project=project,
                state=Item.State.AUTO_LABELED,
                label_source=Item.Source.MODEL,
                pk__gt=after,
            )
            .exclude(model_version=version.name)  # auto-labeled by this very re-score
            .order_by("pk")
            .values("pk", "payload", "is_gold", "hit__pk")[:RESCORE_CHUNK]
        )
        threshold = routing_threshold(project)  # audits judged meanwhile move it
        if not chunk or math.isinf(threshold):
            break
        after = chunk[-1]["pk"]
        rows = [
            ScoredRow(s.item_id, s.label, s.confidence, s.priority, AUTO)
            for s in _score(project, row, model, chunk)
        ]
        below += [r for r in rows if r.confidence < threshold]
        items_auto_labels_rescore(project=project, model_version=version.name, rows=rows)
    budget = audits.reopen_budget(project=project, row=row)
    back = [replace(r, route=PEOPLE) for r in sorted(below, key=lambda r: r.confidence)[:budget]]
    done = items_auto_labels_rescore(project=project, model_version=version.name, rows=back)
    log.info(
        "%s: %d auto-labels below the threshold, %d back to people",
        version.name, len(below), len(done.reopened),
    )  # fmt: skip
    return len(done.reopened)


def _still_active(version: ModelVersion) -> bool:
    return ModelVersion.objects.filter(pk=version.pk, is_active=True).exists()


def _end(run: RescoreRun, status: str) -> RescoreRun:
    RescoreRun.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now())
    run.refresh_from_db()
    return run


@dataclass
class _Scored:
    item_id: int
    hit_id: int | None
    is_gold: bool
    label: str
    confidence: float
    priority: float


def _score(project: Project, row, model, chunk: list[dict]) -> list[_Scored]:
    usable = _usable(project, model, chunk, payload_of=itemgetter("payload"))
    if not usable:
        return []
    proba = learning.predict_proba(model, [r["payload"] for r in usable], list(project.labels))
    labels, confidence = learning.top_labels(proba, list(project.labels))
    priority = per_item_priority(row, proba, seed=usable[0]["pk"])
    return [
        _Scored(r["pk"], r["hit__pk"], r["is_gold"], labels[i], float(confidence[i]), float(p))
        for i, (r, p) in enumerate(zip(usable, priority, strict=True))
    ]


def _rescore_chunk(project, row, version, model, run: RescoreRun, chunk: list[dict]) -> None:
    scored = _score(project, row, model, chunk)
    answered = set(
        Answer.objects.filter(item_id__in=[s.item_id for s in scored])
        .values_list("item_id", flat=True)
        .distinct()
    )
    by_id = {s.item_id: s for s in scored}
    # The tasks app writes, in short transactions of its own: never inside one of ours, which
    # would hold every HIT of the chunk locked until the chunk ends (the claim skips them).
    applied = item_scores_apply(
        project=project,
        model_version=version.name,
        rows=_route(row, project, scored, answered),
        # An item kept with people for a live lease: its answer judges the model too.
        on_applied=lambda done: _flag_audit(
            project, version, [by_id[i] for i in (*done.audit, *done.kept)]
        ),
    )
    RescoreRun.objects.filter(pk=run.pk).update(
        done=F("done") + len(chunk),
        last_item_id=chunk[-1]["pk"],
        auto_labeled=F("auto_labeled") + len(applied.auto) + len(applied.audit),
        audited=F("audited") + len(applied.audit),
        reprioritized=F("reprioritized") + len(applied.people) + len(applied.kept),
    )
    run.refresh_from_db()


def _route(row, project, scored: list[_Scored], answered: set[int]) -> list[ScoredRow]:
    """Where each scored item goes: auto-labeled when the model is sure enough and nobody
    answered it yet (a share of those drawn for the audit sample), else people."""
    threshold = routing_threshold(project)
    routed = []
    for s in scored:
        route, priority = PEOPLE, s.priority
        if not s.is_gold and s.confidence >= threshold and s.item_id not in answered:
            route = AUDIT if audit_drawn(s.item_id, row.audit_share) else AUTO
        if route == AUDIT:  # served at the top of the queue
            priority = AUDIT_PRIORITY
        routed.append(ScoredRow(s.item_id, s.label, s.confidence, priority, route))
    return routed


def _flag_audit(project: Project, version: ModelVersion, audit: list[_Scored]) -> None:
    for s in audit:
        ItemFlag.objects.get_or_create(
            item_id=s.item_id,
            kind=ItemFlag.Kind.AUDIT,
            defaults={
                "project": project,
                "model_version": version,
                "model_label": s.label,
                "confidence": s.confidence,
                "reason": "Audit sample: people label it too, to measure the model.",
            },
        )


def _diversity_boost(project: Project, row, model) -> None:
    """Batch strategies: among the most uncertain open HITs, the diverse batch goes first."""
    if row.strategy not in active.BATCH_STRATEGIES:
        return
    pool = _usable(
        project,
        model,
        HIT.objects.filter(project=project, state=HIT.State.OPEN, is_gold=False)
        .order_by("-priority", "pk")
        .values_list("pk", "item__payload")[:DIVERSITY_POOL],
    )
    if len(pool) < 2:
        return
    payloads = [payload for _, payload in pool]
    priority = active.prioritize(
        row.strategy,
        learning.predict_proba(model, payloads, list(project.labels)),
        features=learning.model_features(model, payloads),
        # One diverse batch per retrain: bench/learning.py finds small batches (5-20) need
        # the fewest labels; one batch of 50 when the project retrains every 200 wastes labels.
        batch_size=min(row.retrain_after_labels or DIVERSITY_BATCH, DIVERSITY_BATCH, len(pool)),
        seed=0,
        **_strategy_inputs(project, row, model, skip={pk for pk, _ in pool}),
    )
    priorities = {pk: float(v) for (pk, _), v in zip(pool, priority, strict=True)}
    hit_priorities_set(project=project, priorities=priorities)


def _usable(project: Project, model, rows, payload_of=itemgetter(1)) -> list:
    """The rows whose payload the model can featurize (not an image given by URL)."""
    config = model.config.features
    return [r for r in rows if supports_builtin_model(project.item_kind, payload_of(r), config)]


def _strategy_inputs(project: Project, row, model, skip: set[int]) -> dict[str, Any]:
    """What kcenter and coverage need besides the pool: the labeled items and, for coverage,
    a random sample of the rest of the queue."""
    inputs: dict[str, Any] = {}
    if row.strategy in ("kcenter", "coverage"):
        inputs["labeled_features"] = _labeled_features(project, model)
    if row.strategy == "coverage":
        ground = [payload for _, payload in _ground_sample(project, model, skip)]
        if ground:
            inputs["ground_features"] = learning.model_features(model, ground)
            inputs["ground_proba"] = learning.predict_proba(model, ground, list(project.labels))
    return inputs


def _ground_sample(project: Project, model, skip: set[int]) -> list[tuple[int, Any]]:
    """Up to COVERAGE_GROUND random open HITs outside the uncertain pool.

    The random order sorts HIT ids only (0.16-0.29 s over a million open HITs on PostgreSQL);
    the payloads are fetched for the sample. Runs once per promotion, in the rescore job."""
    picked = [
        pk
        for pk in HIT.objects.filter(project=project, state=HIT.State.OPEN, is_gold=False)
        .order_by("?")
        .values_list("pk", flat=True)[: COVERAGE_GROUND + len(skip)]
        if pk not in skip
    ][:COVERAGE_GROUND]
    rows = HIT.objects.filter(pk__in=picked).order_by("pk").values_list("pk", "item__payload")
    return _usable(project, model, rows)


def _labeled_features(project: Project, model) -> Any:
    """The newest labeled items in the model's feature space, for kcenter (which picks items
    far from everything labeled) and coverage (which starts from what they cover). At most
    LABELED_FEATURES rows."""
    from apps.models.services.training import training_items

    payloads = list(
        training_items(project).order_by("-pk").values_list("payload", flat=True)[:LABELED_FEATURES]
    )
    return learning.model_features(model, payloads) if payloads else None


# --- Online predict ----------------------------------------------------------------------------


@dataclass
class PredictResult:
    item: Item
    auto_labeled: bool
    replayed: bool
    label: str = ""
    confidence: float | None = None
    model_version: str = ""


def item_predict(
    *, project: Project, payload: Any, external_id: str | None = None
) -> PredictResult:
    """Label `payload` with the active model if it is sure enough, else create the item and
    its HIT for people. Idempotent by external_id: a repeat returns the stored item."""
    refuse_unless_native(project, "predict")
    external_id = external_id or f"predict-{uuid.uuid4().hex}"
    existing = Item.objects.filter(project=project, external_id=external_id).first()
    if existing is not None:
        return _replay(existing, payload)
    row = learning_settings_of(project)
    version = active_version(project.pk)
    try:
        label, confidence, proba = _predict_one(project, row, version, payload)
    except ModelUnloadable as error:
        model_unloadable_retrain(version=version, error=error)
        raise
    clean = _validate(project, external_id, payload, label, confidence)
    try:
        return _create(project, row, version, clean, proba)
    except IntegrityError:  # a concurrent call with the same external_id won
        existing = Item.objects.get(project=project, external_id=external_id)
        return _replay(existing, payload)


def _replay(item: Item, payload: Any) -> PredictResult:
    if item.payload != payload:
        raise PayloadConflict()
    auto = item.state == Item.State.AUTO_LABELED
    return PredictResult(
        item=item,
        auto_labeled=auto,
        replayed=True,
        label=item.final_label if auto else "",
        confidence=item.final_confidence if auto else None,
        model_version=item.model_version if auto else "",
    )


def _predict_one(project, row, version, payload) -> tuple[str, float | None, np.ndarray | None]:
    if not _scorable(project, row, version) or not isinstance(payload, dict):
        return "", None, None
    model = model_load(version)
    if not supports_builtin_model(project.item_kind, payload, model.config.features):
        return "", None, None
    proba = learning.predict_proba(model, [payload], list(project.labels))
    labels, confidence = learning.top_labels(proba, list(project.labels))
    return labels[0], float(confidence[0]), proba


def _validate(project, external_id, payload, label, confidence) -> ingest.CleanRow:
    data = {"external_id": external_id, "payload": payload}
    if label:
        data |= {"prediction": label, "confidence": confidence}
    validator = ingest.RowValidator(
        item_kind=project.item_kind,
        labels=project.labels,
        threshold=routing_threshold(project),
    )
    checked = validator.check(ingest.Record(row=1, line=1, data=data))
    if isinstance(checked, ingest.RowError):
        field = checked.field or "payload"
        errors = {field: [checked.message]}
        raise InvalidInput(errors=errors)
    return checked


@transaction.atomic
def _create(project, row, version, clean: ingest.CleanRow, proba) -> PredictResult:
    auto = clean.state == Item.State.AUTO_LABELED
    priority = NO_MODEL_PRIORITY
    if proba is not None and not auto:
        # The random strategy's seed: the item has no id yet.
        seed = zlib.crc32(clean.external_id.encode())
        priority = float(per_item_priority(row, proba, seed=seed)[0])
    item = item_create(
        project=project,
        external_id=clean.external_id,
        payload=_payload(clean),
        prediction=clean.prediction,
        confidence=clean.confidence,
        model_version=version.name if clean.prediction else "",
        route=AUTO if auto else PEOPLE,
        priority=priority,
    )
    if auto:
        scored = _Scored(item.pk, None, False, clean.prediction, clean.confidence or 0.0, 1.0)
        if audit_drawn(item.pk, row.audit_share):
            item_audit_open(item_id=item.pk, priority=AUDIT_PRIORITY)
            _flag_audit(project, version, [scored])
        return PredictResult(item, True, False, item.final_label, item.confidence, version.name)
    if project.callback_url:
        Prediction.objects.create(item=item, project=project)
    return PredictResult(item, False, False)


def _payload(clean: ingest.CleanRow) -> Any:
    return json.loads(clean.payload_json)
