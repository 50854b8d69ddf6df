"""The project overview in the admin (apps/tasks/admin/overview.py): a handful of aggregate
queries, none per row, so the page costs the same for ten items or ten million."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import TruncHour, TruncMinute
from django.utils import timezone

from apps.tasks.models import Answer, GuidelineVersion, Item, Project
from apps.tasks.selectors.projects import project_item_counts
from apps.workers.models import Block
from apps.workers.selectors import budget_status

HOURS = 24
GUIDELINES_SHOWN = 10
LIVE_MINUTES = 60


def answers_per_hour(*, project: Project, now: datetime | None = None) -> list[dict[str, Any]]:
    """The last HOURS hours, oldest first, zeros included: one GROUP BY on the truncated hour
    (index answer_project_created)."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=HOURS - 1)
    rows = (
        Answer.objects.filter(project=project, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["hour"]: row["n"] for row in rows}
    hours = [start + timedelta(hours=i) for i in range(HOURS)]
    return [{"hour": hour, "answers": counts.get(hour, 0)} for hour in hours]


# The automation rate, one definition for every page and the API (README, "Automation rate"):
# of the items with a final label, the share the model labeled. Items still waiting or in
# review, ambiguous ones (no label) and gold (never given a label of its own) are left out.
AUTOMATION_LABELED = (Item.State.AUTO_LABELED, Item.State.CONSENSUS, Item.State.RESOLVED)


def automation_of(counts: Mapping[str, int]) -> dict[str, Any]:
    """{labeled, auto, rate, percent} from item counts per state (rate and percent None when
    nothing is labeled; percent is what the pages print, to one decimal)."""
    labeled = sum(counts.get(state, 0) for state in AUTOMATION_LABELED)
    auto = counts.get(Item.State.AUTO_LABELED, 0)
    rate = auto / labeled if labeled else None
    percent = None if rate is None else round(100 * rate, 1)
    return {"labeled": labeled, "auto": auto, "rate": rate, "percent": percent}


def automation(*, project: Project, counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The project's automation rate; from `counts` (project_item_counts) when the caller
    has them, else one GROUP BY state."""
    return automation_of(project_item_counts(project=project) if counts is None else counts)


def project_overview(*, project: Project) -> dict[str, Any]:
    """Everything the overview page shows; at most 6 queries."""
    counts = project_item_counts(project=project)
    return {
        "counts": counts,
        "per_hour": answers_per_hour(project=project),
        "automation": automation(project=project, counts=counts),
        "disagreements": counts.get(Item.State.NEEDS_REVIEW, 0),
        "blocked": Block.objects.filter(project=project, lifted_at__isnull=True).count(),
        "budget": budget_status(project=project),
        "guidelines": list(
            GuidelineVersion.objects.filter(project=project).order_by("-number")[:GUIDELINES_SHOWN]
        ),
    }


def loop_now(*, project: Project, now: datetime | None = None) -> dict[str, Any]:
    """The loop as it runs, for the model dashboard: human answers (all of them, as paid:
    `discarded` of them, from blocked workers or rejected, no longer count; and on gold, with the
    share right), the crowd's consensus on gold items, workers blocked, and per minute over
    the last LIVE_MINUTES the answers and the blocks. Four queries.

    The consensus on a gold item is the majority of its answers (a tie counts as wrong):
    gold items never get a consensus label of their own (their label is known), and a
    Dawid-Skene fit per page view would cost as much as a consensus run."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=LIVE_MINUTES - 1)
    answers = Answer.objects.filter(project=project)
    totals = answers.aggregate(
        answers=Count("id"),
        discarded=Count("id", filter=Q(discarded_at__isnull=False)),
        gold=Count("id", filter=Q(item__is_gold=True)),
        gold_right=Count("id", filter=Q(item__is_gold=True, label=F("item__gold_label"))),
    )
    per_gold_item: dict[int, tuple[str, dict[str, int]]] = {}
    for item, label, gold, n in (
        answers.filter(item__is_gold=True)
        .values_list("item", "label", "item__gold_label")
        .annotate(n=Count("id"))
        .order_by()
    ):
        per_gold_item.setdefault(item, (gold, {}))[1][label] = n
    majority_right = sum(1 for gold, votes in per_gold_item.values() if _majority_is(gold, votes))
    per_minute = dict(
        answers.filter(created_at__gte=start)
        .annotate(minute=TruncMinute("created_at"))
        .values_list("minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    blocks = list(
        Block.objects.filter(project=project, lifted_at__isnull=True).values_list(
            "created_at", flat=True
        )
    )
    minutes = [start + timedelta(minutes=i) for i in range(LIVE_MINUTES)]
    return {
        "answers": totals["answers"],
        "discarded": totals["discarded"],
        "gold_answers": totals["gold"],
        "gold_answer_accuracy": totals["gold_right"] / totals["gold"] if totals["gold"] else None,
        "gold_items_answered": len(per_gold_item),
        "gold_consensus_right": majority_right,
        "gold_consensus_accuracy": (majority_right / len(per_gold_item) if per_gold_item else None),
        "blocked": len(blocks),
        "minutes": minutes,
        "answers_per_minute": [per_minute.get(m, 0) for m in minutes],
        "blocked_by_minute": [
            sum(1 for b in blocks if b < m + timedelta(minutes=1)) for m in minutes
        ],
    }


def _majority_is(label: str, votes: dict[str, int]) -> bool:
    """`label` has more votes than any other (a tie is not a majority)."""
    top = max(votes.values())
    return votes.get(label, 0) == top and list(votes.values()).count(top) == 1
