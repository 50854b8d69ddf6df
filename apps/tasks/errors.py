"""The tasks app's refusals, in its own words (hitlcrowd/errors.py maps their kinds to HTTP
statuses: Gone 410, Conflict 409, Forbidden 403, InvalidInput 400, TooLarge 413)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from hitlcrowd.errors import Conflict, Forbidden, Gone, InvalidInput, TooLarge

# --- Taking and answering tasks ------------------------------------------------------------


class LeaseExpired(Gone):
    code = "lease_expired"
    default_message = (
        "Your lease on this task expired, so its slot went back to other workers. "
        "Ask for the next task."
    )


class TaskClosed(Gone):
    code = "task_closed"
    default_message = (
        "This task was closed before your answer came: its item was settled (resolved or "
        "marked ambiguous by a person) and needs no more answers. Your answer was not "
        "recorded and is not paid. Ask for the next task."
    )


class AnswerConflict(Conflict):
    code = "answer_conflict"


class NotQualified(Forbidden):
    """Failed the qualification test, or blocked: the message says which (and why)."""

    code = "not_qualified"


class QualificationUnavailable(Conflict):
    """A worker taking the qualification test has no test task left: the project has fewer
    gold items than its test needs (or the worker skipped some). Not a silent 204: nothing
    else will be served until the test completes."""

    code = "qualification_unavailable"

    def __init__(self, *, needed: int, answered: int) -> None:
        super().__init__(
            f"This project's qualification test needs {needed} test tasks "
            f"and has no more for you (you answered {answered}); the requester has to add "
            "test items. Try again later."
        )


class HitUnavailable(Conflict):
    """The HIT a worker picked (an MTurk worker accepts the HIT they previewed) is not theirs
    to take now: the message says why; the next HIT may be."""

    code = "hit_unavailable"


class ItemHasAssignments(Conflict):
    """An item some worker had (a live lease, an answer, a returned or expired lease) stays in
    its project: its assignments, pay and guideline versions are that project's."""

    code = "item_has_assignments"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"This item has {count} assignment(s): an item a worker has taken stays in its project."
        )
        self.count = count


class ProjectClosed(Conflict):
    code = "project_closed"
    default_message = "This project is not taking answers now."


class GuidelineNotAcknowledged(Conflict):
    """The body names the guideline to read (API `url`, worker `page`)."""

    code = "guideline_not_acknowledged"

    def __init__(self, project_id: int, number: int) -> None:
        url = reverse("work-guideline", kwargs={"project_id": project_id})
        page = reverse("worker-task", kwargs={"project_id": project_id})
        super().__init__(
            f"Version {number} of this project's guideline is new: read it and acknowledge it "
            "before taking more tasks here.",
            extra={
                "guideline": {"project": project_id, "number": number, "url": url, "page": page}
            },
        )
        self.project_id = project_id
        self.number = number


# --- Projects -----------------------------------------------------------------------------


class NativeProjectsOnly(Conflict):
    """An MTurk project (Project.Kind.MTURK) gets its items as HITs through the MTurk API and
    has no built-in model: uploads, predictions and retraining are refused there."""

    code = "mturk_project"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"This project is an MTurk HIT type: {action} is for native projects. Its HITs "
            "are created through the MTurk API (CreateHIT)."
        )


# --- Review -------------------------------------------------------------------------------


class ResolveRefused(InvalidInput):
    """A review action refused for its input; `field_name` is the field to blame."""

    def __init__(self, message: str, field_name: str = "label") -> None:
        super().__init__(message, errors={field_name: [message]})


class NoWorkerLeft(InvalidInput):
    """Send-back refused: the item would wait forever (finding 16 of issue 13)."""

    code = "no_worker_left"

    def __init__(self, message: str) -> None:
        super().__init__(message, errors={"more": [message]})


# --- Uploads ------------------------------------------------------------------------------


class BatchRejected(InvalidInput):
    """At least one row is invalid: nothing was imported; the rejected Batch keeps the errors."""

    code = "invalid_rows"

    def __init__(self, *, errors: list[dict[str, Any]], error_count: int, batch: Any) -> None:
        super().__init__(
            f"{error_count} invalid row(s): nothing was imported.",
            errors=errors,
            extra={"error_count": error_count, "batch_id": batch.pk if batch else None},
        )
        self.error_count = error_count
        self.batch = batch


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "This Idempotency-Key was used for a different body."


class UploadTooLarge(TooLarge):
    code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The upload is larger than {limit} bytes (UPLOAD_MAX_BYTES).")


class TooManyRows(TooLarge):
    code = "too_many_rows"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The upload has more than {limit} rows (UPLOAD_MAX_ROWS): split it.")


class BodyUnreadable(InvalidInput):
    code = "unreadable_body"
