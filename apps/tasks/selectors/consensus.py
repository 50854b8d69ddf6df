"""Reads of consensus results for a project's owner: labels with posteriors, quality summary.

Callers scope the project to its owner first (`project_get_for_requester`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.tasks.models import (
    COUNTED_ANSWERS,
    HIT,
    AggregationRun,
    Answer,
    Assignment,
    Item,
    Project,
)
from apps.tasks.selectors.eligibility import eligible_workers
from apps.workers.models import Block
from hitlcrowd.errors import one_or_not_found

NEEDS_REVIEW = Item.State.NEEDS_REVIEW


def consensus_list_for_project(*, project: Project, state: str | None = None) -> QuerySet[Item]:
    """Items that have a consensus label or want people, lowest posterior first within a state
    filter of `needs_review`, else in id order. Annotated with `n_answers`."""
    items = (
        Item.objects.filter(project=project, is_gold=False)
        .exclude(state=Item.State.AUTO_LABELED)
        .select_related("resolved_by")
        # The answers that still count: not superseded by a re-queue, not discarded.
        .annotate(n_answers=Count("answers", filter=COUNTED_ANSWERS))
    )
    if state is not None:
        items = items.filter(state=state)
    if state == NEEDS_REVIEW:
        return items.order_by(F("final_confidence").asc(nulls_first=True), "id")
    return items.order_by("id")


def consensus_get_for_project(*, project: Project, item_id: int) -> Item:
    return one_or_not_found(consensus_list_for_project(project=project), pk=item_id)


def aggregation_run_latest(*, project: Project) -> AggregationRun | None:
    return AggregationRun.objects.filter(project=project).order_by("-id").first()


def project_quality(*, project: Project) -> dict[str, Any]:
    """Gold accuracy of the crowd's answers, mean posterior of crowd labels, answers per item
    (answers that still count), blocked workers, items by state, the latest run, and the review
    bar's trade-off."""
    counted = Answer.objects.counted().filter(project=project)
    gold = counted.filter(item__is_gold=True).aggregate(
        answers=Count("pk"), correct=Count("pk", filter=Q(label=F("item__gold_label")))
    )
    crowd = Item.objects.filter(project=project, label_source=Item.Source.CROWD).aggregate(
        items=Count("pk"), mean_posterior=Avg("final_confidence")
    )
    answered = counted.filter(item__is_gold=False).aggregate(
        answers=Count("pk"), items=Count("item", distinct=True)
    )
    by_state = dict.fromkeys(Item.State.values, 0)
    for state, n in (
        Item.objects.filter(project=project).values_list("state").annotate(n=Count("pk")).order_by()
    ):
        by_state[state] = n
    return {
        "gold_answers": gold["answers"],
        "gold_accuracy": gold["correct"] / gold["answers"] if gold["answers"] else None,
        "crowd_labeled": crowd["items"],
        "mean_posterior": crowd["mean_posterior"],
        "answers": answered["answers"],
        "answers_per_item": answered["answers"] / answered["items"] if answered["items"] else None,
        "blocked_workers": Block.objects.filter(project=project, lifted_at__isnull=True).count(),
        "items_by_state": by_state,
        "latest_run": aggregation_run_latest(project=project),
        "review_tradeoff": review_tradeoff(project=project),
    }


# Review bars the trade-off shows beside the project's own (`review_tradeoff`).
TRADEOFF_BARS = (0.5, 0.8, 0.9, 0.95, 0.99)


def review_tradeoff(*, project: Project) -> list[dict[str, Any]]:
    """For a few review bars: how many of the items the crowd decided (in consensus or in
    review, crowd label) would go to review, and the expected accuracy of the others, read as
    their mean top posterior. One query. Dawid-Skene's posterior runs above the real accuracy
    on hard data (docs/benchmarks-quality.md (d), (e)): an estimate, not a measurement."""
    bars = sorted({*TRADEOFF_BARS, project.review_below})
    decided = Item.objects.filter(
        project=project,
        is_gold=False,
        label_source=Item.Source.CROWD,
        state__in=[Item.State.CONSENSUS, Item.State.NEEDS_REVIEW],
        final_confidence__isnull=False,
    )
    columns: dict[str, Any] = {"total": Count("pk")}
    for index, bar in enumerate(bars):
        below = Q(final_confidence__lt=bar)
        columns[f"review_{index}"] = Count("pk", filter=below)
        columns[f"expected_{index}"] = Avg("final_confidence", filter=~below)
    row = decided.aggregate(**columns)
    total = row["total"]
    return [
        {
            "review_below": bar,
            "current": bar == project.review_below,
            "decided": total,
            "to_review": row[f"review_{index}"],
            "share_to_review": row[f"review_{index}"] / total if total else None,
            "expected_accuracy": row[f"expected_{index}"],
        }
        for index, bar in enumerate(bars)
    ]


def items_nobody_may_answer(*, project: Project) -> list[int]:
    """Items of the project's people HITs that every eligible worker (selectors/eligibility.py)
    was already served (the claim never serves a HIT twice: any assignment not superseded
    counts) and that no live lease is on: no answer can come. One grouped query over the
    project's assignments, whatever the number of items; none while the project has no
    eligible worker at all (new workers may still come)."""
    workers = eligible_workers(project=project).order_by()
    # The number of eligible workers, as a scalar subquery (grouped on a constant).
    total = workers.annotate(one=Value(1)).values("one").annotate(n=Count("pk")).values("n")
    served = (
        Assignment.objects.filter(
            project=project,
            hit__is_gold=False,
            superseded_by__isnull=True,
            worker__in=workers.values("pk"),
        )
        .values("hit__item_id")
        .annotate(
            n=Count("worker", distinct=True),
            live=Count("pk", filter=Q(state=Assignment.State.LEASED)),
        )
        .filter(n__gte=Subquery(total), live=0)
        .order_by()
    )
    return list(served.values_list("hit__item_id", flat=True))


def items_no_answer_to_come(*, project: Project) -> list[int]:
    """Items of an MTurk project to which no answer can come any more: their HIT has all its
    MaxAssignments (answers_wanted) assignments submitted, counted or not (a blocked worker's
    or a rejected one keeps its slot: services/discard.py), or it expired and no live lease
    is left on it. One query."""
    submitted = (
        Assignment.objects.filter(
            hit=OuterRef("pk"), state=Assignment.State.SUBMITTED, superseded_by__isnull=True
        )
        .order_by()
        .values("hit")
        .annotate(n=Count("pk"))
        .values("n")
    )
    leased = Assignment.objects.filter(hit=OuterRef("pk"), state=Assignment.State.LEASED)
    hits = HIT.objects.filter(project=project, is_gold=False).annotate(
        submitted=Coalesce(Subquery(submitted), Value(0))
    )
    over = Q(submitted__gte=F("answers_wanted")) | (Q(state=HIT.State.EXPIRED) & ~Exists(leased))
    return list(hits.filter(over).values_list("item_id", flat=True))
