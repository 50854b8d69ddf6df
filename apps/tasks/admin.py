"""Admin for the tasks app: browse everything, change little.

Answers are evidence (immutable, never deleted); batches are import records (read-only); a
published guideline version is frozen. Big foreign keys are raw ids so a change form never
renders a select of millions of rows.
"""

from __future__ import annotations

from axes.models import AccessFailureLog, AccessLog
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django_q.models import Failure, Success

from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    Assignment,
    Batch,
    GuidelineVersion,
    Item,
    Project,
)
from apps.workers.web.rendering import payload_html


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ShowsItem:
    """The item as the worker's task page shows it (the same template), for the admins that
    judge or inspect items: text, the image, the pixels drawn, other fields as key/value."""

    @admin.display(description="as the worker saw it")
    def as_the_worker_saw_it(self, obj: models.Model) -> str:
        return payload_html(_item(obj).payload, size=256)  # no site.css here to bound it

    @admin.display(description="item as shown")
    def item_thumbnail(self, obj: models.Model) -> str:
        return payload_html(_item(obj).payload, size=64, text_limit=120)


def _item(obj: models.Model) -> Item:
    """The item itself, or the item of an answer or a flag (select_related on lists)."""
    return obj if isinstance(obj, Item) else obj.item


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name", "owner", "item_kind", "confidence_threshold", "min_overlap", "max_overlap",
        "aggregation_method", "is_open", "created_at",
    ]  # fmt: skip
    list_filter = ["item_kind", "aggregation_method", "is_open"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["callback_secret", "created_at", "updated_at"]


@admin.register(GuidelineVersion)
class GuidelineVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "published_at", "author", "created_at"]
    list_filter = [("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["project__name", "change_note", "text"]
    list_select_related = ["project", "author"]
    raw_id_fields = ["project", "author"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None and obj.is_published:
            return ["project", "number", "text", "change_note", "author", "published_at"]
        return ["created_at"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None or not obj.is_published


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__", "project", "status", "format", "row_count", "created_count",
        "auto_labeled_count", "sent_to_people_count", "error_count", "uploaded_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "format"]
    search_fields = ["file_name", "idempotency_key", "project__name", "uploaded_by__username"]
    list_select_related = ["project", "uploaded_by"]
    date_hierarchy = "created_at"


@admin.register(Item)
class ItemAdmin(ShowsItem, admin.ModelAdmin):
    list_display = [
        "external_id", "project", "state", "final_label", "label_source", "final_confidence",
        "prediction", "confidence", "is_gold", "batch",
    ]  # fmt: skip
    list_filter = ["state", "label_source", "is_gold"]
    # Exact id match: a leading-wildcard LIKE over millions of items would scan them all.
    search_fields = ["=external_id", "project__name"]
    list_select_related = ["project", "batch"]
    raw_id_fields = ["project", "batch"]
    readonly_fields = ["as_the_worker_saw_it", "created_at", "updated_at"]
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [f for f in super().get_fields(request, obj) if f != "as_the_worker_saw_it"]
        return ["as_the_worker_saw_it", *fields] if obj is not None else fields


@admin.register(HIT)
class HITAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "item", "state", "answers_wanted", "priority", "is_gold"]
    list_filter = ["state", "is_gold"]
    search_fields = ["=item__external_id", "project__name"]
    list_select_related = ["project", "item"]
    raw_id_fields = ["item", "project"]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    """History: a lease and its outcome; states change only through the services."""

    list_display = [
        "__str__", "project", "worker", "state", "leased_at", "lease_expires_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["state"]
    search_fields = ["worker__username", "=hit__item__external_id", "project__name"]
    list_select_related = ["project", "worker", "hit"]
    raw_id_fields = ["hit", "project", "worker", "guideline_version"]
    show_full_result_count = False


@admin.register(Answer)
class AnswerAdmin(ShowsItem, ReadOnlyAdmin):
    list_display = ["__str__", "project", "item", "worker", "label", "seconds_spent", "created_at"]
    readonly_fields = ["as_the_worker_saw_it"]
    list_filter = ["created_at"]
    search_fields = ["worker__username", "=item__external_id", "project__name", "label"]
    list_select_related = ["project", "item", "worker"]
    show_full_result_count = False


@admin.register(AggregationRun)
class AggregationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__", "project", "method", "status", "answers", "items", "workers", "iterations",
        "items_changed", "started_at", "finished_at",
    ]  # fmt: skip
    list_filter = ["status", "method"]
    search_fields = ["project__name"]
    list_select_related = ["project"]
    exclude = ["confusions"]


@admin.register(AggregationState)
class AggregationStateAdmin(ReadOnlyAdmin):
    list_display = ["project", "pending", "requested_at", "running_since", "last_run"]
    list_filter = ["pending"]
    search_fields = ["project__name"]
    list_select_related = ["project", "last_run"]


def read_only(model: type[models.Model]) -> None:
    """Re-register another app's admin of history rows with ReadOnlyAdmin's permissions."""
    if not admin.site.is_registered(model):
        return
    base = type(admin.site.get_model_admin(model))
    if issubclass(base, ReadOnlyAdmin):
        return
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (ReadOnlyAdmin, base), {}))


# Job results and login logs are history too (django-q's retry action still works). Axes'
# AccessAttempt stays deletable: deleting one is how an admin lifts a lockout.
for _model in (Success, Failure, AccessLog, AccessFailureLog):
    read_only(_model)


from apps.tasks import admin_overview  # noqa: E402, F401, I001  (project overview page, filters)
from apps.tasks import admin_review  # noqa: E402, F401  (disagreement queue, unblock action)
from apps.tasks import admin_guidelines  # noqa: E402, F401  (draft, preview, publish, diff)
from apps.tasks import admin_audit  # noqa: E402, F401  (audit trail, audited project admin)
