from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.crowds.models import WorkerGroup
from apps.tasks.audit import field_changes
from apps.tasks.errors import NativeProjectsOnly
from apps.tasks.models import AuditEvent, Item, Project
from apps.tasks.selectors.visibility import MAX_GROUPS_PER_PROJECT
from apps.tasks.services.audit import audit_record
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, full_clean

EDITABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "labels",
        "min_overlap",
        "max_overlap",
        "target_posterior",
        "min_vote_lead",
        "review_below",
        "auto_label_accuracy",
        "confidence_threshold",
        "gold_share",
        "reward_per_answer",
        "budget",
        "callback_url",
        "lease_seconds",
        "qualification_size",
        "qualification_pass_rate",
        "aggregation_method",
        "is_open",
        "block_below_spam_score",
        "block_below_skill",
        "block_min_answers",
        "block_gold_accuracy",
        "block_min_gold",
        "visibility",
        "groups",
    }
)


@transaction.atomic
def project_create(*, owner: User, **fields: Any) -> Project:
    """A new project; `groups` (the owner's WorkerGroups) open it when `visibility` is
    private."""
    groups = fields.pop("groups", None)
    project = Project(owner=owner, **fields)
    full_clean(project)
    project.save()
    if groups is not None:
        _set_groups(project, groups)
    return project


@transaction.atomic
def project_update(*, project: Project, by: User | None = None, **fields: Any) -> Project:
    """Change settings; the changed fields (old -> new) go to the audit trail as `by`'s."""
    unknown = set(fields) - EDITABLE_FIELDS - {"item_kind"}
    if unknown:
        raise InvalidInput(errors={name: ["This field cannot be changed."] for name in unknown})
    if "item_kind" in fields and fields["item_kind"] != project.item_kind:
        _refuse_if_has_items(project, "item_kind", "The kind of item is fixed once items exist.")
    if "labels" in fields:
        _check_labels_keep_used_ones(project, fields["labels"])
    groups = fields.pop("groups", None)
    before = {name: getattr(project, name) for name in fields}
    for name, value in fields.items():
        setattr(project, name, value)
    full_clean(project)
    project.save()
    if groups is not None:
        before["groups"] = sorted(project.groups.values_list("pk", flat=True))
        fields["groups"] = _set_groups(project, groups)
    # The accuracy wanted (or the threshold) moved: auto-labels below it go back to people.
    slider = {"auto_label_accuracy", "confidence_threshold"}
    project.auto_labels_reopened = 0
    if any(name in fields and before[name] != fields[name] for name in slider):
        from apps.models.services.audits import auto_labels_recheck

        project.auto_labels_reopened = auto_labels_recheck(project=project)
    changes = field_changes(before, fields, fields)
    if changes:
        audit_record(
            project_id=project.pk,
            actor=by,
            action=AuditEvent.Action.PROJECT_UPDATE,
            obj=project,
            changes=changes,
        )
    return project


def refuse_unless_native(project: Project, action: str) -> None:
    """NativeProjectsOnly (409) on an MTurk project: `action` (uploads, predictions, the
    built-in model) is part of the learning loop, which MTurk projects do not run."""
    if project.kind != Project.Kind.NATIVE:
        raise NativeProjectsOnly(action)


def _set_groups(project: Project, groups: Iterable[WorkerGroup]) -> list[int]:
    """Open the project to `groups`, which must be its owner's; their ids, sorted."""
    chosen = {group.pk: group for group in groups}
    if len(chosen) > MAX_GROUPS_PER_PROJECT:
        raise InvalidInput.field("groups", f"At most {MAX_GROUPS_PER_PROJECT} groups.")
    foreign = sorted(pk for pk, group in chosen.items() if group.owner_id != project.owner_id)
    if foreign:
        raise InvalidInput.field("groups", f"No such group among the owner's: {foreign}.")
    project.groups.set(chosen.values())
    return sorted(chosen)


def _refuse_if_has_items(project: Project, field: str, message: str) -> None:
    if Item.objects.filter(project=project).exists():
        raise InvalidInput.field(field, message)


def _check_labels_keep_used_ones(project: Project, new_labels: list[str]) -> None:
    """Labels may be added at any time; one already in use may not be removed or renamed."""
    removed = set(project.labels) - set(new_labels if isinstance(new_labels, list) else [])
    if removed and Item.objects.filter(project=project).exists():
        raise InvalidInput.field(
            "labels", f"Labels in use cannot be removed once items exist: {sorted(removed)}"
        )
