from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AccessKey(models.Model):
    """A requester's MTurk-style credentials: an access key id (`AKIA` + 16 characters, like
    AWS's) and a secret shown once, at creation. The secret is stored encrypted, not hashed:
    Signature V4 is an HMAC keyed with the secret itself (hitlcrowd/secretbox.py). Revoked
    keys stay as history; they authenticate nothing."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_access_keys"
    )
    # The endpoint's look-up on every request: WHERE access_key_id = ? (the unique index).
    access_key_id = models.CharField(max_length=20, unique=True)
    secret_encrypted = models.TextField()
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Refreshed at most once a minute (services.access_key_touch), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A requester's live keys (their page, the per-requester limit).
            models.Index(
                fields=["requester"], condition=Q(revoked_at__isnull=True), name="accesskey_live"
            ),
        ]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class HITType(models.Model):
    """An MTurk HIT type: what a group of HITs share (title, description, reward, durations,
    keywords). CreateHITType with the same values returns the same type, as MTurk did: the
    values' digest is unique per requester. HITs and their link to a project come with
    CreateHIT (issue 17 #2)."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_hit_types"
    )
    hit_type_id = models.CharField(max_length=30, unique=True)
    title = models.CharField(max_length=128)
    description = models.CharField(max_length=2000)
    keywords = models.CharField(max_length=1000, blank=True)
    reward = models.DecimalField(max_digits=10, decimal_places=2)
    assignment_duration_seconds = models.PositiveIntegerField()
    auto_approval_delay_seconds = models.PositiveIntegerField()
    # sha256 of the values above, canonical (services.hit_type_fingerprint).
    fingerprint = models.CharField(max_length=64)
    project = models.OneToOneField(
        "tasks.Project", on_delete=models.PROTECT, related_name="mturk_hit_type"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # CreateHITType's look-up of an identical type: WHERE requester_id = ? AND
            # fingerprint = ?; also what makes two concurrent identical calls one type.
            models.UniqueConstraint(
                fields=["requester", "fingerprint"], name="hittype_requester_fingerprint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hit_type_id} {self.title}"


class MturkHIT(models.Model):
    """An MTurk HIT: the MTurk face of one item and its tasks.HIT (answers_wanted is
    MaxAssignments, expires_at its expiry; the claim reads both there). What MTurk adds is
    kept here: its id, the question, the requester's annotation and token, the review status."""

    class QuestionKind(models.TextChoices):
        EXTERNAL = "external", "ExternalQuestion"
        HTML = "html", "HTMLQuestion"

    class ReviewStatus(models.TextChoices):
        NOT_REVIEWED = "NotReviewed"
        MARKED_FOR_REVIEW = "MarkedForReview"
        REVIEWED_APPROPRIATE = "ReviewedAppropriate"
        REVIEWED_INAPPROPRIATE = "ReviewedInappropriate"

    hit_id = models.CharField(max_length=30, unique=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_hits"
    )
    hit_type = models.ForeignKey(HITType, on_delete=models.PROTECT, related_name="hits")
    task_hit = models.OneToOneField("tasks.HIT", on_delete=models.PROTECT, related_name="mturk")
    question = models.TextField()
    question_kind = models.CharField(max_length=8, choices=QuestionKind.choices)
    requester_annotation = models.CharField(max_length=255, blank=True)
    # MTurk's UniqueRequestToken (at most 64 characters): a repeat creates nothing.
    unique_request_token = models.CharField(max_length=64, null=True, blank=True)
    review_status = models.CharField(
        max_length=24, choices=ReviewStatus.choices, default=ReviewStatus.NOT_REVIEWED
    )
    # UpdateHITReviewStatus: a Reviewable HIT the requester is reviewing.
    reviewing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # DeleteHIT: disposed HITs are kept (their assignments and money stay on record) but are
    # listed nowhere.
    disposed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "MTurk HIT"
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "unique_request_token"],
                condition=Q(unique_request_token__isnull=False),
                name="mturkhit_request_token_unique",
            ),
        ]
        indexes = [
            # ListHITs: WHERE requester_id = ? AND disposed_at IS NULL ORDER BY id.
            models.Index(
                fields=["requester", "id"],
                condition=Q(disposed_at__isnull=True),
                name="mturkhit_requester_live",
            ),
        ]

    def __str__(self) -> str:
        return self.hit_id


class MturkAssignment(models.Model):
    """An MTurk assignment: the MTurk face of one tasks.Assignment once submitted (the lease,
    its worker, its deadline and its accept, abandon or expiry are the Assignment's). The
    answer is kept as the QuestionFormAnswers XML returned to the requester."""

    class Status(models.TextChoices):
        SUBMITTED = "Submitted"
        APPROVED = "Approved"
        REJECTED = "Rejected"

    assignment_id = models.CharField(max_length=30, unique=True)
    task_assignment = models.OneToOneField(
        "tasks.Assignment", on_delete=models.PROTECT, related_name="mturk"
    )
    mturk_hit = models.ForeignKey(MturkHIT, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    answer = models.TextField()
    submitted_at = models.DateTimeField()
    # submitted_at + the HIT type's AutoApprovalDelayInSeconds.
    auto_approval_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    requester_feedback = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "MTurk assignment"
        indexes = [
            # ListAssignmentsForHIT and the HIT's counts: WHERE mturk_hit_id = ? [AND status
            # IN (...)] ORDER BY id.
            models.Index(fields=["mturk_hit", "status", "id"], name="mturkassign_hit_status"),
            # Auto-approval: WHERE status = 'Submitted' AND auto_approval_at <= now().
            models.Index(
                fields=["auto_approval_at"],
                condition=Q(status="Submitted"),
                name="mturkassign_auto_approval",
            ),
        ]

    def __str__(self) -> str:
        return self.assignment_id
