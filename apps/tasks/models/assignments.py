"""Work done: a worker's lease on a HIT (Assignment) and the answer it gave."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.tasks.models.guidelines import GuidelineVersion
from apps.tasks.models.items import HIT, Item
from apps.tasks.models.projects import MAX_LABEL_LENGTH, Project


class Assignment(models.Model):
    """One worker's lease on one HIT."""

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"
        EXPIRED = "expired", "Expired"
        # Its worker was blocked on the project, or an admin rejected its answer: it holds no
        # slot, its answer no longer counts, and it still keeps the worker off this HIT.
        DISCARDED = "discarded", "Discarded"
        # Its item was settled while the lease was live (resolved, marked ambiguous): the
        # submit is refused with 410 `task_closed` and not paid (services/items.py).
        CLOSED = "closed", "Closed (item settled)"

    hit = models.ForeignKey(HIT, on_delete=models.CASCADE, related_name="assignments")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.LEASED)
    guideline_version = models.ForeignKey(
        GuidelineVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    leased_at = models.DateTimeField(auto_now_add=True)
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=500, blank=True)
    # Pre-annotation as the task was handed out (services/assignments/claim.py): the project showed
    # suggestions, and this task showed one (apps.models.services.suggestion_of). The task and
    # its answer read these, so turning the option on or off later changes neither. Defaults
    # in the database too: the raw claim INSERT leaves them out.
    pre_annotated = models.BooleanField(default=False, db_default=False)
    suggestion_shown = models.BooleanField(default=False, db_default=False)
    # Set when publishing this version re-queued the HIT (services/guidelines.py): the
    # assignment no longer counts (slots, answers, "never the same HIT twice").
    superseded_by = models.ForeignKey(
        GuidelineVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # A worker never gets the same HIT twice under one guideline: a re-queue supersedes
            # the old assignments, so the same worker may answer again under the new version.
            models.UniqueConstraint(
                fields=["hit", "worker"],
                condition=Q(superseded_by__isnull=True),
                name="assignment_hit_worker_unique",
            ),
            # At most one live lease per worker and project.
            models.UniqueConstraint(
                fields=["worker", "project"],
                condition=Q(state="leased"),
                name="assignment_one_live_lease",
            ),
        ]
        indexes = [
            # Lease expiry sweep: WHERE state = 'leased' AND lease_expires_at < now().
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state="leased"),
                name="assignment_live_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"Assignment {self.pk} ({self.worker_id} on HIT {self.hit_id})"


class AnswerQuerySet(models.QuerySet):
    def counted(self) -> AnswerQuerySet:
        """The answers that still decide labels: not superseded by a guideline re-queue, not
        discarded (blocked worker, rejected by an admin)."""
        return self.filter(superseded_by__isnull=True, discarded_at__isnull=True)


# The same condition seen from an item (Count("answers", filter=COUNTED_ANSWERS)).
COUNTED_ANSWERS = Q(answers__superseded_by__isnull=True, answers__discarded_at__isnull=True)


class Answer(models.Model):
    class DiscardReason(models.TextChoices):
        BLOCKED = "blocked", "Worker blocked"
        REJECTED = "rejected", "Rejected by an admin"

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="answer")
    # Denormalized from the assignment: aggregation reads (item, worker, label) per project.
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="answers")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="answers"
    )
    label = models.CharField(max_length=MAX_LABEL_LENGTH)
    guideline_version = models.ForeignKey(
        GuidelineVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="answers"
    )
    seconds_spent = models.FloatField(validators=[MinValueValidator(0)])
    # Pre-annotation: the model's label was shown (copied from the assignment).
    suggestion_shown = models.BooleanField(default=False)
    # Copied from the assignment at re-queue: a superseded answer leaves the consensus.
    superseded_by = models.ForeignKey(
        GuidelineVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Set once (services/answers.py, answers_discard) and never cleared: a discarded answer
    # leaves the consensus for good, even if its worker is unblocked later.
    discarded_at = models.DateTimeField(null=True, blank=True)
    # A database default as well: raw INSERTs (bench/assign.py) need not name it.
    discard_reason = models.CharField(
        max_length=16, choices=DiscardReason.choices, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(seconds_spent__gte=0), name="answer_seconds"),
            models.CheckConstraint(
                condition=Q(discarded_at__isnull=True, discard_reason="")
                | Q(discarded_at__isnull=False) & ~Q(discard_reason=""),
                name="answer_discard_has_reason",
            ),
        ]
        indexes = [
            # Worker history: WHERE worker_id = ? ORDER BY created_at DESC, id DESC.
            models.Index(
                F("worker"), F("created_at").desc(), F("id").desc(), name="answer_worker_history"
            ),
            # Admin project overview, answers per hour: WHERE project_id = ? AND created_at >= ?
            # GROUP BY date_trunc('hour', created_at).
            models.Index(fields=["project", "created_at"], name="answer_project_created"),
        ]

    def __str__(self) -> str:
        return f"{self.label} by {self.worker_id} on {self.item_id}"
