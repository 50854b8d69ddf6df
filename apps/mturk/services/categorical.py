"""Beyond MTurk (issue 17 #5): a HIT type's answer field marked categorical.

The requester names the form field (QuestionIdentifier) whose answer is a label and the label
set; the HIT type's project then has that label set, each answer's label is the field's value
(apps/mturk/services/external_submit.py), and the project's answers get a Dawid-Skene
consensus, worker skills and blocking like a native project's. The HITs keep their
MaxAssignments: the consensus labels items and judges workers, it never asks for more answers
or closes a HIT early (apps/tasks/services/consensus/overlap.py). An answer without a value in
the set carries no label and stays out of the consensus; the requester still has its XML.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.mturk.answers import ASSIGNMENT_FIELD, answer_value
from apps.mturk.models import HITType, MturkAssignment
from apps.tasks.audit import field_changes
from apps.tasks.models import Answer, AuditEvent, Project
from apps.tasks.models.projects import validate_label_set
from apps.tasks.services.audit import audit_record
from apps.tasks.services.consensus.scheduling import aggregation_enqueue
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.rawrows import update_rows

FIELD_MAX = 255
BACKFILL_CHUNK = 2000


def label_of(value: str | None, labels: list[str]) -> str:
    """The label an answer's field value gives: itself when in the set, else none ("")."""
    return value if value is not None and value in labels else ""


@transaction.atomic
def hit_type_label_field_set(
    *, hit_type: HITType, field: str, labels: list[str], by: User | None = None
) -> HITType:
    """Mark `field` categorical with `labels` (both empty: free form again). The answers
    already given are labeled from their stored XML, and a consensus run is requested. A
    change is a `project_update` event of the type's project, `by`'s (the API and the page)."""
    field, labels = _checked(field, labels)
    project = Project.objects.select_for_update().get(pk=hit_type.project_id)
    before = {"labels": project.labels, "label_field": hit_type.label_field}
    changes = field_changes(before, {"labels": labels, "label_field": field}, before)
    project.labels = labels
    project.save(update_fields=["labels", "updated_at"])
    hit_type.label_field = field
    hit_type.save(update_fields=["label_field"])
    hit_type.project = project
    _label_answers(hit_type, field, labels)
    if changes:
        audit_record(
            project_id=project.pk,
            actor=by,
            action=AuditEvent.Action.PROJECT_UPDATE,
            obj=project,
            changes=changes,
        )
    if labels:
        transaction.on_commit(lambda: aggregation_enqueue(project_id=project.pk))
    return hit_type


def _checked(field: object, labels: object) -> tuple[str, list[str]]:
    if not isinstance(field, str) or len(field) > FIELD_MAX or field == ASSIGNMENT_FIELD:
        raise InvalidInput.field("field", f"A form field's name, at most {FIELD_MAX} characters.")
    if not field and labels == []:
        return "", []
    if not field:
        raise InvalidInput.field("field", "Name the form field whose answer is the label.")
    try:
        validate_label_set(labels)
    except ValidationError as exc:
        raise InvalidInput.field("labels", exc.messages[0]) from None
    return field, list(labels)  # type: ignore[arg-type]


def _label_answers(hit_type: HITType, field: str, labels: list[str]) -> None:
    rows = (
        MturkAssignment.objects.filter(mturk_hit__hit_type=hit_type)
        .order_by("pk")
        .values_list("task_assignment__answer__pk", "task_assignment__answer__label", "answer")
    )
    changed: list[Answer] = []
    for answer_id, old, document in rows.iterator(chunk_size=BACKFILL_CHUNK):
        if answer_id is None:
            continue
        new = label_of(answer_value(document, field), labels) if field else ""
        if new != old:
            changed.append(Answer(pk=answer_id, label=new))
        if len(changed) >= BACKFILL_CHUNK:
            update_rows(changed, "label")
            changed = []
    update_rows(changed, "label")
