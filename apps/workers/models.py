from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """An account. Its role decides which API and pages it may use; admins are `is_staff`."""

    class Role(models.TextChoices):
        WORKER = "worker", "Worker"
        REQUESTER = "requester", "Requester"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.WORKER)

    @property
    def is_requester(self) -> bool:
        return self.role == self.Role.REQUESTER or self.is_staff

    @property
    def is_worker(self) -> bool:
        return self.role == self.Role.WORKER


class Qualification(models.Model):
    """A worker's qualification test on one project: the first gold items they answer.

    `answered` and `correct` are recomputed from the answers by the assignment services each
    time the worker submits a test answer; they are never shown to the worker while testing.
    """

    class State(models.TextChoices):
        TESTING = "testing", "Testing"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="qualifications")
    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="qualifications"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.TESTING)
    answered = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "project"], name="qualification_worker_project_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.project_id}: {self.state}"


class WorkerStats(models.Model):
    """A worker's reliability on one project, written by each consensus run."""

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="stats")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="+")
    answers = models.PositiveIntegerField(default=0)
    gold_answers = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    # Expected accuracy from the consensus model, and a 95% Beta interval around the accuracy
    # from gold answers plus the model's estimate on the other answers.
    skill = models.FloatField(null=True, blank=True)
    skill_low = models.FloatField(null=True, blank=True)
    skill_high = models.FloatField(null=True, blank=True)
    agreement = models.FloatField(null=True, blank=True, help_text="Share agreeing with consensus.")
    median_seconds = models.FloatField(null=True, blank=True)
    confusion = models.JSONField(null=True, blank=True, help_text="true x given, project labels.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "worker stats"
        constraints = [
            models.UniqueConstraint(fields=["worker", "project"], name="workerstats_unique")
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.project_id}"

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None


class Block(models.Model):
    """A worker barred from a project; lifted blocks stay as history."""

    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    project = models.ForeignKey("tasks.Project", on_delete=models.CASCADE, related_name="blocks")
    reason = models.CharField(max_length=500)
    automatic = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Claim check and consensus: WHERE worker_id = ? AND project_id = ? AND lifted_at
            # IS NULL; also at most one active block per worker and project.
            models.UniqueConstraint(
                fields=["project", "worker"],
                condition=Q(lifted_at__isnull=True),
                name="block_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} blocked on {self.project_id}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None
