"""Dynamic overlap: per undecided item on a people HIT, one more answer, done, or review.

The rule itself is pure (`aggregation.overlap_decisions`); this module reads each item's
answers, top posterior and vote lead, and turns the decisions into item and HIT rows to write.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from apps.tasks.aggregation import (
    DONE,
    NEED_MORE,
    NEEDS_REVIEW,
    NO_WORKER_LEFT,
    AggregationResult,
    overlap_decisions,
    vote_leads,
)
from apps.tasks.models import HIT, Item, Project
from apps.tasks.selectors.consensus import items_no_answer_to_come, items_nobody_may_answer
from apps.tasks.services.consensus.reading import (
    ProjectAnswers,
    crowd_items,
    label_code,
    positions_in,
)
from hitlcrowd.rawrows import fetch_rows

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


def overlap_rows(
    project: Project, result: AggregationResult, now, answers: ProjectAnswers
) -> tuple[list, list]:
    """Per undecided item on a people HIT: one more answer, done, or the disagreement queue.
    Returns the items and HITs that change, with their new values (unsaved)."""
    open_states = [Item.State.WAITING, Item.State.CONSENSUS]
    current = fetch_rows(
        crowd_items(project)
        .filter(state__in=open_states, hit__is_gold=False)
        .exclude(hit__state=HIT.State.CANCELLED)
        .values_list(
            "pk",
            "state",
            label_code("final_label", result.labels),
            "hit__pk",
            "hit__answers_wanted",
            "hit__state",
            "hit__extra_answers",
        )
    )
    if not current:
        return [], []
    pk, state, stored_code, hit_id, wanted, hit_state, extra = zip(*current, strict=True)
    positions = positions_in(result.item_ids, pk)
    # Items without answers: n = 0, top = 0 (a trailing 0 row that position -1 picks).
    answered = np.append(result.item_answers, 0)[positions]
    top = np.append(result.posteriors.max(axis=1, initial=0.0), 0.0)[positions]
    lead = np.append(_vote_leads(project, result, answers), 0)[positions]
    label = np.append(result.label_codes, -1)[positions]
    # Hysteresis (aggregation.SETTLE_MARGIN): done before, and still with the same label.
    settled = (np.asarray(state) == Item.State.CONSENSUS) & (np.asarray(stored_code) == label)
    stuck = np.isin(np.asarray(pk, dtype=np.int64), items_nobody_may_answer(project=project))
    extra = np.asarray([more or 0 for more in extra], dtype=np.int64)
    all_in = np.zeros(len(pk), dtype=bool)
    if project.kind == Project.Kind.MTURK:
        all_in = np.isin(np.asarray(pk, dtype=np.int64), items_no_answer_to_come(project=project))
    rows = _OverlapInput(answered, top, lead, np.asarray(wanted), extra, settled, stuck, all_in)
    new_state, reasons, new_wanted, new_hit_state = _decide_many(project, rows)
    items = [
        Item(pk=row, state=new, review_reason=reason, updated_at=now)
        for row, old, new, reason in zip(pk, state, new_state, reasons, strict=True)
        if new != old
    ]
    if project.kind == Project.Kind.MTURK:
        return items, []
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
    consensus with the same label), whether no worker is left who may answer it, and (MTurk
    projects) whether no answer can come (every assignment in, or the HIT expired)."""

    answers: np.ndarray
    top: np.ndarray
    lead: np.ndarray
    wanted: np.ndarray
    extra: np.ndarray
    settled: np.ndarray
    stuck: np.ndarray
    all_in: np.ndarray


def _vote_leads(project: Project, result: AggregationResult, answers: ProjectAnswers) -> np.ndarray:
    """Per row of the result: votes for its consensus label minus the best other label's."""
    rows = positions_in(result.item_ids, answers.item)
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
    min_overlap: int | np.ndarray = project.min_overlap
    stuck = rows.stuck
    if project.kind == Project.Kind.MTURK:
        # Its HITs' MaxAssignments answers, no fewer (the requester asked and pays for them)
        # and no more (apps/mturk/services/categorical.py); overlap_rows leaves the HITs be.
        # Once no answer can come (every assignment in, or the HIT expired), the item is
        # decided on the answers that count: a blocked worker's or a rejected answer is not
        # replaced (services/discard.py).
        wanted = np.maximum(rows.wanted.astype(np.int64), 1)
        counted = np.clip(rows.answers, 1, wanted)
        min_overlap = max_overlap = np.where(rows.all_in, counted, wanted)
        stuck = stuck | rows.all_in  # none counting: review (nothing to decide it on)
    codes = overlap_decisions(
        rows.answers,
        rows.top,
        rows.lead,
        min_overlap=min_overlap,
        max_overlap=max_overlap,
        target_posterior=project.target_posterior,
        min_vote_lead=project.min_vote_lead,
        review_below=project.review_below,
        settled=rows.settled,
        no_worker_left=stuck,
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
