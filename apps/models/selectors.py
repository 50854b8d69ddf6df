"""Reads of the learning loop for a project's owner (callers fetch the project with
`project_get_for_requester` first, so every query here starts from that one project)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.models import evidence
from apps.models.models import ItemFlag, ModelVersion, RescoreRun, TrainingRun
from apps.models.services.common import learning_settings_of
from apps.tasks.models import HIT, Answer, Item, Project
from apps.tasks.selectors.overview import automation, automation_of
from apps.workers.selectors import blocked_worker_ids

__all__ = [
    "audit_accuracy",
    "audit_verdicts",
    "auto_label_preview",
    "auto_label_threshold",
    "auto_labels_below",
    "dashboard",
    "incumbent",
    "learning_settings_of",
    "model_version_active",
    "model_version_list",
    "rescore_latest",
    "training_run_list",
]

DASHBOARD_DAYS = 30
PEOPLE_FINAL_STATES = (Item.State.CONSENSUS, Item.State.RESOLVED)
PEOPLE_SOURCES = (Item.Source.CROWD, Item.Source.ADMIN, Item.Source.USER)


def model_version_list(*, project: Project) -> QuerySet[ModelVersion]:
    # `evidence` holds a pair per judged item (up to ~20k at 100k labels): not for lists.
    return ModelVersion.objects.filter(project=project).defer("evidence").order_by("-number")


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


def audit_verdicts(*, project: Project, item_ids: Iterable[int] | None = None) -> dict[int, str]:
    """People's label on audited items, where people have decided: the final label of an item
    they labeled (crowd, admin, user), or for an item left auto-labeled, the majority of the
    answers (blocked workers left out, ties not counted) once its HIT is no longer open. A
    live lease's answer on an item auto-labeled meanwhile counts here like any audit answer."""
    flags = ItemFlag.objects.filter(project=project, kind=ItemFlag.Kind.AUDIT)
    if item_ids is not None:
        flags = flags.filter(item_id__in=list(item_ids))
    flagged = list(flags.values_list("item_id", flat=True))
    verdicts: dict[int, str] = {}
    auto: list[int] = []
    rows = Item.objects.filter(pk__in=flagged).values_list(
        "pk", "state", "label_source", "final_label"
    )
    for pk, state, source, label in rows:
        if state in PEOPLE_FINAL_STATES and source in PEOPLE_SOURCES and label:
            verdicts[pk] = label
        elif state == Item.State.AUTO_LABELED:
            auto.append(pk)
    still_open = set(
        HIT.objects.filter(item_id__in=auto, state=HIT.State.OPEN).values_list("item_id", flat=True)
    )
    votes: dict[int, Counter] = defaultdict(Counter)
    answers = (
        Answer.objects.counted()
        .filter(item_id__in=[pk for pk in auto if pk not in still_open])
        .exclude(worker_id__in=blocked_worker_ids(project=project))
        .values_list("item_id", "label")
    )
    for item_id, label in answers:
        votes[item_id][label] += 1
    for item_id, counter in votes.items():
        ranked = counter.most_common(2)
        if len(ranked) == 1 or ranked[1][1] < ranked[0][1]:
            verdicts[item_id] = ranked[0][0]
    return verdicts


def audit_accuracy(*, project: Project, version: ModelVersion | None = None) -> dict[str, Any]:
    """The model's label against people's verdict on audited items (audit_verdicts)."""
    flags = ItemFlag.objects.filter(project=project, kind=ItemFlag.Kind.AUDIT)
    if version is not None:
        flags = flags.filter(model_version=version)
    model_label = dict(flags.values_list("item_id", "model_label"))
    verdicts = audit_verdicts(project=project, item_ids=model_label)
    correct = sum(model_label[pk] == label for pk, label in verdicts.items())
    judged = len(verdicts)
    return {
        "audited": len(model_label),
        "judged": judged,
        "correct": correct,
        "accuracy": correct / judged if judged else None,
    }


def incumbent(*, project: Project) -> ModelVersion | None:
    """The version auto-labels are judged by: the active trained version, else the record of
    the import's model."""
    return (
        ModelVersion.objects.filter(project=project)
        .filter(Q(is_active=True) | Q(source=ModelVersion.Source.IMPORT))
        .order_by("-is_active", "-number")
        .first()
    )


def version_threshold(version: ModelVersion | None, target: float) -> evidence.Threshold:
    pairs = (version.evidence if version is not None else None) or []
    return evidence.threshold_for_accuracy(
        [float(c) for c, _ in pairs], [bool(ok) for _, ok in pairs], target
    )


def auto_label_threshold(*, project: Project, source: str = "active") -> float | None:
    """The confidence at or above which the model's label is final. With the project's
    auto_label_accuracy set: the lowest confidence whose evidence (held-out and audited items)
    has a lower bound at or above it, for the active version (source "active") or the
    import's model ("import"); None when no confidence qualifies yet, and nothing auto-labels.
    Without it: the project's confidence_threshold."""
    target = project.auto_label_accuracy
    if target is None:
        return project.confidence_threshold
    versions = ModelVersion.objects.filter(project=project)
    if source == "import":
        version = versions.filter(source=ModelVersion.Source.IMPORT).first()
    else:
        version = versions.filter(is_active=True).first()
    return version_threshold(version, target).value


def auto_labels_below(*, project: Project, threshold: float | None) -> QuerySet[Item]:
    """Auto-labeled items whose confidence is below `threshold` (all of them when None): what
    raising the target sends back to people."""
    items = Item.objects.filter(
        project=project, state=Item.State.AUTO_LABELED, label_source=Item.Source.MODEL
    )
    if threshold is None:
        return items
    return items.filter(Q(final_confidence__lt=threshold) | Q(final_confidence__isnull=True))


def auto_label_preview(
    *, project: Project, accuracy: float | None, confidence_threshold: float | None = None
) -> dict[str, Any]:
    """What setting auto_label_accuracy to `accuracy` (None: the threshold by hand,
    `confidence_threshold` or the project's) would do, before it is saved: the threshold it
    gives the active version (or the import's model) and how many auto-labels fall below it
    and would go back to people."""
    if accuracy is None:
        threshold: float | None = (
            project.confidence_threshold if confidence_threshold is None else confidence_threshold
        )
        record = None
    else:
        found = version_threshold(incumbent(project=project), accuracy)
        threshold, record = found.value, found.record
    reopened = auto_labels_below(project=project, threshold=threshold).count()
    return {
        "auto_label_accuracy": accuracy,
        "threshold": threshold,
        "evidence_n": record.n if record else None,
        "evidence_accuracy": record.accuracy if record else None,
        "evidence_low": record.low if record else None,
        "reopened": reopened,
    }


def _per_day(project: Project, since) -> list[dict[str, Any]]:
    """Per day: the automation rate of the items created that day (labeled, auto-labeled:
    apps.tasks.selectors.overview.automation_of) and the human answers given."""
    by_state = (
        Item.objects.filter(project=project, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    answers = (
        Answer.objects.filter(project=project, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[Any, dict[str, int]] = defaultdict(dict)
    for day, state, n in by_state:
        counts[day][state] = n
    answered = dict(answers)
    out = []
    for day in sorted(counts.keys() | answered.keys()):
        rate = automation_of(counts[day])
        out.append(
            {"day": day, **rate, "automation_rate": rate["rate"], "answers": answered.get(day, 0)}
        )
    return out


def dashboard(*, project: Project) -> dict[str, Any]:
    versions = list(model_version_list(project=project))
    active = next((v for v in versions if v.is_active), None)
    rate = automation(project=project)
    return {
        "versions": versions,
        "active": active,
        # From the versions already read: the page's query count does not grow.
        "incumbent": active or next((v for v in versions if v.source == v.Source.IMPORT), None),
        "auto_label_threshold": (
            project.confidence_threshold
            if project.auto_label_accuracy is None
            else version_threshold(active, project.auto_label_accuracy).value
        ),
        "audit": audit_accuracy(project=project, version=active) if active else None,
        "automation": rate,
        "automation_rate": rate["rate"],
        "per_day": _per_day(project, timezone.now() - timedelta(days=DASHBOARD_DAYS)),
        "rescore": rescore_latest(project=project),
        "runs": list(training_run_list(project=project)[:10]),
        "settings": learning_settings_of(project),
        "suspected_errors": ItemFlag.objects.filter(
            project=project, kind=ItemFlag.Kind.SUSPECTED_ERROR
        ).count(),
    }
