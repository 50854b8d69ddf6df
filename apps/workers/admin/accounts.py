"""Accounts (with their blocking pages, blocking.py), qualifications and workers' stats."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.workers.admin.blocking import WorkerBlockingMixin
from apps.workers.models import Qualification, User, WorkerStats
from hitlcrowd.adminsite import ReadOnlyAdmin


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


@admin.register(WorkerStats)
class WorkerStatsAdmin(ReadOnlyAdmin):
    """Computed by consensus runs: browse here."""

    list_display = [
        "worker", "project", "answers", "gold_answers", "gold_correct", "skill", "spam_score",
        "spam_score_high", "agreement", "median_seconds", "updated_at",
    ]  # fmt: skip
    search_fields = ["worker__username", "project__name"]
    list_select_related = ["worker", "project"]
