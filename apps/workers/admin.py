from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.workers.admin_blocking import BlockListMixin, WorkerBlockingMixin
from apps.workers.models import Block, Qualification, User, WorkerStats


@admin.register(User)
class UserAdmin(WorkerBlockingMixin, DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets[:1],
        ("Role", {"fields": ["role"]}),
        *DjangoUserAdmin.fieldsets[1:],
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "role", "password1", "password2"]})
    ]


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ["worker", "project", "state", "answered", "correct", "updated_at"]
    list_filter = ["state"]
    search_fields = ["worker__username", "project__name"]
    list_select_related = ["worker", "project"]
    raw_id_fields = ["worker", "project"]


class _ServiceWrittenAdmin(admin.ModelAdmin):
    """Written by services (consensus runs, blocking): browse here, change through the app."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerStats)
class WorkerStatsAdmin(_ServiceWrittenAdmin):
    list_display = [
        "worker", "project", "answers", "gold_answers", "gold_correct", "skill", "spam_score",
        "spam_score_high", "agreement", "median_seconds", "updated_at",
    ]  # fmt: skip
    search_fields = ["worker__username", "project__name"]
    list_select_related = ["worker", "project"]


@admin.register(Block)
class BlockAdmin(BlockListMixin, _ServiceWrittenAdmin):
    list_display = ["worker", "project", "reason", "automatic", "created_at", "lifted_at"]
    list_filter = ["automatic", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["worker__username", "project__name", "reason"]
    list_select_related = ["worker", "project"]
