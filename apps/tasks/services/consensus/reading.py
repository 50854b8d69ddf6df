"""What a consensus run reads: a project's answers as arrays, its known labels, its crowd items.

Each read is one query that builds no model instances: a run reads all of a project's answers
every time, so the answers come back as numpy arrays, not as a Python object per answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from apps.tasks.models import Answer, Item, Project
from apps.workers.selectors import blocked_worker_ids
from hitlcrowd.rawrows import fetch_rows

HUMAN_SOURCES = (Item.Source.MODEL, Item.Source.ADMIN, Item.Source.GOLD, Item.Source.USER)


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
    if project.kind == Project.Kind.MTURK:
        # An answer without a value in the label set, or one its requester rejected
        # (apps/mturk/services/assignments.py; the status's value, to import nothing of it).
        answers = answers.exclude(label="").exclude(assignment__mturk__status="Rejected")
    coded = answers.annotate(code=label_code("label", labels))
    columns = coded.values_list("pk", "item_id", "worker_id", "code", "seconds_spent")
    table = fetch_floats(columns, 5)
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


def label_code(field: str, labels: tuple[str, ...]) -> Case:
    """The label's position in `labels` computed by the database, -1 when not in them."""
    whens = [When(**{field: label}, then=Value(code)) for code, label in enumerate(labels)]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def fetch_floats(queryset: QuerySet, width: int) -> np.ndarray:
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


def crowd_items(project: Project):
    """Items the crowd may label (not gold, not labeled by a model, admin or user)."""
    return (
        Item.objects.filter(project=project, is_gold=False)
        .exclude(label_source__in=HUMAN_SOURCES)
        .order_by()
    )


def positions_in(item_ids: np.ndarray, wanted) -> np.ndarray:
    """Rows of `wanted` ids in the result's `item_ids`, -1 where absent."""
    return pd.Index(item_ids.astype(np.int64)).get_indexer(np.asarray(wanted, dtype=np.int64))
