"""Per worker, from a run's answers and result: counts, gold accuracy, agreement, median
seconds, skill and confusion matrix, and the evidence the block checks need
(`apps.workers.services.block_check_sizes`, `reliability.soft_confusion_counts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from apps.tasks.aggregation import AggregationResult
from apps.tasks.models import Project
from apps.tasks.services.consensus.reading import ProjectAnswers, positions_in
from apps.workers.reliability import first_answers, soft_confusion_counts, truth_without
from apps.workers.services import block_check_sizes


def worker_stats(
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
    consensus = result.label_codes[positions_in(result.item_ids, answers.item)]
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
        project=project, worker_ids=workers.tolist(), counts=counts, gold=gold, stored=stored
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
        known=result.known[positions_in(result.item_ids, items)],
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
