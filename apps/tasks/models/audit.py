"""The audit trail: who changed what and when, append-only."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F

from apps.tasks.audit import APPEND_ONLY, AppendOnlyQuerySet
from apps.tasks.models.projects import Project


class AuditEvent(models.Model):
    """Who changed what and when; append-only (apps/tasks/audit.py): no update, no delete.
    Events of a project, or (no project) of an account."""

    class Action(models.TextChoices):
        PROJECT_UPDATE = "project_update", "Project settings changed"
        GUIDELINE_PUBLISH = "guideline_publish", "Guideline published"
        WORKER_BLOCK = "worker_block", "Worker blocked"
        WORKER_UNBLOCK = "worker_unblock", "Worker unblocked"
        WORKER_GOLD_CHECK = "worker_gold_check", "Worker put on a gold check"
        WORKER_GOLD_CHECK_CLEAR = "worker_gold_check_clear", "Worker cleared by a gold check"
        WORKER_RECHECK = "worker_recheck", "Worker put on a recheck (no gold left)"
        WORKER_RECHECK_CLEAR = "worker_recheck_clear", "Worker cleared by a recheck"
        ITEM_RESOLVE = "item_resolve", "Item resolved"
        MODEL_PROMOTE = "model_promote", "Model promoted"
        ITEM_SEND_BACK = "item_send_back", "Item sent back for more answers"
        ITEM_AMBIGUOUS = "item_ambiguous", "Item marked ambiguous"
        ANSWERS_REJECT = "answers_reject", "Worker's answers rejected (pay reversed)"
        BONUS_GRANT = "bonus_grant", "Bonus granted"
        BUDGET_SPENT = "budget_spent", "Budget spent: tasks no longer served"
        PANEL_LINK_CREATE = "panel_link_create", "Panel entry link created"
        PANEL_LINK_REVOKE = "panel_link_revoke", "Panel entry link revoked"
        PANEL_LINK_UPDATE = "panel_link_update", "Panel entry link changed"
        ACCOUNT_DEACTIVATE = "account_deactivate", "Account deactivated"
        ACCOUNT_REACTIVATE = "account_reactivate", "Account reactivated"
        ASSIGNMENT_APPROVE = "assignment_approve", "MTurk assignment approved (reward paid)"
        ASSIGNMENT_REJECT = "assignment_reject", "MTurk assignment rejected"
        ITEM_MOVE = "item_move", "Item moved to another project (MTurk UpdateHITTypeOfHIT)"

    # PROTECT: a project with a history keeps it (the trail must not vanish with a delete).
    # Empty: an event of an account, not of one project (apps/workers/accounts.py).
    project = models.ForeignKey(
        Project,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        help_text="Empty: an account's event (deactivation), not one project's.",
    )
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
