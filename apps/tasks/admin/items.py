"""Items, their HITs, assignments and answers, the batches that brought them and the consensus
runs over them. History is view-only, and so are items: their state has one owner,
apps/tasks/services/items.py (docs/state.md), and an admin changes it in the review queue
(resolve, send back, mark ambiguous). A HIT's priority and expiry are edited here and saved by
that module's `hit_priorities_set` and `hit_expiry_set`. Neither is added or deleted here:
items come from uploads, and deleting one would take its answers and payments with it."""

from __future__ import annotations

from django.contrib import admin, messages
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
from apps.tasks.services.items import hit_expiry_set, hit_priorities_set
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
class ItemAdmin(ShowsItem, ReadOnlyAdmin):
    """Viewed only: an item's state changes in the review queue (resolve, send back, mark
    ambiguous), by uploads and by the jobs, each through apps/tasks/services/items.py."""

    list_display = [
        "external_id", "project", "state", "final_label", "label_source", "final_confidence",
        "prediction", "confidence", "is_gold", "batch",
    ]  # fmt: skip
    list_filter = ["state", "label_source", "is_gold", AnswerGuidelineFilter]
    # Exact id match: a leading-wildcard LIKE over millions of items would scan them all.
    search_fields = ["=external_id", "project__name"]
    list_select_related = ["project", "batch"]
    readonly_fields = ["as_the_worker_saw_it"]
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [f for f in super().get_fields(request, obj) if f != "as_the_worker_saw_it"]
        return ["as_the_worker_saw_it", *fields] if obj is not None else fields


@admin.register(HIT)
class HITAdmin(admin.ModelAdmin):
    """Only priority and expiry change here, saved through the services; never added or
    deleted (a HIT is its item's)."""

    list_display = ["__str__", "project", "item", "state", "answers_wanted", "priority", "is_gold"]
    list_filter = ["state", "is_gold"]
    search_fields = ["=item__external_id", "project__name"]
    list_select_related = ["project", "item"]
    editable_fields = ("priority", "expires_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = [f.name for f in HIT._meta.fields if not f.primary_key]
        return [f for f in fields if f not in self.editable_fields]

    def save_model(self, request: HttpRequest, obj: HIT, form, change: bool) -> None:
        """Through the services, as the API and jobs change them: a priority reaches only an
        open HIT, and an expiry settles the HIT's state from its rows."""
        if "priority" in form.changed_data:
            written = hit_priorities_set(project=obj.project, priorities={obj.pk: obj.priority})
            if not written:
                message = "The priority was not changed: only an open HIT's priority is."
                self.message_user(request, message, messages.WARNING)
        if "expires_at" in form.changed_data:
            hit_expiry_set(hit_id=obj.pk, expires_at=obj.expires_at)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """A HIT has no related rows edited here."""


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
