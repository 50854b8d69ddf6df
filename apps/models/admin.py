from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from apps.models.models import (
    Feedback,
    ItemFlag,
    LearningSettings,
    ModelVersion,
    RescoreRun,
    TrainingRun,
    WebhookDelivery,
)
from apps.models.services.training import retrain_enqueue
from apps.tasks.admin.display import ShowsItem
from hitlcrowd.adminsite import ReadOnlyAdmin


@admin.register(LearningSettings)
class LearningSettingsAdmin(admin.ModelAdmin):
    list_display = ["project", "model_enabled", "retrain_after_labels", "strategy", "dashboard"]
    list_select_related = ["project"]
    actions = ["retrain"]

    @admin.display(description="Dashboard")
    def dashboard(self, obj: LearningSettings) -> str:
        url = reverse("requester-project-models", args=[obj.project_id])
        return format_html('<a href="{}">model dashboard</a>', url)

    @admin.action(description="Retrain the selected projects' models now")
    def retrain(self, request, queryset) -> None:
        for row in queryset:
            retrain_enqueue(project_id=row.project_id, trigger="admin")
        messages.success(request, f"Queued {queryset.count()} retrain job(s).")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """History, like the runs and flags below: written by training, scoring and audits only."""

    list_display = [
        "__str__",
        "project",
        "is_active",
        "accuracy",
        "ece",
        "labels_seen",
        "created_at",
    ]
    list_filter = ["is_active"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "project", "status", "trigger", "started_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(RescoreRun)
class RescoreRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "project", "model_version", "status", "done", "total", "auto_labeled"]
    list_select_related = ["project", "model_version"]
    readonly_fields = [f.name for f in RescoreRun._meta.fields]


@admin.register(ItemFlag)
class ItemFlagAdmin(ShowsItem, ReadOnlyAdmin):
    list_display = [
        "item", "item_thumbnail", "kind", "model_label", "given_label", "confidence", "created_at",
    ]  # fmt: skip
    readonly_fields = ["as_the_worker_saw_it"]
    list_filter = ["kind"]
    list_select_related = ["item"]
    raw_id_fields = ["item", "project", "model_version"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Read-only: a delivery's body and URL are signed and sent as stored, so an edited or
    added row would go out under the project's signature."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["pk", "item", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status"]
    list_select_related = ["item"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    """Read-only like answers: a user's correction is evidence; a new one goes through the
    feedback endpoint, which also updates the item and its callback."""

    list_display = ["item", "label", "accepted", "model_label", "user", "created_at"]
    list_select_related = ["item", "user"]
    raw_id_fields = ["item", "project", "user"]
