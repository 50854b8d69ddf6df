"""Reads of the learning loop for a project's owner (callers fetch the project with
`project_get_for_requester` first, so every query here starts from that one project)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.models.models import ItemFlag, ModelVersion, RescoreRun, TrainingRun
from apps.models.services.common import learning_settings_of
from apps.tasks.models import HIT, Answer, Item, Project
from apps.workers.selectors import blocked_worker_ids

__all__ = [
    "audit_accuracy",
    "dashboard",
    "learning_settings_of",
    "model_version_active",
    "model_version_list",
    "rescore_latest",
    "training_run_list",
]

DASHBOARD_DAYS = 30


def model_version_list(*, project: Project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(project=project).order_by("-number")


def model_version_active(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, is_active=True).first()


def training_run_list(*, project: Project) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(project=project).select_related("model_version")


def rescore_latest(*, project: Project) -> RescoreRun | None:
    return (
        RescoreRun.objects.filter(project=project)
        .select_related("model_version")
        .order_by("-started_at", "-id")
        .first()
    )


def audit_accuracy(*, project: Project, version: ModelVersion | None = None) -> dict[str, Any]:
    """The model's label against people's majority on audit items whose HIT is done
    (answers of blocked workers left out; ties are not counted)."""
    flags = ItemFlag.objects.filter(project=project, kind=ItemFlag.Kind.AUDIT)
    if version is not None:
        flags = flags.filter(model_version=version)
    model_label = dict(flags.values_list("item_id", "model_label"))
    done = set(
        HIT.objects.filter(item_id__in=model_label, state=HIT.State.DONE).values_list(
            "item_id", flat=True
        )
    )
    votes: dict[int, Counter] = defaultdict(Counter)
    answers = (
        Answer.objects.counted()
        .filter(item_id__in=done)
        .exclude(worker_id__in=blocked_worker_ids(project=project))
        .values_list("item_id", "label")
    )
    for item_id, label in answers:
        votes[item_id][label] += 1
    judged = correct = 0
    for item_id, counter in votes.items():
        ranked = counter.most_common(2)
        top, n = ranked[0]
        if len(ranked) == 2 and ranked[1][1] == n:
            continue
        judged += 1
        correct += top == model_label[item_id]
    return {
        "audited": len(model_label),
        "judged": judged,
        "correct": correct,
        "accuracy": correct / judged if judged else None,
    }


def _per_day(project: Project, since) -> list[dict[str, Any]]:
    """Per day: items auto-labeled, items labeled by people, human answers."""
    auto = (
        Item.objects.filter(project=project, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            items=Count("id"),
            auto=Count("id", filter=Q(label_source=Item.Source.MODEL)),
        )
        .order_by("day")
    )
    answers = (
        Answer.objects.filter(project=project, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    days: dict[Any, dict[str, Any]] = {}
    for row in auto:
        days[row["day"]] = {"day": row["day"], "items": row["items"], "auto": row["auto"]}
    for row in answers:
        days.setdefault(row["day"], {"day": row["day"], "items": 0, "auto": 0})["answers"] = row[
            "n"
        ]
    out = []
    for day in sorted(days):
        entry = days[day] | {"answers": days[day].get("answers", 0)}
        entry["automation_rate"] = entry["auto"] / entry["items"] if entry["items"] else None
        out.append(entry)
    return out


def dashboard(*, project: Project) -> dict[str, Any]:
    versions = list(model_version_list(project=project))
    active = next((v for v in versions if v.is_active), None)
    counts = Item.objects.filter(project=project).aggregate(
        total=Count("id"), auto=Count("id", filter=Q(label_source=Item.Source.MODEL))
    )
    return {
        "versions": versions,
        "active": active,
        "audit": audit_accuracy(project=project, version=active) if active else None,
        "automation_rate": counts["auto"] / counts["total"] if counts["total"] else None,
        "items": counts["total"],
        "per_day": _per_day(project, timezone.now() - timedelta(days=DASHBOARD_DAYS)),
        "rescore": rescore_latest(project=project),
        "runs": list(training_run_list(project=project)[:10]),
        "settings": learning_settings_of(project),
        "suspected_errors": ItemFlag.objects.filter(
            project=project, kind=ItemFlag.Kind.SUSPECTED_ERROR
        ).count(),
    }
