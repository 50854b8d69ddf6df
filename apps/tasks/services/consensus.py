"""Consensus: aggregate a project's answers, store labels and posteriors, steer overlap.

When it runs: `aggregation_request` marks a project as wanting a run (answer committed, worker
blocked or unblocked, admin resolution); the caller queues `apps.tasks.jobs.aggregate_project_job`
only when the flag went from clear to set, so a burst of answers queues one job.
`consensus_drain` claims the flag with a conditional UPDATE (healthchecks-style: it goes on only
if exactly one row changed and no run holds the project), runs, and loops while the flag was set
again meanwhile. Two jobs never run one project at once; a retried run changes nothing, since
only rows whose values change are written. A run whose job died (kill -9, timeout) is taken
over by the next claim once older than `hitlcrowd.jobs.job_dead_after()` (derived from the
queue's timeout, as for retrains; the ORM broker's redelivery comes after Q_RETRY, later than
that), and the every-5-minutes sweep queues a job for it, or for a request whose job never
started in that time, when none will come (the Redis broker does not deliver a killed job again).

Warm starts and settling: an update on a large project starts from the previous run's confusion
matrices and stops after a few iterations. A chain of such runs drifts to another optimum than
a cold run on the same answers would reach (bench/quality.py overlap: s_rel 0.72 points lower),
so a project whose latest run was warm is re-aggregated cold by a scheduled job once it has
been quiet for SETTLE_QUIET, or every SETTLE_EVERY while answers keep coming: at rest, a
project's consensus does not depend on the order its answers came in.
"""

from __future__ import annotations

import base64
import gc
import logging
from collections.abc import Hashable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from apps.models.services import labels_changed
from apps.tasks.aggregation import (
    DONE,
    NEED_MORE,
    NEEDS_REVIEW,
    NO_WORKER_LEFT,
    AggregationResult,
    aggregate,
    overlap_decisions,
    vote_leads,
)
from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    Item,
    Project,
)
from apps.tasks.selectors.consensus import items_nobody_may_answer
from apps.tasks.services.discard import answers_discard_blocked
from apps.tasks.sql import aggregation_pending_since
from apps.workers.models import Block
from apps.workers.reliability import first_answers, soft_confusion_counts, truth_without
from apps.workers.selectors import blocked_worker_ids, worker_stats_values
from apps.workers.services import block_check_sizes, worker_stats_store
from hitlcrowd.jobs import job_dead_after
from hitlcrowd.locking import lock_in_id_order, retry_on_lock_conflict
from hitlcrowd.rawrows import fetch_rows, update_rows

log = logging.getLogger(__name__)

AGGREGATE_JOB = "apps.tasks.jobs.aggregate_project_job"
MAX_RUNS_PER_DRAIN = 20
# Warm-start only from a run that saw at least this share of the answers, on projects this big.
WARM_SHARE = 0.9
WARM_MIN_ANSWERS = 1000
# A project whose latest run was warm-started gets a cold run when quiet this long, or when its
# last cold run is older than SETTLE_EVERY (a cold run on 1M answers takes ~20 s of CPU).
SETTLE_QUIET = timedelta(minutes=5)
SETTLE_EVERY = timedelta(hours=1)
POSTERIOR_DIGITS = 6
# Stored posteriors are rewritten only when a class moves more than this (warm starts wobble
# in the last digits; a retried run must write nothing).
POSTERIOR_TOLERANCE = 1e-4
HUMAN_SOURCES = (Item.Source.MODEL, Item.Source.ADMIN, Item.Source.GOLD, Item.Source.USER)
ITEM_STATE_OF = {
    NEED_MORE: Item.State.WAITING,
    DONE: Item.State.CONSENSUS,
    NEEDS_REVIEW: Item.State.NEEDS_REVIEW,
    NO_WORKER_LEFT: Item.State.NEEDS_REVIEW,
}
REVIEW_REASON_OF = {
    NEEDS_REVIEW: Item.ReviewReason.UNSURE,
    NO_WORKER_LEFT: Item.ReviewReason.NO_WORKER_LEFT,
}


# --- Coalescing --------------------------------------------------------------------------------


def aggregation_request(*, project_id: int) -> bool:
    """Mark the project as wanting a run. True when the caller should queue the job: the flag
    was clear (or stale), so no queued job will see this request otherwise."""
    now = timezone.now()
    states = AggregationState.objects.filter(project_id=project_id)
    fresh = (
        Q(pending=False) | Q(requested_at__isnull=True) | Q(requested_at__lt=now - job_dead_after())
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
    # Raw and prepared (apps.tasks.sql): this runs after every submit.
    fresh = timezone.now() - job_dead_after()
    if aggregation_pending_since(project_id=project_id, fresh=fresh):
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
        settle = mine.filter(settle_requested=True).update(settle_requested=False) == 1
        try:
            consensus_run(project_id=project_id, cold=settle or (cold and runs == 0))
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
    """Claim the project's run: wanted and nobody running it, or its run died (claimed longer
    ago than a job may live: job_dead_after()). A dead run's request is taken over
    even though its flag was cleared when that run claimed it: its answers were never stored."""
    now = timezone.now()
    dead = Q(running_since__lt=now - job_dead_after())
    wanted = Q(pending=True) & (Q(running_since__isnull=True) | dead)
    claimed = (
        AggregationState.objects.filter(project_id=project_id)
        .filter(wanted | dead)
        .update(pending=False, running_since=now)
    )
    if claimed != 1:
        return None
    # Holding the claim, any run still marked running was cut off (kill -9, timeout).
    cut_off = AggregationRun.objects.filter(
        project_id=project_id, status=AggregationRun.Status.RUNNING
    )
    cut_off.update(
        status=AggregationRun.Status.FAILED,
        finished_at=now,
        error="killed: its job died before the run finished; the next run took over",
    )
    return now


def consensus_recover_due(*, now: datetime | None = None) -> list[int]:
    """Queue a job for each project whose run died or whose request waited too long: their
    jobs were lost (a killed cluster on the Redis broker, which does not deliver a job again).
    Returns the projects queued. Called by the every-5-minutes settle job."""
    now = now or timezone.now()
    dead = Q(running_since__lt=now - job_dead_after())
    lost = Q(pending=True, running_since__isnull=True, requested_at__lt=now - job_dead_after())
    states = AggregationState.objects.filter(dead | lost)
    projects = list(states.values_list("project_id", flat=True))
    for project_id in projects:
        _queue_job(project_id)
    return projects


def consensus_settle_due(*, now: datetime | None = None) -> list[int]:
    """Request a cold run for each project whose consensus rests on a warm-started run and that
    is quiet (its latest run finished SETTLE_QUIET ago) or whose last cold run is older than
    SETTLE_EVERY. Returns the projects requested."""
    now = now or timezone.now()
    last_cold = AggregationRun.objects.filter(
        project=OuterRef("project"), status=AggregationRun.Status.FINISHED, warm_started=False
    ).order_by("-id")
    due = (
        AggregationState.objects.filter(last_run__warm_started=True, settle_requested=False)
        .annotate(last_cold=Subquery(last_cold.values("finished_at")[:1]))
        .filter(
            Q(last_run__finished_at__lt=now - SETTLE_QUIET)
            | Q(last_cold__isnull=True)
            | Q(last_cold__lt=now - SETTLE_EVERY)
        )
    )
    requested = []
    for project_id in due.values_list("project_id", flat=True):
        states = AggregationState.objects.filter(project_id=project_id, settle_requested=False)
        if states.update(settle_requested=True):
            aggregation_enqueue(project_id=project_id)
            requested.append(project_id)
    return requested


# --- One run -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProjectAnswers:
    """A project's answers as arrays, blocked workers' answers left out. `code` is the label's
    position in the project's labels (-1 outside them); `id` the answer's id (a worker's
    answers in id order are in the order they came)."""

    id: np.ndarray
    item: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    code: np.ndarray
    seconds: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"task": self.item, "worker": self.worker, "label": self.label}, copy=False
        )


def project_answers(*, project: Project) -> ProjectAnswers:
    """ONE query, no model instances, no Python object per answer: (id, item, worker, label
    code, seconds) of unblocked workers. Answers superseded by a guideline re-queue
    (services/guidelines.py) or discarded (services/discard.py) are left out."""
    labels = tuple(project.labels)
    answers = (
        Answer.objects.counted()
        .filter(project=project)
        .exclude(worker_id__in=blocked_worker_ids(project=project))
        .order_by()
    )
    coded = answers.annotate(code=_label_code("label", labels))
    columns = coded.values_list("pk", "item_id", "worker_id", "code", "seconds_spent")
    table = _fetch_floats(columns, 5)
    code = table[:, 3].astype(np.int64)
    if (code < 0).any():
        # A label outside the project's set (the set was edited): `aggregate` names it.
        label = np.asarray(list(answers.values_list("label", flat=True)), dtype=object)
    else:
        label = np.asarray(labels, dtype=object)[code]
    return ProjectAnswers(
        id=table[:, 0].astype(np.int64),
        item=table[:, 1].astype(np.int64),
        worker=table[:, 2].astype(np.int64),
        label=label,
        code=code,
        seconds=table[:, 4],
    )


def _label_code(field: str, labels: tuple[str, ...]) -> Case:
    """The label's position in `labels` computed by the database, -1 when not in them."""
    whens = [When(**{field: label}, then=Value(code)) for code, label in enumerate(labels)]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def _fetch_floats(queryset: QuerySet, width: int) -> np.ndarray:
    """A values_list queryset of numbers (ids fit: they stay below 2**53) as a float array,
    NULL as NaN."""
    rows = fetch_rows(queryset)
    try:  # 4x faster than np.array(rows) on 100k rows, but refuses None
        flat = np.fromiter(chain.from_iterable(rows), dtype=float, count=len(rows) * width)
    except TypeError:
        flat = np.array(rows, dtype=float)
    return flat.reshape(len(rows), width)


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
    with _gc_paused():
        return _consensus_run(project_id, cold)


@contextmanager
def _gc_paused():
    """Reading 100k answers allocates 100k short-lived tuples; they made the cyclic GC run
    full collections over the worker's whole heap mid-run (0.3-0.6 s in the bench process).
    They are freed by reference counting, so there is nothing for it to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _consensus_run(project_id: int, cold: bool) -> AggregationRun:
    project = Project.objects.get(pk=project_id)
    # Blocked workers' answers leave for good and give their slots back before the run
    # decides what each item still wants (a block made by the last run, or one cut off).
    answers_discard_blocked(project=project)
    answers = project_answers(project=project)
    true_labels = project_true_labels(project=project)
    warm = None if cold else _warm_start(project, answers=len(answers.item))
    run = AggregationRun.objects.create(
        project=project,
        method=project.aggregation_method,
        labels=list(project.labels),
        warm_started=warm is not None,
    )
    try:
        result = aggregate(
            answers.frame(),
            labels=project.labels,
            method=project.aggregation_method,
            true_labels=true_labels,
            initial_error=warm,
        )
        # Run again if PostgreSQL broke a lock cycle by aborting it (hitlcrowd.locking).
        blocked = retry_on_lock_conflict(lambda: _store(project, run, answers, true_labels, result))
    except Exception as exc:
        AggregationRun.objects.filter(pk=run.pk).update(
            status=AggregationRun.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    if blocked:  # their leases end and their slots come back now, not at the next run
        answers_discard_blocked(project=project)
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
    return _unpack_confusions(previous[1])


def _pack_confusions(result: AggregationResult) -> dict:
    """The run's confusion matrices for the next warm start: the raw float64 bytes in base64
    (a JSON list of 1,000 x 10 x 10 floats took ~0.2 s to write and as long to read back)."""
    matrices = np.ascontiguousarray(result.confusions, dtype="<f8")
    return {
        "workers": [int(worker) for worker in result.worker_ids.tolist()],
        "shape": list(matrices.shape),
        "float64": base64.b64encode(matrices.tobytes()).decode("ascii"),
    }


def _unpack_confusions(stored: dict) -> dict[Hashable, np.ndarray]:
    if "float64" not in stored:  # a run stored before the packed form: {worker: matrix}
        return {int(worker): matrix for worker, matrix in stored.items()}
    raw = base64.b64decode(stored["float64"])
    matrices = np.frombuffer(raw, dtype="<f8").reshape(stored["shape"])
    return dict(zip(stored["workers"], matrices, strict=True))


@transaction.atomic
def _store(
    project: Project,
    run: AggregationRun,
    answers: ProjectAnswers,
    true_labels: dict[int, str],
    result: AggregationResult,
) -> list[Block]:
    """Write the run's labels, item and HIT states and worker stats; returns the blocks the
    workers' rules made."""
    # Serializes the writes of two runs even if a stale claim let a second one start.
    AggregationState.objects.select_for_update().filter(project=project).first()
    now = timezone.now()
    stale = _stale_rows(project, run, result, now)
    items, hits = _overlap_rows(project, result, now, answers)
    # Blocks first: they lock their workers' rows, which come before items and HITs in the
    # order all writers keep (hitlcrowd.locking), as a blocked worker's submit takes them.
    stored = worker_stats_values(project=project)
    stats = _worker_stats(project, answers, true_labels, result, stored, every=not run.warm_started)
    blocked = worker_stats_store(project=project, stats=stats, stored=stored)
    # Every row written is locked first, in that order: items then HITs, each in id order.
    # Written in the order the database joined them, a re-score chunk updating the same items
    # in id order deadlocked with this.
    lock_in_id_order(Item, [row.pk for row in chain(stale, items)])
    lock_in_id_order(HIT, [hit.pk for hit in hits])
    update_rows(stale, *CROWD_LABEL_FIELDS)
    update_rows(items, "state", "review_reason", "updated_at")
    update_rows(hits, "answers_wanted", "state", "updated_at")
    _keep_slots_wanted([hit.pk for hit in hits])
    changed = [row.pk for row in stale]
    AggregationRun.objects.filter(project=project, confusions__isnull=False).exclude(
        pk=run.pk
    ).update(confusions=None)
    AggregationRun.objects.filter(pk=run.pk).update(
        status=AggregationRun.Status.FINISHED,
        finished_at=timezone.now(),
        answers=len(answers.item),
        items=len(result.item_ids),
        workers=len(result.worker_ids),
        iterations=result.iterations,
        log_likelihood=result.log_likelihood,
        items_changed=len(changed),
        confusions=_pack_confusions(result),
    )
    state = {"last_run": run}
    if blocked:  # their answers leave the consensus: run again without them
        state |= {"pending": True, "requested_at": now}
    AggregationState.objects.filter(project=project).update(**state)
    # Retrain trigger and webhooks owed for items now labeled (after commit).
    labels_changed(project_id=project.pk, item_ids=changed)
    return blocked


def _keep_slots_wanted(hit_ids: list[int]) -> None:
    """A HIT never wants fewer answers than its slots hold (live + counted). A run deciding on
    fewer answers than its HIT now holds (answers discarded since a block, or submitted after
    the run read them) would otherwise lower answers_wanted under live leases, whose answers
    then overfill it (invariant answers_over_wanted). The HITs are locked: slots_taken is
    exact here."""
    if hit_ids:
        HIT.objects.filter(pk__in=hit_ids, answers_wanted__lt=F("slots_taken")).update(
            answers_wanted=F("slots_taken")
        )


# --- Items ----------------------------------------------------------------------------------


def _crowd_items(project: Project):
    """Items the crowd may label (not gold, not labeled by a model, admin or user)."""
    return (
        Item.objects.filter(project=project, is_gold=False)
        .exclude(label_source__in=HUMAN_SOURCES)
        .order_by()
    )


CROWD_LABEL_FIELDS = [
    "final_label",
    "posterior",
    "final_confidence",
    "label_source",
    "consensus_method",
    "aggregation_run_id",
    "updated_at",
]


def _stale_rows(project: Project, run: AggregationRun, result: AggregationResult, now) -> list:
    """The items whose label or posterior changed, with their new values (unsaved)."""
    labels = result.labels
    pks, positions = _stale_items(project, result)
    new = np.round(result.posteriors[positions], POSTERIOR_DIGITS)
    codes = result.label_codes[positions]
    stale = [
        Item(
            pk=pk,
            final_label=labels[code],
            posterior=dict(zip(labels, posterior, strict=True)),
            final_confidence=posterior[code],
            label_source=Item.Source.CROWD,
            consensus_method=result.method,
            aggregation_run=run,
            updated_at=now,
        )
        for pk, code, posterior in zip(pks.tolist(), codes.tolist(), new.tolist(), strict=True)
    ]
    return stale


def _stale_items(project: Project, result: AggregationResult) -> tuple[np.ndarray, np.ndarray]:
    """Crowd items whose stored label or posterior differs from the result, and their rows in
    it. The database reads each label's probability out of the posterior JSON, so no JSON is
    decoded here (20,000 json.loads took ~0.5 s)."""
    labels = result.labels
    if not _labels_kept(project, labels):
        return _stale_items_by_json(project, result)
    columns = [Cast(KeyTextTransform(label, "posterior"), FloatField()) for label in labels]
    rows = _crowd_items(project).values_list("pk", _label_code("final_label", labels), *columns)
    table = _fetch_floats(rows, 2 + len(labels))
    pks = table[:, 0].astype(np.int64)
    positions = _positions(result.item_ids, pks)
    aggregated = positions >= 0
    pks, positions, table = pks[aggregated], positions[aggregated], table[aggregated]
    new = np.round(result.posteriors[positions], POSTERIOR_DIGITS)
    # NaN (no posterior, or a label missing from it) compares false: stale.
    same = np.all(np.abs(table[:, 2:] - new) <= POSTERIOR_TOLERANCE, axis=1)
    same &= table[:, 1] == result.label_codes[positions]
    return pks[~same], positions[~same]


def _positions(item_ids: np.ndarray, wanted) -> np.ndarray:
    """Rows of `wanted` ids in the result's `item_ids`, -1 where absent."""
    return pd.Index(item_ids.astype(np.int64)).get_indexer(np.asarray(wanted, dtype=np.int64))


def _labels_kept(project: Project, labels: tuple[str, ...]) -> bool:
    """Whether the last finished run had these labels: then every stored crowd posterior has
    exactly these keys, and reading the probabilities of these labels out of it is enough."""
    previous = (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.FINISHED)
        .order_by("-id")
        .values_list("labels", flat=True)
        .first()
    )
    return previous is not None and tuple(previous) == labels


def _stale_items_by_json(
    project: Project, result: AggregationResult
) -> tuple[np.ndarray, np.ndarray]:
    """`_stale_items` after a label set change: stored posteriors may have other keys."""
    rows = {row: pos for pos, row in enumerate(result.item_ids.tolist())}
    labels = result.labels
    pks, positions = [], []
    for pk, label, posterior in _crowd_items(project).values_list("pk", "final_label", "posterior"):
        pos = rows.get(pk)
        if pos is None:
            continue
        new = np.round(result.posteriors[pos], POSTERIOR_DIGITS)
        if label == labels[result.label_codes[pos]] and _same_posterior(posterior, labels, new):
            continue
        pks.append(pk)
        positions.append(pos)
    return np.asarray(pks, dtype=np.int64), np.asarray(positions, dtype=np.int64)


def _same_posterior(stored: dict | None, labels: tuple[str, ...], new: np.ndarray) -> bool:
    if not isinstance(stored, dict) or set(stored) != set(labels):
        return False
    old = np.asarray([stored[label] for label in labels], dtype=float)
    return bool(np.all(np.abs(old - new) <= POSTERIOR_TOLERANCE))


# --- Dynamic overlap --------------------------------------------------------------------------


def _overlap_rows(
    project: Project, result: AggregationResult, now, answers: ProjectAnswers
) -> tuple[list, list]:
    """Per undecided item on a people HIT: one more answer, done, or the disagreement queue.
    Returns the items and HITs that change, with their new values (unsaved)."""
    open_states = [Item.State.WAITING, Item.State.CONSENSUS]
    current = fetch_rows(
        _crowd_items(project)
        .filter(state__in=open_states, hit__is_gold=False)
        .exclude(hit__state=HIT.State.CANCELLED)
        .values_list(
            "pk",
            "state",
            _label_code("final_label", result.labels),
            "hit__pk",
            "hit__answers_wanted",
            "hit__state",
            "hit__extra_answers",
        )
    )
    if not current:
        return [], []
    pk, state, stored_code, hit_id, wanted, hit_state, extra = zip(*current, strict=True)
    positions = _positions(result.item_ids, pk)
    # Items without answers: n = 0, top = 0 (a trailing 0 row that position -1 picks).
    answered = np.append(result.item_answers, 0)[positions]
    top = np.append(result.posteriors.max(axis=1, initial=0.0), 0.0)[positions]
    lead = np.append(_vote_leads(project, result, answers), 0)[positions]
    label = np.append(result.label_codes, -1)[positions]
    # Hysteresis (aggregation.SETTLE_MARGIN): done before, and still with the same label.
    settled = (np.asarray(state) == Item.State.CONSENSUS) & (np.asarray(stored_code) == label)
    stuck = np.isin(np.asarray(pk, dtype=np.int64), items_nobody_may_answer(project=project))
    extra = np.asarray([more or 0 for more in extra], dtype=np.int64)
    rows = _OverlapInput(answered, top, lead, np.asarray(wanted), extra, settled, stuck)
    new_state, reasons, new_wanted, new_hit_state = _decide_many(project, rows)
    items = [
        Item(pk=row, state=new, review_reason=reason, updated_at=now)
        for row, old, new, reason in zip(pk, state, new_state, reasons, strict=True)
        if new != old
    ]
    changes = zip(hit_id, wanted, hit_state, new_wanted, new_hit_state, strict=True)
    hits = [
        HIT(pk=row, answers_wanted=more, state=new, updated_at=now)
        for row, want, old, more, new in changes
        if (more, new) != (want, old)
    ]
    return items, hits


@dataclass(frozen=True, eq=False)
class _OverlapInput:
    """Per item: counted answers, top posterior, vote lead, its HIT's answers wanted, answers an
    admin asked for beyond max_overlap (services/items.py item_send_back), whether it is settled (in
    consensus with the same label) and whether no worker is left who may answer it."""

    answers: np.ndarray
    top: np.ndarray
    lead: np.ndarray
    wanted: np.ndarray
    extra: np.ndarray
    settled: np.ndarray
    stuck: np.ndarray


def _vote_leads(project: Project, result: AggregationResult, answers: ProjectAnswers) -> np.ndarray:
    """Per row of the result: votes for its consensus label minus the best other label's."""
    rows = _positions(result.item_ids, answers.item)
    to_result = pd.Index(result.labels).get_indexer(list(project.labels))
    label_rows = np.where(answers.code >= 0, to_result[np.maximum(answers.code, 0)], -1)
    keep = (rows >= 0) & (label_rows >= 0)
    return vote_leads(rows[keep], label_rows[keep], result.label_codes, len(result.labels))


def _decide_many(
    project: Project, rows: _OverlapInput
) -> tuple[list[str], list[str], list[int], list[str]]:
    """Per item: its new state, review reason ('' unless sent to review), answers wanted and
    HIT state."""
    max_overlap = project.max_overlap + rows.extra
    codes = overlap_decisions(
        rows.answers,
        rows.top,
        rows.lead,
        min_overlap=project.min_overlap,
        max_overlap=max_overlap,
        target_posterior=project.target_posterior,
        min_vote_lead=project.min_vote_lead,
        review_below=project.review_below,
        settled=rows.settled,
        no_worker_left=rows.stuck,
    )
    decided = codes != NEED_MORE
    # slots_taken (live + submitted) is untouched: the claim serves this HIT while
    # slots_taken < answers_wanted, so a live lease already counts toward the next answer.
    more = np.minimum(np.maximum(rows.answers + 1, project.min_overlap), max_overlap)
    new_wanted = np.where(decided, rows.wanted.astype(np.int64), more)
    hit_states = np.where(decided, HIT.State.DONE, HIT.State.OPEN)
    states = [ITEM_STATE_OF[code] for code in codes.tolist()]
    reasons = [REVIEW_REASON_OF.get(code, "") for code in codes.tolist()]
    return states, reasons, new_wanted.tolist(), hit_states.tolist()


# --- Worker stats --------------------------------------------------------------------------


def _worker_stats(
    project: Project,
    answers: ProjectAnswers,
    true_labels: dict[int, str],
    result: AggregationResult,
    stored: dict[int, dict],
    *,
    every: bool = True,
) -> list[dict]:
    """Per worker: answers, gold answers and correct, agreement with consensus, median seconds,
    the model's skill and confusion matrix; and for a worker whose answers reached a block
    check in this run (`block_check_sizes`), `checked`: the same counts over the answers the
    check covers (None for the others, whose answers need no sorting). `spam_counts`, the
    evidence behind the spam score, is None for a worker without new answers unless `every`
    (a cold run): their stored score stands until the next cold run."""
    if not len(answers.item):
        return []
    workers, worker = np.unique(answers.worker, return_inverse=True)
    known = _known_codes(answers, true_labels, result.labels)
    consensus = result.label_codes[_positions(result.item_ids, answers.item)]
    is_gold = known >= 0
    other = ~is_gold
    agree = other & (answers.code == consensus)
    size = len(workers)

    def per_worker(flags: np.ndarray) -> list[int]:
        return np.bincount(worker, weights=flags, minlength=size).astype(np.int64).tolist()

    counts = np.bincount(worker, minlength=size).tolist()
    right = is_gold & (answers.code == known)
    gold, correct = per_worker(is_gold), per_worker(right)
    sizes = block_check_sizes(
        project=project, worker_ids=workers.tolist(), counts=counts, stored=stored
    )
    checked = np.zeros(len(worker), dtype=bool)
    of_due = np.flatnonzero((sizes > 0)[worker])
    checked[of_due] = first_answers(worker[of_due], answers.id[of_due], sizes)
    checked_gold, checked_correct = per_worker(is_gold & checked), per_worker(right & checked)
    before = [stored.get(worker_id, {}).get("answers") for worker_id in workers.tolist()]
    fresh = np.array([every or n != old for n, old in zip(counts, before, strict=True)], bool)
    spam_all, spam_checked = _spam_counts(answers, result, workers, worker, checked, fresh)
    others, agreeing = per_worker(other), per_worker(agree)
    medians = pd.Series(answers.seconds).groupby(worker).median().to_numpy().tolist()
    rows = dict(zip(result.worker_ids.tolist(), range(len(result.worker_ids)), strict=True))
    skills = result.skills.tolist()
    out = []
    for index, worker_id in enumerate(workers.tolist()):
        row = rows.get(worker_id)
        out.append(
            {
                "worker_id": worker_id,
                "answers": counts[index],
                "gold_answers": gold[index],
                "gold_correct": correct[index],
                "agreement": agreeing[index] / others[index] if others[index] else None,
                "median_seconds": medians[index],
                "skill": None if row is None else skills[row],
                "confusion": None if row is None else result.confusions[row],
                "spam_counts": spam_all[index] if fresh[index] else None,
                "checked": {
                    "answers": int(sizes[index]),
                    "gold_answers": checked_gold[index],
                    "gold_correct": checked_correct[index],
                    "spam_counts": spam_checked[index],
                }
                if sizes[index]
                else None,
            }
        )
    return out


def _spam_counts(
    answers: ProjectAnswers,
    result: AggregationResult,
    workers: np.ndarray,
    worker: np.ndarray,
    checked: np.ndarray,
    fresh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per worker (in `workers` order) the (true, given) evidence counts behind the spam score
    (reliability.soft_confusion_counts), over all their answers and over the checked ones;
    zeros for a worker neither `fresh` nor checked. Each answer's truth comes from the other
    answers on its item, so only the items those workers answered are read: on a warm run
    that is a few workers' items, not the project (100k answers on 10 classes: ~0.5 s)."""
    size = len(workers)
    k = len(result.labels)
    wanted = (fresh | (np.bincount(worker, weights=checked, minlength=size) > 0))[worker]
    if not wanted.any():
        return np.zeros((size, k, k)), np.zeros((size, k, k))
    touched = np.isin(answers.item, np.unique(answers.item[wanted]))
    items, item_row = np.unique(answers.item[touched], return_inverse=True)
    result_worker = pd.Index(result.worker_ids).get_indexer(workers)
    truth = truth_without(
        item_row=item_row,
        worker_row=result_worker[worker[touched]],
        given=answers.code[touched],
        confusions=result.confusions,
        priors=result.priors,
        known=result.known[_positions(result.item_ids, items)],
    )
    mine = wanted[touched]
    on, given = worker[touched][mine], answers.code[touched][mine]
    every = soft_confusion_counts(on, given, truth[mine], n_workers=size)
    due = checked[touched][mine]
    return every, soft_confusion_counts(on[due], given[due], truth[mine][due], n_workers=size)


def _known_codes(
    answers: ProjectAnswers, true_labels: dict[int, str], labels: tuple[str, ...]
) -> np.ndarray:
    """Per answer the code of its item's known label, -1 where unknown."""
    if not true_labels:
        return np.full(len(answers.item), -1, dtype=np.int64)
    items = pd.Index(list(true_labels))
    codes = pd.Index(labels).get_indexer(list(true_labels.values()))
    position = items.get_indexer(answers.item)
    return np.where(position >= 0, codes[position], -1)
