"""The project overview page in the admin and links between a project's related objects:
ProjectAdmin (apps/tasks/admin/projects.py) mixes in ProjectOverviewMixin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.tasks.models import Item, Project
from apps.tasks.selectors.overview import project_overview


def _changelist(model: str, **params: object) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{reverse(f'admin:{model}_changelist')}?{query}"


def project_links(project: Project) -> list[tuple[str, str]]:
    """(label, url) of the admin lists filtered to the project."""
    pid = project.pk
    return [
        ("Items", _changelist("tasks_item", project__id__exact=pid)),
        ("Disagreement queue", _changelist("tasks_reviewitem", project__id__exact=pid)),
        ("Batches", _changelist("tasks_batch", project__id__exact=pid)),
        ("HITs", _changelist("tasks_hit", project__id__exact=pid)),
        ("Workers' stats", _changelist("workers_workerstats", project__id__exact=pid)),
        ("Blocks", _changelist("workers_block", project__id__exact=pid)),
        ("Ledger", _changelist("workers_ledgerentry", project__id__exact=pid)),
        ("Guideline versions", _changelist("tasks_guidelineversion", project__id__exact=pid)),
    ]


class ProjectOverviewMixin:
    """Adds /admin/tasks/project/<id>/overview/ and links to it from the list and form."""

    def get_urls(self):
        overview = self.admin_site.admin_view(self.overview_view)
        mine = [path("<int:project_id>/overview/", overview, name="tasks_project_overview")]
        return mine + super().get_urls()

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "overview"]

    @admin.display(description="overview")
    def overview(self, project: Project) -> str:
        if project.pk is None:
            return "-"
        url = reverse("admin:tasks_project_overview", args=[project.pk])
        return format_html('<a href="{}">Overview</a>', url)

    def overview_view(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = get_object_or_404(Project.objects.select_related("owner"), pk=project_id)
        if not self.has_view_permission(request, project):
            raise admin.exceptions.PermissionDenied
        data = project_overview(project=project)
        context = {
            **self.admin_site.each_context(request),
            **data,
            "title": f"Overview of {project.name}",
            "opts": self.model._meta,
            "original": project,
            "project": project,
            "counts": [(label, data["counts"].get(v, 0)) for v, label in Item.State.choices],
            "links": project_links(project),
            "queue_url": _changelist("tasks_reviewitem", project__id__exact=project.pk),
            "blocks_url": _changelist(
                "workers_block", project__id__exact=project.pk, lifted_at__isempty=1
            ),
            "peak": max([row["answers"] for row in data["per_hour"]] + [1]),
        }
        return TemplateResponse(request, "admin/tasks/project/overview.html", context)
