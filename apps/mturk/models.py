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
    # Beyond MTurk (issue 17 #5): the form field (QuestionIdentifier) whose answer is a label
    # of the project's label set; set, the project's answers get a Dawid-Skene consensus
    # (apps/mturk/services/categorical.py). Empty: the answers are free form.
    label_field = models.CharField(max_length=255, blank=True, default="", db_default="")
    # MTurk's QualificationRequirements, checked (apps/mturk/access.py) and stored in its shape
    # (requirements.Requirement.as_wire). The claim reads them in its project statement, for
    # MTurk projects only.
    qualification_requirements = models.JSONField(default=list, blank=True)
    # Some requirement guards DiscoverPreviewAndAccept: its HITs are hidden from workers who do
    # not meet it (their project list asks only about these types).
    hides_from_unqualified = models.BooleanField(default=False)
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
        indexes = [
            # A worker's project list: WHERE hides_from_unqualified (the few such types).
            models.Index(
                fields=["project"],
                condition=Q(hides_from_unqualified=True),
                name="hittype_hides_from_unqualified",
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


class WorkerId(models.Model):
    """A worker's MTurk WorkerId: `A` + 13 upper-case letters and digits, opaque, stable, the
    same for every requester (as MTurk's was). Made on first need (apps/mturk/workers.py);
    shown to the worker on their account page and in `me/`, so they can tell a requester."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_worker"
    )
    # Every WorkerId an operation names is looked up here: WHERE worker_id = ? (unique index).
    worker_id = models.CharField(max_length=14, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MTurk WorkerId"

    def __str__(self) -> str:
        return self.worker_id


class QualificationType(models.Model):
    """A requester's qualification type (CreateQualificationType): a property of workers that
    the requester grants (AssociateQualificationWithWorker) and that HIT types may require.
    The system types (approval rate, locale...) are no rows: apps/mturk/requirements.py.
    DeleteQualificationType marks it deleted: it is gone for every operation and its name is
    free again; the grants stay (MTurk kept them for the HITs that need them)."""

    class Status(models.TextChoices):
        ACTIVE = "Active"
        INACTIVE = "Inactive"

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mturk_qualification_types",
    )
    qualification_type_id = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=2000)
    keywords = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    retry_delay_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    auto_granted = models.BooleanField(default=False)
    auto_granted_value = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # MTurk's rule: a name is unique among the requester's types (not deleted).
            models.UniqueConstraint(
                fields=["requester", "name"],
                condition=Q(deleted_at__isnull=True),
                name="qualtype_name_unique",
            ),
        ]
        indexes = [
            # ListQualificationTypes: WHERE requester_id = ? AND deleted_at IS NULL AND id > ?
            # ORDER BY id (a keyset page).
            models.Index(
                fields=["requester", "id"],
                condition=Q(deleted_at__isnull=True),
                name="qualtype_requester_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.qualification_type_id} {self.name}"

    @property
    def is_requestable(self) -> bool:
        return True  # any requester's type; only the system's are not


class WorkerQualification(models.Model):
    """A qualification type granted to a worker, with its value (MTurk's Qualification):
    granted, re-granted with a new value, or revoked (kept, as MTurk listed revoked ones)."""

    class Status(models.TextChoices):
        GRANTED = "Granted"
        REVOKED = "Revoked"

    qualification_type = models.ForeignKey(
        QualificationType, on_delete=models.CASCADE, related_name="grants"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_qualifications"
    )
    integer_value = models.IntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.GRANTED)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One per worker and type; also the requirements' probe of a worker's scores:
            # WHERE qualification_type_id IN (...) AND worker_id = ?.
            models.UniqueConstraint(
                fields=["qualification_type", "worker"], name="workerqual_type_worker"
            ),
        ]
        indexes = [
            # ListWorkersWithQualificationType: WHERE qualification_type_id = ? AND status = ?
            # AND id > ? ORDER BY id.
            models.Index(
                fields=["qualification_type", "status", "id"], name="workerqual_type_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.qualification_type_id} of {self.worker_id}: {self.status}"


class WorkerNotice(models.Model):
    """A message to a worker from a requester: NotifyWorkers, or word that a requester granted
    or revoked one of their qualifications. Shown on the worker's account page."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mturk_notices"
    )
    subject = models.CharField(max_length=200)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # When the mail job handed it to the mail server (apps/mturk/notices.py): a job run
    # again mails only the notices without it.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The account page: WHERE worker_id = ? ORDER BY created_at DESC, id DESC LIMIT n.
            models.Index(
                models.F("worker"),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="workernotice_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.worker_id}"


class HITExtension(models.Model):
    """CreateAdditionalAssignmentsForHIT with a UniqueRequestToken: the token is kept so that a
    retry adds nothing (the requester's tokens are unique)."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    mturk_hit = models.ForeignKey(MturkHIT, on_delete=models.CASCADE, related_name="extensions")
    unique_request_token = models.CharField(max_length=64)
    assignments_added = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "HIT extension"
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "unique_request_token"], name="hitextension_token_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.assignments_added} on {self.mturk_hit_id}"


class MturkBonus(models.Model):
    """A bonus paid through SendBonus: the ledger's bonus entry (the money) with what MTurk
    adds, the assignment it is for and the requester's UniqueRequestToken (a repeat pays
    nothing)."""

    ledger_entry = models.OneToOneField(
        "workers.LedgerEntry", on_delete=models.PROTECT, related_name="mturk_bonus"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    mturk_assignment = models.ForeignKey(
        MturkAssignment, on_delete=models.PROTECT, related_name="bonuses"
    )
    # The assignment's HIT, kept here for ListBonusPayments by HITId (index below).
    mturk_hit = models.ForeignKey(MturkHIT, on_delete=models.PROTECT, related_name="bonuses")
    unique_request_token = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "MTurk bonus"
        verbose_name_plural = "MTurk bonuses"
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "unique_request_token"],
                condition=Q(unique_request_token__isnull=False),
                name="mturkbonus_request_token_unique",
            ),
        ]
        indexes = [
            # ListBonusPayments: WHERE mturk_hit_id = ? [or mturk_assignment_id = ?] AND id > ?
            # ORDER BY id.
            models.Index(fields=["mturk_hit", "id"], name="mturkbonus_hit"),
            models.Index(fields=["mturk_assignment", "id"], name="mturkbonus_assignment"),
        ]

    def __str__(self) -> str:
        return f"bonus {self.ledger_entry_id} on {self.mturk_assignment_id}"
