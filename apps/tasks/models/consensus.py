"""Consensus runs over a project's answers, and the per-project state that schedules them."""

from __future__ import annotations

from django.db import models

from apps.tasks.models.projects import Project


class AggregationRun(models.Model):
    """One consensus run over a project's answers (apps/tasks/services/consensus/)."""

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
    # Started from the previous run's confusion matrices (services/consensus/warm.py).
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
    UPDATEs (services/consensus/scheduling.py) so a burst of answers gives one run and never
    two at once. A row of its own, so that saving a Project never overwrites it."""

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
