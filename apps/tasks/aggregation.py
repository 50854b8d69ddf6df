"""Consensus from crowd answers: Dawid-Skene and simpler methods, plain Python (no Django).

Services turn Answer rows into ``(item, worker, label)`` tuples, call :func:`aggregate` and
store what it returns. Nothing here touches the database.

``SparseDawidSkene`` keeps crowd-kit's model and class but runs the EM on a sparse
``item x (worker, label)`` count matrix, stops on the true log-likelihood (crowd-kit 1.4.2's
objective counts the class prior once per answer and stops early, see ../shared/data/README.md),
and can start from previous confusion matrices. With ``smoothing=0`` it computes exactly what
crowd-kit's ``DawidSkene`` computes; the platform default shrinks each worker's confusion
matrix toward the pooled one, which keeps workers with few answers from overfitting.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import attr
import numpy as np
import pandas as pd
import scipy.sparse as sp
from crowdkit.aggregation import GLAD, DawidSkene

Method = Literal["dawid_skene", "majority_vote", "wawa", "glad"]
Decision = Literal["need_more", "done", "needs_review", "no_worker_left"]
METHODS: tuple[str, ...] = ("dawid_skene", "majority_vote", "wawa", "glad")

# Workers with fewer than DEFAULT_FEW_ANSWERS answers get DEFAULT_SMOOTHING pseudo-answers per
# true class from a one-coin matrix. Chosen with bench/quality.py: beats majority vote with ~10
# answers per worker, within 0.5 points of converged Dawid-Skene on the seven real data sets.
DEFAULT_SMOOTHING = 10.0
DEFAULT_FEW_ANSWERS = 30
DEFAULT_MAX_ITER = 100
# Stop when the log-likelihood gains less than this per answer (crowd-kit uses 1e-5 on its
# objective too); tighter costs iterations without moving accuracy on the real data sets.
DEFAULT_TOL = 1e-5
# crowd-kit's GLAD takes minutes on 25k answers.
GLAD_MAX_ANSWERS = 10_000
ACCURACY_PSEUDO_ANSWERS = 2.0

_EPS = 1e-10  # crowd-kit's clipping constant, kept so that smoothing=0 matches it


class AggregationError(ValueError):
    """The answers or the parameters cannot be aggregated as asked."""


# ---------------------------------------------------------------------------- data in


@dataclass(frozen=True, slots=True)
class AnswerRow:
    item: Hashable
    worker: Hashable
    label: str


def answers_frame(rows: Iterable[AnswerRow | tuple[Hashable, Hashable, Any]]) -> pd.DataFrame:
    """Map answers to crowd-kit's columns ``task``, ``worker``, ``label`` (labels as str)."""
    tuples = [(r.item, r.worker, r.label) if isinstance(r, AnswerRow) else r for r in rows]
    frame = pd.DataFrame(tuples, columns=["task", "worker", "label"], dtype=object)
    frame["label"] = frame["label"].astype(str).astype(object)
    return frame


@dataclass(frozen=True, eq=False)
class _Encoded:
    """Answers as integer codes, and the sparse item x (worker, given label) count matrix."""

    task: np.ndarray
    worker: np.ndarray
    label: np.ndarray
    item_ids: np.ndarray
    worker_ids: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_workers(self) -> int:
        return len(self.worker_ids)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @cached_property
    def counts(self) -> sp.csr_matrix:
        k = self.n_labels
        ones = np.ones(len(self.task))
        shape = (self.n_items, self.n_workers * k)
        return sp.csr_matrix((ones, (self.task, self.worker * k + self.label)), shape=shape)

    @cached_property
    def counts_t(self) -> sp.csr_matrix:
        return self.counts.T.tocsr()

    @cached_property
    def observed(self) -> np.ndarray:
        """(n_workers, n_labels) bool: the worker gave this label at least once."""
        given = np.bincount(
            self.worker * self.n_labels + self.label, minlength=self.counts.shape[1]
        )
        return given.reshape(self.n_workers, self.n_labels) > 0

    @cached_property
    def answers_per_worker(self) -> np.ndarray:
        return np.bincount(self.worker, minlength=self.n_workers)


def _encode(frame: pd.DataFrame, labels: Sequence[str]) -> _Encoded:
    labels = tuple(str(label) for label in labels)
    if len(set(labels)) != len(labels):
        raise AggregationError(f"labels must be distinct, got {list(labels)}")
    given = frame["label"].astype(str)
    codes = pd.Index(labels).get_indexer(given).astype(np.int64)
    if (codes < 0).any():
        unknown = sorted(set(given[codes < 0]))[:5]
        raise AggregationError(f"answers use labels outside the label set: {unknown}")
    task, item_ids = pd.factorize(frame["task"])
    worker, worker_ids = pd.factorize(frame["worker"])
    return _Encoded(
        task=task.astype(np.int64),
        worker=worker.astype(np.int64),
        label=codes,
        item_ids=np.asarray(item_ids, dtype=object),
        worker_ids=np.asarray(worker_ids, dtype=object),
        labels=labels,
    )


def _known_codes(enc: _Encoded, true_labels: Mapping[Hashable, Any] | None) -> np.ndarray:
    """Per item the label code of its known answer, -1 where unknown."""
    known = np.full(enc.n_items, -1, dtype=np.int64)
    if not true_labels:
        return known
    series = pd.Series({k: str(v) for k, v in true_labels.items()}, dtype=object)
    codes = pd.Index(enc.labels).get_indexer(series)
    if (codes < 0).any():
        unknown = sorted(set(series[codes < 0]))[:5]
        raise AggregationError(f"true_labels use labels outside the label set: {unknown}")
    positions = pd.Index(enc.item_ids).get_indexer(series.index)
    present = positions >= 0  # known items without answers play no part
    known[positions[present]] = codes[present]
    return known


def _warm_errors(
    enc: _Encoded, initial_error: Mapping[Hashable, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Previous confusion matrices (true x given) as an array, and which workers had one."""
    k = enc.n_labels
    errors = np.zeros((enc.n_workers, k, k))
    has = np.zeros(enc.n_workers, dtype=bool)
    for index, worker in enumerate(enc.worker_ids):
        matrix = initial_error.get(worker)
        if matrix is None:
            continue
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (k, k):
            raise AggregationError(
                f"initial_error for worker {worker!r} is {matrix.shape}, expected {(k, k)}: "
                "drop stored matrices when the label set changes"
            )
        # A label the worker never gave before has probability 0; it may be given now.
        matrix = np.clip(matrix, _EPS, None)
        errors[index] = matrix / matrix.sum(axis=1, keepdims=True)
        has[index] = True
    return errors, has


# ---------------------------------------------------------------------------- EM steps


def _vote_posteriors(enc: _Encoded, weights: np.ndarray | None = None) -> np.ndarray:
    """Share of (weighted) votes per item and label: crowd-kit's MajorityVote probas."""
    w = np.ones(len(enc.task)) if weights is None else weights[enc.worker]
    votes = np.zeros((enc.n_items, enc.n_labels))
    np.add.at(votes, (enc.task, enc.label), w)
    total = votes.sum(axis=1, keepdims=True)
    return np.divide(votes, total, out=np.full_like(votes, 1.0 / enc.n_labels), where=total > 0)


def _fix_known(posteriors: np.ndarray, known: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(known >= 0)
    if len(rows):
        posteriors[rows] = 0.0
        posteriors[rows, known[rows]] = 1.0
    return posteriors


def _soft_counts(enc: _Encoded, posteriors: np.ndarray) -> np.ndarray:
    """(n_workers, true, given): posterior mass of each true class behind each given label."""
    k = enc.n_labels
    by_given = np.asarray(enc.counts_t @ posteriors)  # (workers * given, true)
    return by_given.reshape(enc.n_workers, k, k).transpose(0, 2, 1)


def _m_step(
    enc: _Encoded, posteriors: np.ndarray, smoothing: float, few_answers: float
) -> np.ndarray:
    """Confusion matrices (n_workers, true, given); each row sums to 1.

    Workers with fewer than ``few_answers`` answers get ``smoothing`` pseudo-answers per true
    class from their one-coin matrix; the others keep plain maximum likelihood, whose
    near-zero cells carry real signal on the data sets with many answers per worker.
    """
    counts = _soft_counts(enc, posteriors)
    # crowd-kit: clip the labels the worker gave, then normalise over them
    plain = np.where(enc.observed[:, None, :], np.clip(counts, _EPS, None), 0.0)
    plain /= plain.sum(axis=2, keepdims=True)
    few = enc.answers_per_worker < few_answers
    if smoothing <= 0 or not few.any():
        return plain
    smoothed = counts[few] + smoothing * _shrinkage_target(counts)[few]
    plain[few] = smoothed / smoothed.sum(axis=2, keepdims=True)
    return plain


def _shrinkage_target(counts: np.ndarray) -> np.ndarray:
    """Per worker a one-coin matrix: their own accuracy on the diagonal (itself shrunk toward
    the crowd's), their errors spread like the crowd's errors."""
    k = counts.shape[1]
    pooled = counts.sum(axis=0) + _EPS
    diagonal = np.eye(k, dtype=bool)
    crowd_accuracy = pooled[diagonal].sum() / pooled.sum()
    own = np.trace(counts, axis1=1, axis2=2)
    accuracy = (own + ACCURACY_PSEUDO_ANSWERS * crowd_accuracy) / (
        counts.sum(axis=(1, 2)) + ACCURACY_PSEUDO_ANSWERS
    )
    off = np.where(diagonal, 0.0, pooled)
    off /= np.maximum(off.sum(axis=1, keepdims=True), _EPS)
    target = (1.0 - accuracy)[:, None, None] * off[None, :, :]
    target[:, diagonal] = accuracy[:, None]
    return target


def _log_errors_by_given(errors: np.ndarray) -> np.ndarray:
    """(workers * given, true) log-probabilities, the layout the E-step multiplies by."""
    n_workers, k, _ = errors.shape
    with np.errstate(divide="ignore"):
        logs = np.log(errors.transpose(0, 2, 1).reshape(n_workers * k, k))
    # Labels a worker never gave have probability 0 but are never looked up.
    return np.where(np.isfinite(logs), logs, 0.0)


def _e_step(
    enc: _Encoded, priors: np.ndarray, errors: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, float]:
    """Posteriors of every item, and the log-likelihood of the answers (and known labels)."""
    joint = np.asarray(enc.counts @ _log_errors_by_given(errors))
    joint += np.log(np.clip(priors, _EPS, None))[None, :]
    top = joint.max(axis=1, keepdims=True)
    scaled = np.exp(joint - top)
    total = scaled.sum(axis=1, keepdims=True)
    posteriors = scaled / total
    per_item = top[:, 0] + np.log(total[:, 0])
    rows = np.flatnonzero(known >= 0)
    per_item[rows] = joint[rows, known[rows]]
    return _fix_known(posteriors, known), float(per_item.sum())


# ---------------------------------------------------------------------------- Dawid-Skene


@attr.s
class SparseDawidSkene(DawidSkene):
    """crowd-kit's Dawid-Skene with sparse E/M steps, a true log-likelihood stopping rule
    (``tol`` is the gain per answer below which it stops), warm start, and optional
    Dirichlet smoothing toward the pooled confusion matrix.

    ``fit`` keeps crowd-kit's interface and attributes (``probas_``, ``priors_``, ``errors_``,
    ``labels_``, ``loss_history_``, which here holds the log-likelihood per answer).
    ``initial_error`` follows crowd-kit's layout (index ``worker``, ``label``; a column per
    true label) with the ``assign`` meaning, except that workers missing from it start from
    majority vote instead of raising.
    """

    tol: float = attr.ib(default=DEFAULT_TOL)
    smoothing: float = attr.ib(default=0.0)
    few_answers: float = attr.ib(default=DEFAULT_FEW_ANSWERS)

    def fit(  # type: ignore[override]
        self,
        data: pd.DataFrame,
        true_labels: pd.Series | None = None,
        initial_error: pd.DataFrame | None = None,
        labels: Sequence[str] | None = None,
    ) -> SparseDawidSkene:
        data = data[["task", "worker", "label"]]
        if not data.size:
            return super().fit(data)
        enc = _encode(data, labels if labels is not None else sorted(set(data["label"])))
        known = _known_codes(enc, None if true_labels is None else true_labels.to_dict())
        warm = None if initial_error is None else _crowdkit_errors_to_mapping(initial_error)
        self.fit_encoded(enc, known, warm)
        self._set_crowdkit_attributes(enc)
        return self

    def fit_encoded(
        self,
        enc: _Encoded,
        known: np.ndarray,
        initial_error: Mapping[Hashable, Any] | None = None,
    ) -> SparseDawidSkene:
        posteriors = _fix_known(_vote_posteriors(enc), known)
        priors = posteriors.mean(axis=0)
        errors = _m_step(enc, posteriors, self.smoothing, self.few_answers)
        if initial_error:
            warm, has = _warm_errors(enc, initial_error)
            errors[has] = warm[has]
        history: list[float] = []
        for _ in range(self.n_iter):
            posteriors, log_likelihood = _e_step(enc, priors, errors, known)
            priors = posteriors.mean(axis=0)
            errors = _m_step(enc, posteriors, self.smoothing, self.few_answers)
            history.append(log_likelihood / len(enc.task))
            if len(history) > 1 and history[-1] - history[-2] < self.tol:
                break
        self.loss_history_ = history
        self.posteriors_array_ = posteriors
        self.priors_array_ = priors
        self.errors_array_ = errors
        return self

    def _set_crowdkit_attributes(self, enc: _Encoded) -> None:
        label_index = pd.Index(list(enc.labels), name="label")
        self.probas_ = pd.DataFrame(
            self.posteriors_array_, index=pd.Index(enc.item_ids, name="task"), columns=label_index
        )
        self.priors_ = pd.Series(self.priors_array_, index=label_index)
        rows = pd.MultiIndex.from_product(
            [enc.worker_ids, list(enc.labels)], names=["worker", "label"]
        )
        by_given = self.errors_array_.transpose(0, 2, 1).reshape(-1, enc.n_labels)
        self.errors_ = pd.DataFrame(by_given, index=rows, columns=label_index)
        self.labels_ = self.probas_.idxmax(axis="columns")


def _crowdkit_errors_to_mapping(errors: pd.DataFrame) -> dict[Hashable, np.ndarray]:
    """crowd-kit's (worker, given) x true frame -> {worker: true x given matrix}."""
    out: dict[Hashable, np.ndarray] = {}
    for worker, block in errors.groupby(level="worker", sort=False):
        given = block.droplevel("worker")
        out[worker] = given.reindex(index=given.columns, fill_value=0.0).to_numpy().T
    return out


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ItemConsensus:
    item: Hashable
    label: str
    posterior: dict[str, float]  # every label of the project, summing to 1
    n_answers: int
    known: bool

    @property
    def confidence(self) -> float:
        return self.posterior[self.label]


@dataclass(frozen=True)
class WorkerSkill:
    worker: Hashable
    skill: float  # expected accuracy under the class prior
    confusion: list[list[float]]  # true x given, rows sum to 1, in the order of labels
    n_answers: int


@dataclass(frozen=True, eq=False)
class AggregationResult:
    """Array-backed so that a million answers cost no Python object per answer.

    Rows of ``posteriors`` follow ``item_ids``; ``confusions[w, true, given]`` follows
    ``worker_ids`` and ``labels``. Ties go to the first label in ``labels``.
    """

    method: str
    labels: tuple[str, ...]
    item_ids: np.ndarray
    posteriors: np.ndarray
    item_answers: np.ndarray
    known: np.ndarray
    worker_ids: np.ndarray
    confusions: np.ndarray
    worker_answers: np.ndarray
    priors: np.ndarray
    iterations: int
    log_likelihood: float | None

    @cached_property
    def label_codes(self) -> np.ndarray:
        return self.posteriors.argmax(axis=1) if len(self.posteriors) else np.zeros(0, int)

    @cached_property
    def skills(self) -> np.ndarray:
        diagonal = np.diagonal(self.confusions, axis1=1, axis2=2)
        return diagonal @ self.priors if len(diagonal) else np.zeros(0)

    @cached_property
    def _item_rows(self) -> dict[Hashable, int]:
        return {item: row for row, item in enumerate(self.item_ids.tolist())}

    @cached_property
    def _worker_rows(self) -> dict[Hashable, int]:
        return {worker: row for row, worker in enumerate(self.worker_ids.tolist())}

    def consensus(self) -> dict[Hashable, str]:
        labels = np.asarray(self.labels, dtype=object)[self.label_codes]
        return dict(zip(self.item_ids.tolist(), labels.tolist(), strict=True))

    def item(self, item: Hashable) -> ItemConsensus:
        return self._item_at(self._item_rows[item])

    def items(self) -> Iterator[ItemConsensus]:
        return (self._item_at(row) for row in range(len(self.item_ids)))

    def worker(self, worker: Hashable) -> WorkerSkill:
        return self._worker_at(self._worker_rows[worker])

    def workers(self) -> Iterator[WorkerSkill]:
        return (self._worker_at(row) for row in range(len(self.worker_ids)))

    def initial_error(self) -> dict[Hashable, list[list[float]]]:
        """Confusion matrices keyed by worker, to pass back as ``aggregate(initial_error=...)``."""
        return dict(zip(self.worker_ids.tolist(), self.confusions.tolist(), strict=True))

    def _item_at(self, row: int) -> ItemConsensus:
        return ItemConsensus(
            item=self.item_ids[row],
            label=self.labels[self.label_codes[row]],
            posterior=dict(zip(self.labels, self.posteriors[row].tolist(), strict=True)),
            n_answers=int(self.item_answers[row]),
            known=bool(self.known[row] >= 0),
        )

    def _worker_at(self, row: int) -> WorkerSkill:
        return WorkerSkill(
            worker=self.worker_ids[row],
            skill=float(self.skills[row]),
            confusion=self.confusions[row].tolist(),
            n_answers=int(self.worker_answers[row]),
        )


# ---------------------------------------------------------------------------- aggregate


def aggregate(
    answers: pd.DataFrame | Iterable[AnswerRow | tuple[Hashable, Hashable, Any]],
    *,
    labels: Sequence[str],
    method: Method = "dawid_skene",
    true_labels: Mapping[Hashable, Any] | None = None,
    initial_error: Mapping[Hashable, Any] | None = None,
    smoothing: float = DEFAULT_SMOOTHING,
    few_answers: float = DEFAULT_FEW_ANSWERS,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
) -> AggregationResult:
    """Consensus per item and skill per worker from ``(item, worker, label)`` answers.

    ``true_labels`` (gold items, admin resolutions) fix those items' posteriors and teach
    the worker confusion matrices. ``initial_error`` is a previous result's
    ``initial_error()``: Dawid-Skene starts from it and converges in a few iterations.
    ``smoothing=0`` is plain (crowd-kit) Dawid-Skene.
    """
    if method not in METHODS:
        raise AggregationError(f"unknown method {method!r}, expected one of {METHODS}")
    if not labels:
        raise AggregationError("labels must not be empty")
    frame = answers if isinstance(answers, pd.DataFrame) else answers_frame(answers)
    enc = _encode(frame[["task", "worker", "label"]], labels)
    known = _known_codes(enc, true_labels)
    if enc.n_items == 0:
        return _result(enc, method, np.zeros((0, len(labels))), known, smoothing, 0, None)
    if method == "dawid_skene":
        model = SparseDawidSkene(
            n_iter=max_iter, tol=tol, smoothing=smoothing, few_answers=few_answers
        )
        model.fit_encoded(enc, known, initial_error)
        history = model.loss_history_
        log_likelihood = history[-1] * len(enc.task) if history else None
        return _result(
            enc, method, model.posteriors_array_, known, smoothing, len(history), log_likelihood,
            confusions=model.errors_array_, priors=model.priors_array_,
        )  # fmt: skip
    posteriors = _simple_posteriors(enc, method, known, frame)
    return _result(enc, method, posteriors, known, smoothing, 1 if method == "glad" else 0, None)


def _simple_posteriors(
    enc: _Encoded, method: str, known: np.ndarray, frame: pd.DataFrame
) -> np.ndarray:
    if method == "majority_vote":
        return _fix_known(_vote_posteriors(enc), known)
    if method == "wawa":
        return _fix_known(_vote_posteriors(enc, weights=_wawa_skills(enc, known)), known)
    return _fix_known(_glad_posteriors(enc, frame), known)


def _wawa_skills(enc: _Encoded, known: np.ndarray) -> np.ndarray:
    """Share of a worker's answers that agree with the majority (or known) label."""
    reference = _fix_known(_vote_posteriors(enc), known).argmax(axis=1)
    agree = (reference[enc.task] == enc.label).astype(float)
    return np.bincount(enc.worker, weights=agree, minlength=enc.n_workers) / np.maximum(
        enc.answers_per_worker, 1
    )


def _glad_posteriors(enc: _Encoded, frame: pd.DataFrame) -> np.ndarray:
    if len(enc.task) > GLAD_MAX_ANSWERS:
        raise AggregationError(
            f"GLAD is limited to {GLAD_MAX_ANSWERS} answers ({len(enc.task)} given): "
            "use dawid_skene for larger projects"
        )
    data = pd.DataFrame({"task": enc.task, "worker": enc.worker, "label": enc.label})
    probas = GLAD().fit_predict_proba(data)
    full = probas.reindex(index=range(enc.n_items), columns=range(enc.n_labels), fill_value=0.0)
    return full.to_numpy(dtype=float)


def _result(
    enc: _Encoded,
    method: str,
    posteriors: np.ndarray,
    known: np.ndarray,
    smoothing: float,
    iterations: int,
    log_likelihood: float | None,
    *,
    confusions: np.ndarray | None = None,
    priors: np.ndarray | None = None,
) -> AggregationResult:
    if priors is None:
        priors = posteriors.mean(axis=0) if len(posteriors) else np.zeros(enc.n_labels)
    if confusions is None:
        # Methods without confusion matrices: estimate them from the posteriors once.
        confusions = _m_step(enc, posteriors, max(smoothing, 1.0), few_answers=np.inf)
    return AggregationResult(
        method=method,
        labels=enc.labels,
        item_ids=enc.item_ids,
        posteriors=posteriors,
        item_answers=np.bincount(enc.task, minlength=enc.n_items),
        known=known,
        worker_ids=enc.worker_ids,
        confusions=confusions,
        worker_answers=enc.answers_per_worker,
        priors=priors,
        iterations=iterations,
        log_likelihood=log_likelihood,
    )


# ---------------------------------------------------------------------------- overlap


# Platform defaults for dynamic overlap, chosen with `bench/quality.py overlap` and `decide`
# (docs/benchmarks-quality.md (d), (e)). Dawid-Skene's posterior is over-confident while items
# have 2-3 answers, so an item is done early only when the posterior reaches the target AND the
# raw votes back the consensus label by DEFAULT_MIN_VOTE_LEAD (two agreeing answers at least).
# At max_overlap (or with no worker left to ask) no more answers can settle it: its consensus
# is accepted when its posterior is at least the review bar, and only the rest, the real
# disagreements, go to the review queue.
DEFAULT_MIN_OVERLAP = 2
DEFAULT_MAX_OVERLAP = 50
DEFAULT_TARGET_POSTERIOR = 0.999
DEFAULT_MIN_VOTE_LEAD = 2
DEFAULT_REVIEW_BELOW = 0.9
# Hysteresis: a settled item (in consensus, same label) stays settled while its posterior is
# at least 1 - SETTLE_MARGIN x (1 - target), 0.99 for a target of 0.999: it leaves only when
# its chance of being wrong grew tenfold. Warm-started and cold runs of the same answers, and
# a late answer, move the posterior in its last digits; without a margin an item at 0.9991
# flips to waiting at 0.9989 and back (issue 13: a cold run moved 7 finished items back to
# waiting). Replayed on issue 13's crowd (bench/quality.py decide): margin 5 / 10 / 20 / none
# moved 599 / 419 / 252 / 0 settled items back (binary, 3 seeds) at finalized accuracy
# 0.9924 / 0.9928 / 0.9924 / 0.9883: the items that leave are mostly ones whose posterior
# rested on a worker the model later found out, worth another answer.
SETTLE_MARGIN = 10.0

NEED_MORE, DONE, NEEDS_REVIEW, NO_WORKER_LEFT = 0, 1, 2, 3
# Indexed by the codes. NO_WORKER_LEFT is a review too, with its own reason: the item wants
# more answers but every worker who may answer it already has.
DECISIONS: tuple[Decision, ...] = ("need_more", "done", "needs_review", "no_worker_left")


def settle_floor(target_posterior: float) -> float:
    """The posterior below which a settled item is reconsidered (see SETTLE_MARGIN)."""
    return max(0.0, 1.0 - SETTLE_MARGIN * (1.0 - target_posterior))


def vote_leads(
    item_codes: np.ndarray, label_codes: np.ndarray, consensus_codes: np.ndarray, n_labels: int
) -> np.ndarray:
    """Per item: votes for its consensus label minus the most votes any other label got.

    ``item_codes``/``label_codes``: one entry per answer (the item's row in the result, the
    label's index in ``labels``); ``consensus_codes`` is ``result.label_codes``. Negative when
    the votes prefer another label than the consensus.
    """
    n_items = len(consensus_codes)
    width = n_labels + 1  # a spare zero column, so that one label still has a runner-up
    cells = np.asarray(item_codes) * width + np.asarray(label_codes)
    votes = np.bincount(cells, minlength=n_items * width).reshape(n_items, width)
    rows = np.arange(n_items)
    own = votes[rows, consensus_codes].copy()
    votes[rows, consensus_codes] = -1
    return own - votes.max(axis=1)


def overlap_decisions(
    n_answers: np.ndarray,
    max_posteriors: np.ndarray,
    vote_lead: np.ndarray | None = None,
    *,
    min_overlap: int | np.ndarray,
    max_overlap: int | np.ndarray,
    target_posterior: float,
    min_vote_lead: int = DEFAULT_MIN_VOTE_LEAD,
    review_below: float | None = None,
    settled: np.ndarray | None = None,
    no_worker_left: np.ndarray | None = None,
) -> np.ndarray:
    """Vectorised :func:`overlap_decision`: one code per item (``NEED_MORE``, ``DONE``,
    ``NEEDS_REVIEW``, ``NO_WORKER_LEFT``; ``DECISIONS[code]`` is the name). ``max_overlap``
    may be per item (a HIT an admin sent back for more answers). ``vote_lead=None`` skips the
    vote check; ``review_below=None`` reviews every item still unsure at ``max_overlap`` (a
    bar above ``target_posterior`` acts as the target).
    ``settled``: per item, whether it was done before with the label it has now (hysteresis);
    ``no_worker_left``: per item, whether every worker who may answer it has."""
    _check_overlap_settings(min_overlap, max_overlap, target_posterior, review_below)
    n_answers = np.asarray(n_answers)
    max_posteriors = np.asarray(max_posteriors, dtype=float)
    if np.isnan(max_posteriors).any():
        raise ValueError("posteriors must not be NaN")
    sure = max_posteriors >= target_posterior
    if vote_lead is not None:
        sure &= np.asarray(vote_lead) >= min_vote_lead
    enough = n_answers >= min_overlap
    if settled is not None:
        sure |= np.asarray(settled, dtype=bool) & (max_posteriors >= settle_floor(target_posterior))
    at_cap = n_answers >= max_overlap
    stuck = np.zeros(len(n_answers), dtype=bool) if no_worker_left is None else no_worker_left
    stuck = np.asarray(stuck, dtype=bool) & ~at_cap
    final = at_cap | stuck  # no more answers will come
    bar = 2.0 if review_below is None else min(review_below, target_posterior)
    accepted = enough & (max_posteriors >= bar)
    codes = np.where(at_cap, NEEDS_REVIEW, NEED_MORE)
    codes = np.where(stuck, NO_WORKER_LEFT, codes)
    codes = np.where(final & accepted, DONE, codes)
    codes = np.where(enough & sure, DONE, codes)
    return np.where(~enough & ~stuck, NEED_MORE, codes)


def overlap_decision(
    n_answers: int,
    max_posterior: float,
    *,
    min_overlap: int,
    max_overlap: int,
    target_posterior: float,
    vote_lead: int | None = None,
    min_vote_lead: int = DEFAULT_MIN_VOTE_LEAD,
    review_below: float | None = None,
    settled: bool = False,
    no_worker_left: bool = False,
) -> Decision:
    """Whether an item wants another answer, is done, or needs a human review.

    Below ``min_overlap`` answers it wants more (unless nobody is left to give them: review).
    From there it is done once its consensus reaches ``target_posterior`` and (when
    ``vote_lead`` is given, see :func:`vote_leads`) its answers back the consensus label by
    ``min_vote_lead`` votes. A ``settled`` item (done before, same label) stays done until its
    posterior falls below :func:`settle_floor`. When no more answers can come (``max_overlap``
    reached, or ``no_worker_left``) an unsure item is accepted if its posterior is at least
    ``review_below`` and goes to review otherwise (``needs_review`` at the cap,
    ``no_worker_left`` before it).
    """
    code = overlap_decisions(
        np.array([n_answers]),
        np.array([max_posterior], dtype=float),
        None if vote_lead is None else np.array([vote_lead]),
        min_overlap=min_overlap,
        max_overlap=max_overlap,
        target_posterior=target_posterior,
        min_vote_lead=min_vote_lead,
        review_below=review_below,
        settled=np.array([settled]),
        no_worker_left=np.array([no_worker_left]),
    )[0]
    return DECISIONS[int(code)]


def _check_overlap_settings(
    min_overlap: int | np.ndarray,
    max_overlap: int | np.ndarray,
    target_posterior: float,
    review_below: float | None = None,
) -> None:
    low, high = np.asarray(min_overlap), np.asarray(max_overlap)
    if np.any(low < 1) or np.any(high < low):
        raise ValueError(f"need 1 <= min_overlap <= max_overlap, got {min_overlap}, {max_overlap}")
    if not 0.0 < target_posterior <= 1.0:
        raise ValueError(f"bad target_posterior {target_posterior}")
    if review_below is not None and not 0.0 <= review_below <= 1.0:
        raise ValueError(f"bad review_below {review_below}")
