"""Projects: their settings (overlap, consensus, auto-labeling, pay, blocking rules) and the
label set's rules."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from hitlcrowd.outbound import callback_url_validate

MAX_LABELS = 50
# Block rules on by default (bench/blocking.py, docs/benchmarks-blocking.md).
DEFAULT_BLOCK_BELOW_SPAM_SCORE = 0.5
DEFAULT_BLOCK_MIN_ANSWERS = 10
DEFAULT_BLOCK_GOLD_ACCURACY = 0.5
DEFAULT_BLOCK_MIN_GOLD = 5
MAX_LABEL_LENGTH = 100
# How long a worker may hold a task: a native project's lease is at most a day; an MTurk
# project's is its HIT type's AssignmentDurationInSeconds, which MTurk allowed up to a year.
LEASE_SECONDS_MIN = 30
LEASE_SECONDS_MAX = {"native": 24 * 3600, "mturk": 365 * 24 * 3600}


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
    class Kind(models.TextChoices):
        NATIVE = "native", "Native"
        # Made with an MTurk HIT type (apps/mturk): its items are HITs created through the
        # MTurk API, answered through the requester's own question, reviewed by the requester.
        # The learning loop (uploads, the built-in model, predictions, retrains) is not for it,
        # nor is the consensus unless it has a label set (`has_consensus`).
        MTURK = "mturk", "MTurk HIT type"

    class ItemKind(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image (pixels or URL)"
        VECTOR = "vector", "Numeric vector"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public: every worker"
        PRIVATE = "private", "Private: the workers of its groups"

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
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.NATIVE, db_default=Kind.NATIVE
    )
    # A native project's label set (validate_label_set, in clean()); empty on an MTurk
    # project without a categorical answer field.
    labels = models.JSONField(blank=True)
    min_overlap = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    # 7, not 5: on issue 13's crowd, 5 answers left too many items unsure (12-44% to review, or
    # 97.7% accuracy if accepted); 7 reaches >= 99% with <= 5% to review (benchmarks-quality (e)).
    max_overlap = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    # Dynamic overlap (services/consensus/overlap.py): an item is done when its posterior reaches
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
    # At most LEASE_SECONDS_MAX[kind] (clean()).
    lease_seconds = models.PositiveIntegerField(
        default=600,
        validators=[
            MinValueValidator(LEASE_SECONDS_MIN),
            MaxValueValidator(LEASE_SECONDS_MAX["mturk"]),
        ],
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
    # Who may see the project (apps/tasks/selectors/visibility.py is the one rule): every
    # worker, or only the members of `groups` (the owner's, apps.crowds). A private project
    # with no group is seen by no worker.
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    groups = models.ManyToManyField(
        "crowds.WorkerGroup",
        blank=True,
        related_name="projects",
        help_text="A private project is open to the members of these groups.",
    )
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

    @property
    def has_consensus(self) -> bool:
        """Whether answers here are aggregated into a consensus: every native project, and an
        MTurk project once it has a label set (a categorical answer field)."""
        return self.kind == self.Kind.NATIVE or bool(self.labels)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.min_overlap and self.max_overlap and self.max_overlap < self.min_overlap:
            errors["max_overlap"] = "Must be at least the minimum overlap."
        if self.kind == self.Kind.NATIVE or self.labels != []:
            try:
                validate_label_set(self.labels)
            except ValidationError as exc:
                errors["labels"] = exc.messages[0]
        most = LEASE_SECONDS_MAX.get(self.kind, LEASE_SECONDS_MAX["native"])
        if isinstance(self.lease_seconds, int) and self.lease_seconds > most:
            errors["lease_seconds"] = f"Ensure this value is less than or equal to {most}."
        if errors:
            raise ValidationError(errors)
