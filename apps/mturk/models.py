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
