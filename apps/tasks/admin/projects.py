"""Projects: their settings, an overview page (overview.py) and an audit of admin changes."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from apps.tasks.admin.audit import project_admin_change_record
from apps.tasks.admin.overview import ProjectOverviewMixin
from apps.tasks.models import Project


@admin.register(Project)
class ProjectAdmin(ProjectOverviewMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name", "owner", "item_kind", "confidence_threshold", "min_overlap", "max_overlap",
        "aggregation_method", "is_open", "created_at", "overview",
    ]  # fmt: skip
    list_filter = ["item_kind", "aggregation_method", "is_open"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    # A private project's groups are the owner's (project_update checks it): set on the
    # requester's page or the API, shown here.
    readonly_fields = ["callback_secret", "groups", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Project, form, change: bool) -> None:
        before = Project.objects.filter(pk=obj.pk).values().first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            project_admin_change_record(request, obj, form, before)
