"""Reads of consensus results for a project's owner: labels with posteriors, quality summary.

Callers scope the project to its owner first (`project_get_for_requester`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.tasks.models import COUNTED_ANSWERS, AggregationRun, Answer, Item, Project
from apps.workers.models import Block

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
    return get_object_or_404(consensus_list_for_project(project=project), pk=item_id)


def aggregation_run_latest(*, project: Project) -> AggregationRun | None:
    return AggregationRun.objects.filter(project=project).order_by("-id").first()


def project_quality(*, project: Project) -> dict[str, Any]:
    """Gold accuracy of the crowd's answers, mean posterior of crowd labels, answers per item
    (answers that still count), blocked workers, items by state, and the latest run."""
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
    }
