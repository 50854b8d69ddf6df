"""Items, their HITs, assignments and answers, the batches that brought them and the consensus
runs over them. History is view-only; items and HITs stay editable."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from apps.tasks.admin.display import ShowsItem
from apps.tasks.models import (
    HIT,
    AggregationRun,
    AggregationState,
    Answer,
    Assignment,
    Batch,
    GuidelineVersion,
    Item,
)
from hitlcrowd.adminsite import ReadOnlyAdmin
from hitlcrowd.params import ascii_int

GUIDELINE_CHOICES = 100


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


class AnswerGuidelineFilter(admin.SimpleListFilter):
    """Items with at least one answer given under a guideline version (EXISTS, no join)."""

    title = "guideline version of its answers"
    parameter_name = "answer_guideline"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        versions = GuidelineVersion.objects.select_related("project").order_by("project", "-number")
        project_id = ascii_int(request.GET.get("project__id__exact", ""))
        if project_id is not None:
            versions = versions.filter(project_id=project_id)
        return [(str(v.pk), str(v)) for v in versions[:GUIDELINE_CHOICES]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Item]) -> QuerySet[Item]:
        version_id = ascii_int(self.value() or "")
        if version_id is None:
            return queryset
        answers = Answer.objects.filter(item=OuterRef("pk"), guideline_version_id=version_id)
        return queryset.filter(Exists(answers))


@admin.register(Item)
class ItemAdmin(ShowsItem, admin.ModelAdmin):
    list_display = [
        "external_id", "project", "state", "final_label", "label_source", "final_confidence",
        "prediction", "confidence", "is_gold", "batch",
    ]  # fmt: skip
    list_filter = ["state", "label_source", "is_gold", AnswerGuidelineFilter]
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
