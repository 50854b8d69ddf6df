"""Guideline versions (numbered, frozen once published) and who has read which."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.tasks.models.projects import Project


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
