"""The project overview in the admin (apps/tasks/admin_overview.py): a handful of aggregate
queries, none per row, so the page costs the same for ten items or ten million."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.tasks.models import Answer, GuidelineVersion, Item, Project
from apps.tasks.selectors.projects import project_item_counts
from apps.workers.models import Block
from apps.workers.selectors import budget_status

HOURS = 24
GUIDELINES_SHOWN = 10


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


def automation(*, project: Project) -> dict[str, Any]:
    """Auto-labeled items over items with a final label (None when nothing is labeled)."""
    row = (
        Item.objects.filter(project=project)
        .exclude(final_label="")
        .aggregate(labeled=Count("id"), auto=Count("id", filter=Q(label_source=Item.Source.MODEL)))
    )
    rate = row["auto"] / row["labeled"] if row["labeled"] else None
    return {**row, "rate": rate}


def project_overview(*, project: Project) -> dict[str, Any]:
    """Everything the overview page shows; at most 7 queries."""
    counts = project_item_counts(project=project)
    return {
        "counts": counts,
        "per_hour": answers_per_hour(project=project),
        "automation": automation(project=project),
        "disagreements": counts.get(Item.State.NEEDS_REVIEW, 0),
        "blocked": Block.objects.filter(project=project, lifted_at__isnull=True).count(),
        "budget": budget_status(project=project),
        "guidelines": list(
            GuidelineVersion.objects.filter(project=project).order_by("-number")[:GUIDELINES_SHOWN]
        ),
    }
