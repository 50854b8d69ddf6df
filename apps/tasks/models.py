"""Projects, their items, the HITs sent to people, assignments and answers.

State changes go through `services.py`; nothing here is saved directly from a view. Counters
(batch counts, answers per HIT) are recomputed from these rows inside services, never kept up
by signals.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.tasks.audit import APPEND_ONLY, AppendOnlyQuerySet
from hitlcrowd.outbound import callback_url_validate

MAX_LABELS = 50
# Block rules on by default (bench/blocking.py, docs/benchmarks-blocking.md).
DEFAULT_BLOCK_BELOW_SPAM_SCORE = 0.5
DEFAULT_BLOCK_MIN_ANSWERS = 10
DEFAULT_BLOCK_GOLD_ACCURACY = 0.5
DEFAULT_BLOCK_MIN_GOLD = 5
MAX_LABEL_LENGTH = 100


def validate_label_set(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("The label set must be a list of strings.")
    if not 2 <= len(value) <= MAX_LABELS:
        raise ValidationError(f"The label set needs between 2 and {MAX_LABELS} labels.")
    if any(not v.strip() or len(v) > MAX_LABEL_LENGTH for v in value):
        raise ValidationError(f"Labels must be non-empty and at most {MAX_LABEL_LENGTH} chars.")
    if len(set(value)) != len(value):
        raise ValidationError("Labels must be distinct.")


def new_callback_secret() -> str:
    return secrets.token_urlsafe(32)


class Project(models.Model):
    class ItemKind(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image (pixels or URL)"
        VECTOR = "vector", "Numeric vector"

    class Aggregation(models.TextChoices):
        DAWID_SKENE = "dawid_skene", "Dawid-Skene"
        MAJORITY_VOTE = "majority_vote", "Majority vote"
        WAWA = "wawa", "Wawa"
        GLAD = "glad", "GLAD (small projects)"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    item_kind = models.CharField(max_length=16, choices=ItemKind.choices, default=ItemKind.TEXT)
    labels = models.JSONField(validators=[validate_label_set])
    min_overlap = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    # 7, not 5: on issue 13's crowd, 5 answers left too many items unsure (12-44% to review, or
    # 97.7% accuracy if accepted); 7 reaches >= 99% with <= 5% to review (benchmarks-quality (e)).
    max_overlap = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    # Dynamic overlap (services/consensus.py): an item is done when its posterior reaches
    # target_posterior AND its answers back the consensus label by min_vote_lead votes (0: no
    # vote check). Dawid-Skene's posterior is over-confident with 2-3 answers per item; the
    # defaults come from bench/quality.py overlap (docs/benchmarks-quality.md).
    target_posterior = models.FloatField(
        default=0.999, validators=[MinValueValidator(0.5), MaxValueValidator(1.0)]
    )
    min_vote_lead = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(50)],
        help_text="Votes the consensus label needs over any other before an item is done.",
    )
    # At max_overlap, or with no worker left who may answer, no more answers will settle an
    # item: its consensus is accepted when its posterior is at least review_below, and it goes
    # to the review queue otherwise (bench/quality.py decide, docs/benchmarks-quality.md (e)).
    review_below = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=(
            "At the maximum overlap, an item whose posterior is below this goes to review; "
            "at or above it, its consensus is accepted (a bar above the target posterior acts "
            "as the target)."
        ),
    )
    # The speed/quality slider. With auto_label_accuracy set (the accuracy the requester wants
    # for auto-labels), the confidence threshold is derived from the model's audited record
    # (apps.models.selectors.auto_label_threshold) and confidence_threshold is not used; left
    # null, items the model scores at or above confidence_threshold are auto-labeled.
    auto_label_accuracy = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text="Accuracy wanted for auto-labels; the confidence threshold is derived from "
        "audited items. Empty: use confidence_threshold as set.",
    )
    confidence_threshold = models.FloatField(
        default=0.9, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    gold_share = models.FloatField(
        default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    reward_per_answer = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, validators=[MinValueValidator(0)]
    )
    # Spend cap (apps/workers/ledger.py): null = unlimited. Once credits + bonuses - reversals
    # plus the live leases' rewards would pass it, the claim serves no more tasks.
    budget = models.DecimalField(
        max_digits=14, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    callback_url = models.URLField(blank=True, validators=[callback_url_validate])
    callback_secret = models.CharField(max_length=64, default=new_callback_secret, editable=False)
    lease_seconds = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(30), MaxValueValidator(24 * 3600)]
    )
    qualification_size = models.PositiveSmallIntegerField(
        default=0, help_text="Gold items a worker must answer before real tasks; 0 = no test."
    )
    qualification_pass_rate = models.FloatField(
        default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    aggregation_method = models.CharField(
        max_length=16, choices=Aggregation.choices, default=Aggregation.DAWID_SKENE
    )
    is_open = models.BooleanField(default=True, help_text="Workers may take tasks.")
    # Automatic blocking (apps/workers/services.py, _block_by_rules), decided at checkpoints
    # (settings.BLOCK_CHECK_EVERY). 0 turns a rule off. The defaults come from
    # bench/blocking.py (docs/benchmarks-blocking.md); projects made before them keep theirs.
    block_below_spam_score = models.FloatField(
        default=DEFAULT_BLOCK_BELOW_SPAM_SCORE,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=(
            "Block a worker whose spam score's upper bound (95% interval) is below this. The "
            "spam score is accuracy above chance: 0 for random or constant answers, 1 perfect."
        ),
    )
    block_below_skill = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Block a worker whose skill's upper bound (95% interval) is below this.",
    )
    block_min_answers = models.PositiveIntegerField(
        default=DEFAULT_BLOCK_MIN_ANSWERS,
        validators=[MaxValueValidator(1_000_000)],  # the same bound on SQLite as on PostgreSQL
        help_text="Answers a worker gives before the spam score or skill rule may block them.",
    )
    block_gold_accuracy = models.FloatField(
        default=DEFAULT_BLOCK_GOLD_ACCURACY,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Block a worker whose gold accuracy's upper bound (95% interval) is below this.",
    )
    block_min_gold = models.PositiveIntegerField(
        default=DEFAULT_BLOCK_MIN_GOLD,
        validators=[MaxValueValidator(1_000_000)],  # the same bound on SQLite as on PostgreSQL
        help_text="Gold answers a worker gives before the gold rule may block them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_overlap__gte=F("min_overlap")), name="project_overlap_range"
            ),
            models.CheckConstraint(
                condition=Q(confidence_threshold__gte=0) & Q(confidence_threshold__lte=1),
                name="project_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(gold_share__gte=0) & Q(gold_share__lte=1),
                name="project_gold_share_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.min_overlap and self.max_overlap and self.max_overlap < self.min_overlap:
            raise ValidationError({"max_overlap": "Must be at least the minimum overlap."})


class GuidelineVersion(models.Model):
    """Numbered labeling instructions; a published version is never edited again."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    # Given at publish (services/guidelines.py), so numbers follow publication order; a draft
    # has none.
    number = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(help_text="Markdown.")
    change_note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="guideline_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}" if self.number else f"{self.project} draft"

    FROZEN_FIELDS = ("project_id", "number", "text", "change_note", "author_id", "published_at")

    def save(self, *args, **kwargs) -> None:
        if self.pk:
            stored = (
                GuidelineVersion.objects.filter(pk=self.pk, published_at__isnull=False)
                .values(*self.FROZEN_FIELDS)
                .first()
            )
            if stored and any(stored[f] != getattr(self, f) for f in self.FROZEN_FIELDS):
                raise ValidationError("A published guideline version is immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if GuidelineVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise ValidationError("A published guideline version cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


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
    # Why the consensus last sent the item to review (services/consensus.py, _overlap_rows).
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

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="hit")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="hits")
    answers_wanted = models.PositiveSmallIntegerField()
    priority = models.FloatField(default=0.0, help_text="Higher is served first.")
    is_gold = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # Live plus submitted assignments. Written only by the assignment services, in the same
    # statement that claims a slot, and recomputed from the assignment rows when a slot comes
    # back (skip, expiry). Gold HITs never fill, so it stays 0 on them.
    slots_taken = models.PositiveSmallIntegerField(default=0)
    # Answers beyond the project's max_overlap an admin asked for ("send back for more
    # answers"); consensus lets this HIT grow to max_overlap + extra_answers.
    extra_answers = models.PositiveSmallIntegerField(default=0)
    # Paced (LearningSettings.people_batch): open, but not served until the pacing opens it
    # to people, so the next model version may label the item first. Only a HIT without a
    # slot taken is held.
    held = models.BooleanField(default=False)
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
    # Pre-annotation as the task was handed out (services/assignments.py): the project showed
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


class AggregationRun(models.Model):
    """One consensus run over a project's answers (apps/tasks/services/consensus.py)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="aggregation_runs")
    method = models.CharField(max_length=16, choices=Project.Aggregation.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    answers = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    workers = models.PositiveIntegerField(default=0)
    iterations = models.PositiveIntegerField(default=0)
    # Started from the previous run's confusion matrices (services/consensus.py, _warm_start).
    # A project whose latest run was warm is re-aggregated cold once quiet (consensus_settle_due).
    warm_started = models.BooleanField(default=False)
    log_likelihood = models.FloatField(null=True, blank=True)
    items_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # {worker_id: true x given matrix} in the order of `labels`: the next run's warm start.
    # Kept on the latest finished run only; older runs drop it.
    labels = models.JSONField(default=list, blank=True)
    confusions = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # Warm start: WHERE project_id = ? AND status = 'finished' ORDER BY id DESC LIMIT 1.
            models.Index(fields=["project", "status", "-id"], name="aggrun_project_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.method} run {self.pk} on {self.project_id}"


class AggregationState(models.Model):
    """Per project: is a consensus run wanted, and is one running. Claimed with conditional
    UPDATEs (services/consensus.py) so a burst of answers gives one run and never two at once.
    A row of its own, so that saving a Project never overwrites it."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="aggregation_state"
    )
    pending = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    # The next run starts cold (a settle run, consensus_settle_due); cleared when one is claimed.
    settle_requested = models.BooleanField(default=False)
    last_run = models.ForeignKey(
        AggregationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"aggregation state of {self.project_id}"


class ReviewItem(Item):
    """The disagreement queue in the admin (apps/tasks/admin/review.py): items needing review."""

    class Meta:
        proxy = True
        verbose_name = "item to review"
        verbose_name_plural = "disagreement queue"


class GuidelineAcknowledgement(models.Model):
    """A worker read this guideline version (services/guidelines.py, guideline_acknowledge)."""

    guideline = models.ForeignKey(
        GuidelineVersion, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Claim gate (selectors/assignments.py, ClaimContext): EXISTS (... WHERE
            # guideline_id = ? AND worker_id = ?); also one row per worker and version.
            models.UniqueConstraint(fields=["guideline", "worker"], name="guideline_ack_unique")
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} read {self.guideline}"


class AuditEvent(models.Model):
    """Who changed what and when; append-only (apps/tasks/audit.py): no update, no delete."""

    class Action(models.TextChoices):
        PROJECT_UPDATE = "project_update", "Project settings changed"
        GUIDELINE_PUBLISH = "guideline_publish", "Guideline published"
        WORKER_BLOCK = "worker_block", "Worker blocked"
        WORKER_UNBLOCK = "worker_unblock", "Worker unblocked"
        ITEM_RESOLVE = "item_resolve", "Item resolved"
        MODEL_PROMOTE = "model_promote", "Model promoted"
        ITEM_SEND_BACK = "item_send_back", "Item sent back for more answers"
        ITEM_AMBIGUOUS = "item_ambiguous", "Item marked ambiguous"
        ANSWERS_REJECT = "answers_reject", "Worker's answers rejected (pay reversed)"
        BONUS_GRANT = "bonus_grant", "Bonus granted"
        BUDGET_SPENT = "budget_spent", "Budget spent: tasks no longer served"

    # PROTECT: a project with a history keeps it (the trail must not vanish with a delete).
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the system (a rule or a job).",
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [old, new]}, ...")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Admin changelist by project: WHERE project_id = ? ORDER BY created_at DESC, id DESC.
            models.Index(
                F("project"), F("created_at").desc(), F("id").desc(), name="audit_project_recent"
            ),
            # Admin filter by action: WHERE action = ? ORDER BY created_at DESC, id DESC.
            models.Index(
                F("action"), F("created_at").desc(), F("id").desc(), name="audit_action_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(APPEND_ONLY)
