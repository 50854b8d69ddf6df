"""Consensus: aggregate a project's answers, store labels and posteriors, steer overlap.

When it runs: `aggregation_request` marks a project as wanting a run (answer committed, worker
blocked or unblocked, admin resolution); the caller queues `apps.tasks.jobs.aggregate_project_job`
only when the flag went from clear to set, so a burst of answers queues one job.
`consensus_drain` claims the flag with a conditional UPDATE (healthchecks-style: it goes on only
if exactly one row changed and no run holds the project), runs, and loops while the flag was set
again meanwhile. Two jobs never run one project at once; a retried run changes nothing, since
only rows whose values change are written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.models.services import labels_changed
from apps.tasks.aggregation import AggregationResult, aggregate, overlap_decision
from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    AuditEvent,
    Item,
    Project,
)
from apps.tasks.services.audit import audit_record
from apps.workers.models import User
from apps.workers.selectors import blocked_worker_ids
from apps.workers.services import worker_stats_store
from hitlcrowd.api import ApiError

log = logging.getLogger(__name__)

AGGREGATE_JOB = "apps.tasks.jobs.aggregate_project_job"
# A run claimed longer ago than this is taken to have died (django-q2's retry is timeout + 120 s).
RUN_STALE = timedelta(minutes=15)
# A pending flag this old is queued again: its job was lost.
REQUEST_STALE = timedelta(minutes=10)
MAX_RUNS_PER_DRAIN = 20
# Warm-start only from a run that saw at least this share of the answers, on projects this big.
WARM_SHARE = 0.9
WARM_MIN_ANSWERS = 1000
WRITE_BATCH = 1000
POSTERIOR_DIGITS = 6
# Stored posteriors are rewritten only when a class moves more than this (warm starts wobble
# in the last digits; a retried run must write nothing).
POSTERIOR_TOLERANCE = 1e-4
HUMAN_SOURCES = (Item.Source.MODEL, Item.Source.ADMIN, Item.Source.GOLD, Item.Source.USER)


# --- Coalescing --------------------------------------------------------------------------------


def aggregation_request(*, project_id: int) -> bool:
    """Mark the project as wanting a run. True when the caller should queue the job: the flag
    was clear (or stale), so no queued job will see this request otherwise."""
    now = timezone.now()
    states = AggregationState.objects.filter(project_id=project_id)
    fresh = (
        Q(pending=False) | Q(requested_at__isnull=True) | Q(requested_at__lt=now - REQUEST_STALE)
    )
    if states.filter(fresh).update(pending=True, requested_at=now):
        return True
    if states.exists():
        return False
    try:
        with transaction.atomic():
            AggregationState.objects.create(project_id=project_id, pending=True, requested_at=now)
    except IntegrityError:
        return False  # created by a concurrent request, which queues the job
    return True


def aggregation_enqueue(*, project_id: int) -> bool:
    """Request a run and queue the job if needed. True when a job was queued."""
    # During a burst the flag is already set and fresh: one read instead of the conditional
    # UPDATE and the existence check. A run that clears the flag after this read starts after
    # our answer committed, so it reads that answer.
    fresh = timezone.now() - REQUEST_STALE
    if AggregationState.objects.filter(
        project_id=project_id, pending=True, requested_at__gte=fresh
    ).exists():
        return False
    if not aggregation_request(project_id=project_id):
        return False
    _queue_job(project_id)
    return True


def _queue_job(project_id: int) -> None:
    from django_q.tasks import async_task

    async_task(AGGREGATE_JOB, project_id, q_options={"group": f"aggregate-{project_id}"})


def consensus_drain(*, project_id: int, cold: bool = False) -> int:
    """Run while the project's flag is set and nobody else runs it. Returns the runs made."""
    runs = 0
    while runs < MAX_RUNS_PER_DRAIN:
        claimed_at = _claim(project_id)
        if claimed_at is None:
            return runs
        mine = AggregationState.objects.filter(project_id=project_id, running_since=claimed_at)
        try:
            consensus_run(project_id=project_id, cold=cold and runs == 0)
        except Exception:
            # Keep the request for django-q2's retry (or the next answer), then fail the job.
            mine.update(running_since=None, pending=True)
            raise
        mine.update(running_since=None)
        runs += 1
    # Answers keep coming: hand over to a fresh job rather than hold this one forever. The
    # flag stays set, so the new job (or any later answer, once stale) picks it up.
    if AggregationState.objects.filter(project_id=project_id, pending=True).exists():
        _queue_job(project_id)
    return runs


def _claim(project_id: int):
    now = timezone.now()
    free = Q(running_since__isnull=True) | Q(running_since__lt=now - RUN_STALE)
    claimed = (
        AggregationState.objects.filter(project_id=project_id, pending=True)
        .filter(free)
        .update(pending=False, running_since=now)
    )
    return now if claimed == 1 else None


# --- One run -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProjectAnswers:
    """A project's answers as arrays, blocked workers' answers left out."""

    item: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    seconds: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"task": self.item, "worker": self.worker, "label": self.label}, copy=False
        )


def project_answers(*, project: Project) -> ProjectAnswers:
    """ONE query, no model instances: (item, worker, label, seconds) of unblocked workers.
    Answers superseded by a guideline re-queue (services/guidelines.py) are left out."""
    rows = (
        Answer.objects.filter(project=project, superseded_by__isnull=True)
        .exclude(worker_id__in=blocked_worker_ids(project=project))
        .order_by()
        .values_list("item_id", "worker_id", "label", "seconds_spent")
    )
    columns = list(zip(*rows, strict=True)) or [(), (), (), ()]
    return ProjectAnswers(
        item=np.asarray(columns[0], dtype=np.int64),
        worker=np.asarray(columns[1], dtype=np.int64),
        label=np.asarray(columns[2], dtype=object),
        seconds=np.asarray(columns[3], dtype=float),
    )


def project_true_labels(*, project: Project) -> dict[int, str]:
    """Known labels: gold items and admin resolutions (a resolution counts as gold)."""
    rows = (
        Item.objects.filter(project=project)
        .filter(Q(is_gold=True) | Q(label_source=Item.Source.ADMIN))
        .values_list("pk", "is_gold", "gold_label", "final_label")
    )
    return {pk: (gold if is_gold else final) for pk, is_gold, gold, final in rows}


def consensus_run(*, project_id: int, cold: bool = False) -> AggregationRun:
    """Aggregate the project now and store the result. Prefer `aggregation_enqueue`: this
    does not check whether another run is going on."""
    project = Project.objects.get(pk=project_id)
    answers = project_answers(project=project)
    true_labels = project_true_labels(project=project)
    warm = None if cold else _warm_start(project, answers=len(answers.item))
    run = AggregationRun.objects.create(
        project=project, method=project.aggregation_method, labels=list(project.labels)
    )
    try:
        result = aggregate(
            answers.frame(),
            labels=project.labels,
            method=project.aggregation_method,
            true_labels=true_labels,
            initial_error=warm,
        )
        _store(project, run, answers, true_labels, result)
    except Exception as exc:
        AggregationRun.objects.filter(pk=run.pk).update(
            status=AggregationRun.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    return AggregationRun.objects.defer("confusions").get(pk=run.pk)


def _warm_start(project: Project, answers: int) -> dict[Hashable, list[list[float]]] | None:
    """The previous run's confusion matrices, when they were learned on most of these answers.

    EM from matrices fitted on a handful of answers (near-0/1 cells) sticks in a bad local
    optimum, so a young project is always aggregated cold; warm starts are for the update
    after a few new answers on a large project, where they save most iterations.
    """
    if project.aggregation_method != Project.Aggregation.DAWID_SKENE:
        return None
    previous = (
        AggregationRun.objects.filter(
            project=project, status=AggregationRun.Status.FINISHED, confusions__isnull=False
        )
        .order_by("-id")
        .values_list("labels", "confusions", "answers")
        .first()
    )
    if previous is None or previous[0] != list(project.labels):
        return None  # the label set changed: the stored matrices no longer fit
    if answers < WARM_MIN_ANSWERS or previous[2] < WARM_SHARE * answers:
        return None
    return {int(worker): matrix for worker, matrix in previous[1].items()}


@transaction.atomic
def _store(
    project: Project,
    run: AggregationRun,
    answers: ProjectAnswers,
    true_labels: dict[int, str],
    result: AggregationResult,
) -> None:
    # Serializes the writes of two runs even if a stale claim let a second one start.
    AggregationState.objects.select_for_update().filter(project=project).first()
    now = timezone.now()
    changed = _write_items(project, run, result, now)
    _write_overlap(project, result, now)
    blocked = worker_stats_store(project=project, stats=_worker_stats(answers, true_labels, result))
    AggregationRun.objects.filter(project=project).exclude(pk=run.pk).update(confusions=None)
    AggregationRun.objects.filter(pk=run.pk).update(
        status=AggregationRun.Status.FINISHED,
        finished_at=timezone.now(),
        answers=len(answers.item),
        items=len(result.item_ids),
        workers=len(result.worker_ids),
        iterations=result.iterations,
        log_likelihood=result.log_likelihood,
        items_changed=changed,
        confusions={str(w): m for w, m in result.initial_error().items()},
    )
    state = {"last_run": run}
    if blocked:  # their answers leave the consensus: run again without them
        state |= {"pending": True, "requested_at": now}
    AggregationState.objects.filter(project=project).update(**state)
    # Retrain trigger and webhooks owed for items now labeled (after commit).
    labels_changed(project_id=project.pk)


# --- Items ----------------------------------------------------------------------------------


def _crowd_items(project: Project):
    """Items the crowd may label (not gold, not labeled by a model, admin or user)."""
    return (
        Item.objects.filter(project=project, is_gold=False)
        .exclude(label_source__in=HUMAN_SOURCES)
        .order_by()
    )


def _write_items(project: Project, run: AggregationRun, result: AggregationResult, now) -> int:
    rows = {row: pos for pos, row in enumerate(result.item_ids.tolist())}
    current = _crowd_items(project)
    labels = result.labels
    codes = result.label_codes
    stale = []
    for pk, label, posterior in current.values_list("pk", "final_label", "posterior"):
        pos = rows.get(pk)
        if pos is None:
            continue
        new = np.round(result.posteriors[pos], POSTERIOR_DIGITS)
        new_label = labels[codes[pos]]
        if label == new_label and _same_posterior(posterior, labels, new):
            continue
        stale.append(
            Item(
                pk=pk,
                final_label=new_label,
                posterior=dict(zip(labels, new.tolist(), strict=True)),
                final_confidence=float(new[codes[pos]]),
                label_source=Item.Source.CROWD,
                consensus_method=result.method,
                aggregation_run=run,
                updated_at=now,
            )
        )
    fields = ["final_label", "posterior", "final_confidence", "label_source"]
    fields += ["consensus_method", "aggregation_run", "updated_at"]
    _bulk_update(Item, stale, fields)
    return len(stale)


def _bulk_update(model, rows: list, fields: list[str]) -> None:
    """bulk_update, but on PostgreSQL one UPDATE ... FROM unnest(arrays) per batch: Django's
    CASE WHEN form took ~10 s for 2,000 items of 7 fields."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, fields, batch_size=WRITE_BATCH)
        return
    columns = [model._meta.get_field(name) for name in fields]
    types = [_ARRAY_TYPES[column.get_internal_type()] for column in columns]
    names = [column.column for column in columns]
    table = model._meta.db_table
    sets = ", ".join(
        f'"{name}" = v."{name}"' + ("::jsonb" if kind == "text" and jsonb else "")
        for name, kind, jsonb in zip(
            names, types, [c.get_internal_type() == "JSONField" for c in columns], strict=True
        )
    )
    arrays = ", ".join(f"%s::{kind}[]" for kind in ["bigint", *types])
    alias = ", ".join(f'"{name}"' for name in ["id", *names])
    sql = f'UPDATE "{table}" AS t SET {sets} FROM unnest({arrays}) AS v({alias}) WHERE t.id = v.id'
    for start in range(0, len(rows), WRITE_BATCH * 5):
        chunk = rows[start : start + WRITE_BATCH * 5]
        params = [[row.pk for row in chunk]]
        for column in columns:
            params.append([_db_value(column, row) for row in chunk])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


_ARRAY_TYPES = {
    "CharField": "text",
    "JSONField": "text",
    "FloatField": "float8",
    "ForeignKey": "bigint",
    "DateTimeField": "timestamptz",
    "PositiveSmallIntegerField": "int",
}


def _db_value(column, row):
    value = getattr(row, column.attname)
    if column.get_internal_type() == "JSONField":
        return None if value is None else json.dumps(value)
    return value


def _same_posterior(stored: dict | None, labels: tuple[str, ...], new: np.ndarray) -> bool:
    if not isinstance(stored, dict) or set(stored) != set(labels):
        return False
    old = np.asarray([stored[label] for label in labels], dtype=float)
    return bool(np.all(np.abs(old - new) <= POSTERIOR_TOLERANCE))


# --- Dynamic overlap --------------------------------------------------------------------------


def _write_overlap(project: Project, result: AggregationResult, now) -> None:
    """Per undecided item on a people HIT: one more answer, done, or the disagreement queue."""
    rows = {row: pos for pos, row in enumerate(result.item_ids.tolist())}
    open_states = [Item.State.WAITING, Item.State.CONSENSUS]
    current = (
        _crowd_items(project)
        .filter(state__in=open_states, hit__is_gold=False)
        .exclude(hit__state=HIT.State.CANCELLED)
        .values_list(
            "pk", "state", "hit__pk", "hit__answers_wanted", "hit__state", "hit__extra_answers"
        )
    )
    items, hits = [], []
    for pk, state, hit_id, wanted, hit_state, extra in current:
        pos = rows.get(pk)
        n = int(result.item_answers[pos]) if pos is not None else 0
        top = float(result.posteriors[pos].max()) if pos is not None else 0.0
        new_state, new_wanted, new_hit_state = _decide(project, n, top, wanted, extra)
        if new_state != state:
            items.append(Item(pk=pk, state=new_state, updated_at=now))
        if (new_wanted, new_hit_state) != (wanted, hit_state):
            hits.append(
                HIT(pk=hit_id, answers_wanted=new_wanted, state=new_hit_state, updated_at=now)
            )
    _bulk_update(Item, items, ["state", "updated_at"])
    _bulk_update(HIT, hits, ["answers_wanted", "state", "updated_at"])


def _decide(
    project: Project, n: int, top: float, wanted: int, extra: int = 0
) -> tuple[str, int, str]:
    # `extra`: answers an admin asked for beyond max_overlap (services/review.py).
    max_overlap = project.max_overlap + (extra or 0)
    decision = overlap_decision(
        n,
        top,
        min_overlap=project.min_overlap,
        max_overlap=max_overlap,
        target_posterior=project.target_posterior,
    )
    if decision == "done":
        return Item.State.CONSENSUS, wanted, HIT.State.DONE
    if decision == "needs_review":
        return Item.State.NEEDS_REVIEW, wanted, HIT.State.DONE
    # slots_taken (live + submitted) is untouched: the claim serves this HIT while
    # slots_taken < answers_wanted, so a live lease already counts toward the next answer.
    more = min(max(n + 1, project.min_overlap), max_overlap)
    return Item.State.WAITING, more, HIT.State.OPEN


# --- Worker stats --------------------------------------------------------------------------


def _worker_stats(
    answers: ProjectAnswers, true_labels: dict[int, str], result: AggregationResult
) -> list[dict]:
    """Per worker: answers, gold answers and correct, agreement with consensus, median seconds,
    the model's skill and confusion matrix."""
    if not len(answers.item):
        return []
    consensus = result.consensus()
    known = pd.Series(true_labels, dtype=object)
    frame = pd.DataFrame(
        {
            "worker": answers.worker,
            "label": answers.label,
            "seconds": answers.seconds,
            "known": known.reindex(answers.item).to_numpy(),
            "consensus": pd.Series(consensus, dtype=object).reindex(answers.item).to_numpy(),
        }
    )
    frame["is_gold"] = frame["known"].notna()
    frame["gold_ok"] = frame["is_gold"] & (frame["label"] == frame["known"])
    frame["other"] = ~frame["is_gold"]
    frame["agree"] = frame["other"] & (frame["label"] == frame["consensus"])
    grouped = frame.groupby("worker").agg(
        answers=("label", "size"),
        gold_answers=("is_gold", "sum"),
        gold_correct=("gold_ok", "sum"),
        others=("other", "sum"),
        agreeing=("agree", "sum"),
        median_seconds=("seconds", "median"),
    )
    skills = dict(zip(result.worker_ids.tolist(), result.skills.tolist(), strict=True))
    confusions = result.initial_error()
    out = []
    for worker, row in grouped.iterrows():
        others = int(row["others"])
        out.append(
            {
                "worker_id": int(worker),
                "answers": int(row["answers"]),
                "gold_answers": int(row["gold_answers"]),
                "gold_correct": int(row["gold_correct"]),
                "agreement": float(row["agreeing"]) / others if others else None,
                "median_seconds": float(row["median_seconds"]),
                "skill": skills.get(worker),
                "confusion": confusions.get(worker),
            }
        )
    return out


# --- Disagreement queue ------------------------------------------------------------------------


class ResolveRefused(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="invalid", errors={"label": [detail]})


@transaction.atomic
def item_resolve(*, item_id: int, label: str, by: User) -> Item:
    """An admin decides an item's label. It then counts as gold when scoring workers, so the
    project is queued for a run. Resolving again with another label corrects the first."""
    item = Item.objects.select_for_update().select_related("project").get(pk=item_id)
    if label not in item.project.labels:
        raise ResolveRefused(f"Pick one of the project's labels: {', '.join(item.project.labels)}.")
    if item.is_gold:
        raise ResolveRefused("A gold item already has its known label.")
    before = (item.state, item.final_label)
    item.final_label = label
    item.posterior = {name: float(name == label) for name in item.project.labels}
    item.final_confidence = 1.0
    item.label_source = Item.Source.ADMIN
    item.state = Item.State.RESOLVED
    item.review_action = Item.ReviewAction.RESOLVED
    item.resolved_by = by
    item.resolved_at = timezone.now()
    item.save()
    HIT.objects.filter(item=item, state=HIT.State.OPEN).update(
        state=HIT.State.DONE, updated_at=item.resolved_at
    )
    audit_record(
        project_id=item.project_id,
        actor=by,
        action=AuditEvent.Action.ITEM_RESOLVE,
        obj=item,
        changes={"state": [before[0], item.state], "final_label": [before[1], label]},
    )
    project_id = item.project_id
    transaction.on_commit(lambda: aggregation_enqueue(project_id=project_id))
    return item
