"""Model versions, training and re-scoring runs, learning settings, webhooks.

Rows here are written by `apps/models/services.py` only. The tasks tables (items, HITs) stay
owned by the tasks app; these rows point at them.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.models.active import STRATEGIES


class LearningSettings(models.Model):
    """Per project: how the model is trained, promoted and used. Created on first use."""

    class Metric(models.TextChoices):
        ACCURACY = "accuracy", "Accuracy"
        MACRO_F1 = "macro_f1", "Macro F1"
        ECE = "ece", "Expected calibration error (lower is better)"

    project = models.OneToOneField(
        "tasks.Project", on_delete=models.CASCADE, primary_key=True, related_name="learning"
    )
    model_enabled = models.BooleanField(default=True, help_text="Train and use a built-in model.")
    retrain_after_labels = models.PositiveIntegerField(
        default=50,
        validators=[MinValueValidator(1)],
        help_text="Retrain when this many new training labels exist since the last version.",
    )
    promotion_metric = models.CharField(
        max_length=16, choices=Metric.choices, default=Metric.ACCURACY
    )
    promotion_min_gain = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    holdout_fraction = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.05), MaxValueValidator(0.5)]
    )
    strategy = models.CharField(
        max_length=16,
        choices=[(s, s) for s in STRATEGIES],
        default="coverage",
        help_text="Active learning: which open HITs people get first "
        "(docs/benchmarks-learning.md compares them).",
    )
    audit_share = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of auto-labeled items also sent to people, to measure the model.",
    )
    pre_annotation = models.BooleanField(
        default=False,
        help_text="Show workers the model's suggestion. Biases them toward the model: "
        "see docs/benchmarks-preannotation.md before turning it on.",
    )
    suspected_error_threshold = models.FloatField(
        default=0.95,
        validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="Out-of-fold confidence above which a contradicted consensus is reviewed; "
        "1.0 turns the check off.",
    )
    people_batch = models.PositiveIntegerField(
        default=0,
        help_text="Pace people with the model: at most this many items are open to people at "
        "once; the others wait, ranked by the active model, until it has learned from the "
        "latest labels (retrained and re-scored) and may label them itself. Fewer human "
        "answers, slower to finish. 0 opens every item at once (apps/models/services/pacing.py).",
    )
    learning_config = models.JSONField(
        default=dict, blank=True, help_text="apps.models.learning.LearningConfig fields."
    )
    # When the pacing last opened items to people: after PACE_MAX_WAIT without opening any, the
    # next worker who finds no task opens the next ones even if the model is still behind.
    paced_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "learning settings"

    def __str__(self) -> str:
        return f"learning settings of {self.project_id}"


class TrainingRun(models.Model):
    """One retrain attempt. At most one RUNNING per project (the claim is the INSERT)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        PROMOTED = "promoted", "Promoted"
        KEPT_OLD = "kept_old", "Not promoted"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="training_runs"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, default="labels")  # labels/manual/admin/unloadable
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="Why promoted, kept, skipped or failed.")
    model_version = models.OneToOneField(
        "ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="run"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status="running"),
                name="trainingrun_one_running",
            )
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} of {self.project_id}: {self.status}"


class ModelVersion(models.Model):
    """A trained version, or (source `import`, number 0) the requester's own model whose
    predictions came with an import: it has no artifact and never scores, but it is the
    incumbent a first trained version must beat, on its audited record."""

    class Source(models.TextChoices):
        BUILTIN = "builtin", "Trained here"
        IMPORT = "import", "Predictions of an import"

    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="model_versions"
    )
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.BUILTIN)
    # The import's own name for its model (the batch's model_version).
    external_name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    promotion_reason = models.TextField(blank=True)
    # Relative to settings.DATA_DIR: model.zip (learning.dump_model) and training_set.json.
    artifact_path = models.CharField(max_length=300)
    artifact_sha256 = models.CharField(max_length=64)
    training_set_path = models.CharField(max_length=300)
    n_train = models.PositiveIntegerField(default=0)
    n_holdout = models.PositiveIntegerField(default=0)
    # Training labels per source, e.g. {"crowd": 120, "gold": 10, "admin": 3, "user": 2}.
    labels_by_source = models.JSONField(default=dict)
    # Training labels (train + holdout) existing when it was trained: the retrain trigger
    # counts from here.
    labels_seen = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True, blank=True)
    macro_f1 = models.FloatField(null=True, blank=True)
    ece = models.FloatField(null=True, blank=True)
    # The active version's metrics on this version's holdout, when it was judged.
    compared_with = models.JSONField(null=True, blank=True)
    # Its record on items it never trained on (holdout and audited items, judged by people):
    # apps.models.evidence. [confidence, correct] per item, refreshed as audits are judged.
    evidence = models.JSONField(default=list, blank=True)
    evidence_n = models.PositiveIntegerField(default=0)
    evidence_correct = models.PositiveIntegerField(default=0)
    accuracy_low = models.FloatField(
        null=True, blank=True, help_text="Lower bound (one-sided 95%) of its accuracy."
    )
    evidence_at = models.DateTimeField(null=True, blank=True)
    sklearn_version = models.CharField(max_length=32)
    # When loading it last failed (after a scikit-learn upgrade, say) and a retrain was queued
    # for it, and why: apps.models.services.common.model_unloadable_retrain queues one per
    # job lifetime, not one per predict.
    unloadable_at = models.DateTimeField(null=True, blank=True)
    load_error = models.TextField(blank=True)
    train_seconds = models.FloatField(default=0.0)
    calibration = models.CharField(max_length=100, blank=True)
    label_set = models.JSONField(default=list)

    class Meta:
        ordering = ["project", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="modelversion_number"),
            # Scoring: WHERE project_id = ? AND is_active; also at most one active version.
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_active=True), name="modelversion_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.source == self.Source.IMPORT:
            return self.external_name or "import"
        return f"p{self.project_id}-v{self.number}"

    @property
    def evidence_accuracy(self) -> float | None:
        return self.evidence_correct / self.evidence_n if self.evidence_n else None


class RescoreRun(models.Model):
    """Re-scoring the open items after a promotion, with progress."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded by a newer version"

    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="rescore_runs"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # Items are taken in id order; a retried job resumes after the last one finished.
    last_item_id = models.BigIntegerField(default=0)
    auto_labeled = models.PositiveIntegerField(default=0)
    audited = models.PositiveIntegerField(default=0)
    reprioritized = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    # When a job last took the run: running and claimed longer ago than Q_JOB_DEAD_AFTER, its
    # job died; the settle sweep marks it failed and queues another (attempts of max_attempts).
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["model_version"], name="rescorerun_one_per_version")
        ]

    def __str__(self) -> str:
        return f"rescore {self.pk} of {self.project_id}: {self.done}/{self.total}"


class ItemFlag(models.Model):
    """What the model did to an item: an audit HIT on an auto-label, a suspected label error,
    a prediction whose final label is owed to a caller (webhook), a user's feedback."""

    class Kind(models.TextChoices):
        AUDIT = "audit", "Audit sample"
        SUSPECTED_ERROR = "suspected_error", "Suspected label error"

    item = models.ForeignKey("tasks.Item", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    model_label = models.CharField(max_length=100, blank=True)
    given_label = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind"], name="itemflag_once_per_kind")
        ]
        indexes = [
            # Dashboard audit accuracy: WHERE project_id = ? AND kind = 'audit'.
            models.Index(fields=["project", "kind"], name="itemflag_project_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.item_id}"


class Prediction(models.Model):
    """An online predict call whose answer is owed by webhook once people label the item."""

    item = models.OneToOneField("tasks.Item", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    webhook_queued_at = models.DateTimeField(null=True, blank=True)
    # The label the last delivery carried: a final label that differs is owed again.
    webhook_label = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            # labels_changed: WHERE project_id = ? AND webhook_queued_at IS NULL.
            models.Index(
                fields=["project"],
                condition=Q(webhook_queued_at__isnull=True),
                name="prediction_owed",
            ),
        ]

    def __str__(self) -> str:
        return f"prediction for {self.item_id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"
        SUPERSEDED = "superseded", "Superseded by a newer label"

    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("tasks.Item", on_delete=models.CASCADE, related_name="+")
    url = models.URLField()
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Claimed by a sender until then (a conditional UPDATE), so two senders never post it twice.
    sending_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The sender's drain: WHERE status = 'pending' AND next_attempt_at <= now.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="webhookdelivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} for {self.item_id}: {self.status}"


class WebhookSlot(models.Model):
    """One of WEBHOOK_MAX_CONCURRENT sending slots (rows 1..N). A delivery job sends only while
    it holds one (claimed by a conditional UPDATE, released after, expiring if its holder
    dies), so slow receivers occupy at most that many django-q2 workers."""

    number = models.PositiveSmallIntegerField(primary_key=True)
    holder = models.CharField(max_length=32, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook slot {self.number}"


class Feedback(models.Model):
    """A user accepting or correcting a prediction (label source `user`)."""

    item = models.ForeignKey("tasks.Item", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("workers.User", on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=100)
    accepted = models.BooleanField()
    model_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"feedback {self.label} on {self.item_id}"
