"""Which crowd items a run relabels: those whose stored label or posterior differs from the
run's result, with their new values. Posteriors are rounded and compared with a tolerance, so
a warm start's wobble in the last digits writes nothing.
"""

from __future__ import annotations

import numpy as np
from django.db.models import FloatField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from apps.tasks.aggregation import AggregationResult
from apps.tasks.models import AggregationRun, Item, Project
from apps.tasks.services.consensus.reading import (
    crowd_items,
    fetch_floats,
    label_code,
    positions_in,
)

POSTERIOR_DIGITS = 6
# Stored posteriors are rewritten only when a class moves more than this (warm starts wobble
# in the last digits; a retried run must write nothing).
POSTERIOR_TOLERANCE = 1e-4


CROWD_LABEL_FIELDS = [
    "final_label",
    "posterior",
    "final_confidence",
    "label_source",
    "consensus_method",
    "aggregation_run_id",
    "updated_at",
]


def stale_rows(project: Project, run: AggregationRun, result: AggregationResult, now) -> list:
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
    rows = crowd_items(project).values_list("pk", label_code("final_label", labels), *columns)
    table = fetch_floats(rows, 2 + len(labels))
    pks = table[:, 0].astype(np.int64)
    positions = positions_in(result.item_ids, pks)
    aggregated = positions >= 0
    pks, positions, table = pks[aggregated], positions[aggregated], table[aggregated]
    new = np.round(result.posteriors[positions], POSTERIOR_DIGITS)
    # NaN (no posterior, or a label missing from it) compares false: stale.
    same = np.all(np.abs(table[:, 2:] - new) <= POSTERIOR_TOLERANCE, axis=1)
    same &= table[:, 1] == result.label_codes[positions]
    return pks[~same], positions[~same]


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
    for pk, label, posterior in crowd_items(project).values_list("pk", "final_label", "posterior"):
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
