"""What is labeled: batches of uploaded rows, their items, and the HITs sent to people."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.tasks.models.projects import MAX_LABEL_LENGTH, Project


class Batch(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported"
        REJECTED = "rejected", "Rejected"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON array"
        JSONL = "jsonl", "JSON lines"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=8, choices=Format.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(
        default=0, help_text="Rows that created an item (the rest already existed)."
    )
    auto_labeled_count = models.PositiveIntegerField(default=0)
    sent_to_people_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first 100 row errors.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="batch_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name or 'batch'} #{self.pk}"


class Item(models.Model):
    class State(models.TextChoices):
        AUTO_LABELED = "auto_labeled", "Auto-labeled"
        WAITING = "waiting", "Waiting for people"
        CONSENSUS = "consensus", "Consensus"
        NEEDS_REVIEW = "needs_review", "Needs review"
        RESOLVED = "resolved", "Resolved"
        # An admin judged it undecidable: out of the queue and out of training.
        AMBIGUOUS = "ambiguous", "Ambiguous"

    class Source(models.TextChoices):
        MODEL = "model", "Model"
        CROWD = "crowd", "Crowd consensus"
        ADMIN = "admin", "Admin resolution"
        GOLD = "gold", "Gold"
        USER = "user", "User feedback"

    class ReviewReason(models.TextChoices):
        UNSURE = "unsure", "Unsure at the maximum overlap"
        NO_WORKER_LEFT = "no_worker_left", "No worker left who may answer"
        SUSPECTED_ERROR = "suspected_error", "A model suspects the crowd's label"

    class ReviewAction(models.TextChoices):
        RESOLVED = "resolved", "Resolved to a label"
        MORE_ANSWERS = "more_answers", "Sent back for more answers"
        AMBIGUOUS = "ambiguous", "Marked ambiguous"

    # No single-column indexes on project and batch: item_external_id_unique and
    # item_project_state_id lead with project, item_batch_state with batch (measured: 14-20%
    # less time writing 1M items, docs/benchmarks-ingest.md).
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    batch = models.ForeignKey(
        Batch,
        on_delete=models.PROTECT,
        related_name="items",
        null=True,
        blank=True,
        db_index=False,
    )
    external_id = models.CharField(max_length=255)
    payload = models.JSONField()
    prediction = models.CharField(max_length=MAX_LABEL_LENGTH, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices)
    final_label = models.CharField(max_length=MAX_LABEL_LENGTH, blank=True)
    label_source = models.CharField(max_length=8, choices=Source.choices, blank=True)
    # The model's confidence for auto-labels, the consensus posterior for crowd labels.
    final_confidence = models.FloatField(null=True, blank=True)
    posterior = models.JSONField(null=True, blank=True, help_text="Probability per label.")
    is_gold = models.BooleanField(default=False)
    gold_label = models.CharField(max_length=MAX_LABEL_LENGTH, blank=True)
    # The consensus run that last changed final_label/posterior, and its method.
    aggregation_run = models.ForeignKey(
        "AggregationRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index item_aggregation_run
    )
    consensus_method = models.CharField(max_length=16, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index item_resolved_by
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The last review action; resolved_by/resolved_at say who and when.
    review_action = models.CharField(max_length=16, choices=ReviewAction.choices, blank=True)
    # Why the consensus last sent the item to review (services/consensus/overlap.py).
    review_reason = models.CharField(max_length=16, choices=ReviewReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="item_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="item_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(is_gold=False) | ~Q(gold_label=""), name="item_gold_has_label"
            ),
        ]
        indexes = [
            # Exports and the project views: WHERE project_id = ? [AND state = ?] ORDER BY id.
            models.Index(fields=["project", "state", "id"], name="item_project_state_id"),
            # Batch status: SELECT state, count(*) FROM item WHERE batch_id = ? GROUP BY state.
            models.Index(fields=["batch", "state"], name="item_batch_state"),
            # AggregationRun delete (SET_NULL): WHERE aggregation_run_id IN (...); NULL on new
            # items, so partial.
            models.Index(
                fields=["aggregation_run"],
                condition=Q(aggregation_run__isnull=False),
                name="item_aggregation_run",
            ),
            # User delete (PROTECT): WHERE resolved_by_id IN (...); NULL until an admin
            # resolves the item, so partial.
            models.Index(
                fields=["resolved_by"],
                condition=Q(resolved_by__isnull=False),
                name="item_resolved_by",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class HIT(models.Model):
    """An item sent to people: it wants `answers_wanted` answers from distinct workers."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        # Past its expires_at (an MTurk HIT's lifetime): served no more; a live lease may
        # still be answered. A new expiry or more answers wanted can open it again.
        EXPIRED = "expired", "Expired"

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="hit")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="hits")
    # Integers, not small ones: an MTurk HIT wants MaxAssignments answers, up to 1,000,000.
    answers_wanted = models.PositiveIntegerField()
    priority = models.FloatField(default=0.0, help_text="Higher is served first.")
    is_gold = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # Live plus submitted assignments. Written only by the assignment services, in the same
    # statement that claims a slot, and recomputed from the assignment rows when a slot comes
    # back (skip, expiry). Gold HITs never fill, so it stays 0 on them.
    slots_taken = models.PositiveIntegerField(default=0)
    # Answers beyond the project's max_overlap an admin asked for ("send back for more
    # answers"); consensus lets this HIT grow to max_overlap + extra_answers.
    extra_answers = models.PositiveSmallIntegerField(default=0)
    # Paced (LearningSettings.people_batch): open, but not served until the pacing opens it
    # to people, so the next model version may label the item first. Only a HIT without a
    # slot taken is held.
    held = models.BooleanField(default=False)
    # Not served from this moment on (an MTurk HIT's lifetime); null on native HITs. Live
    # leases may still be answered until their own deadline, as on MTurk.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "HIT"
        constraints = [
            models.CheckConstraint(condition=Q(answers_wanted__gte=1), name="hit_wants_answers")
        ]
        indexes = [
            # Next task (apps/tasks/sql.py, _CLAIM_SQL): WHERE project_id = ? AND
            # is_gold = ? AND state = 'open' AND slots_taken < answers_wanted ORDER BY
            # priority DESC, answers_wanted - slots_taken, id LIMIT 1 FOR UPDATE SKIP LOCKED.
            models.Index(
                F("project"),
                F("is_gold"),
                F("priority").desc(),
                F("answers_wanted") - F("slots_taken"),
                F("id"),
                condition=Q(state="open", held=False, slots_taken__lt=F("answers_wanted")),
                name="hit_next_task",
            ),
            # The expiry sweep (services/items.py, hits_expire_due): WHERE state = 'open'
            # AND expires_at <= now(); native HITs (no expiry) are not in it.
            models.Index(
                fields=["expires_at"],
                condition=Q(state="open", expires_at__isnull=False),
                name="hit_expiry",
            ),
            # A requester's money on hold (apps/workers/selectors.py, _live_hit_slots): WHERE
            # project_id = ? AND state = 'open' AND expires_at > now(), per MTurk project.
            models.Index(
                fields=["project", "expires_at"],
                condition=Q(state="open", expires_at__isnull=False),
                name="hit_open_expiring",
            ),
            # The pacing's release (services/items.py, hits_pace): WHERE project_id = ? AND
            # state = 'open' AND held ORDER BY priority DESC, id LIMIT n.
            models.Index(
                F("project"),
                F("priority").desc(),
                F("id"),
                condition=Q(state="open", held=True),
                name="hit_held_by_priority",
            ),
        ]

    def __str__(self) -> str:
        return f"HIT {self.pk} ({self.item_id})"


class ReviewItem(Item):
    """The disagreement queue in the admin (apps/tasks/admin/review.py): items needing review."""

    class Meta:
        proxy = True
        verbose_name = "item to review"
        verbose_name_plural = "disagreement queue"
