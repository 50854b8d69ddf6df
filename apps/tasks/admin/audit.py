"""The audit trail in the admin: a changelist filtered by project and action, never editable.

Project changes made in the admin are audited here too: ProjectAdmin.save_model calls
project_admin_change_record with the fields its form changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from apps.tasks.audit import changes_shown, field_changes
from apps.tasks.models import AuditEvent, Project
from apps.tasks.services.audit import audit_record
from hitlcrowd.adminsite import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "project", "actor_name", "action", "object", "changes_text"]
    list_filter = ["action", "project"]
    list_select_related = ["project", "actor"]
    search_fields = ["=object_id", "actor__username"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "created_at", "project", "actor", "action", "object_type", "object_id", "changes_text",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="who", ordering="actor__username")
    def actor_name(self, event: AuditEvent) -> str:
        return event.actor.username if event.actor_id else "system"

    @admin.display(description="object")
    def object(self, event: AuditEvent) -> str:
        return f"{event.object_type} {event.object_id}"

    @admin.display(description="changes")
    def changes_text(self, event: AuditEvent):
        return format_html_join("; ", "{}: {}", changes_shown(event.action, event.changes))


def project_admin_change_record(
    request: HttpRequest, project: Project, form, before: dict[str, Any]
) -> None:
    """Audit a project saved from its admin change form (the API and pages audit through
    project_update): the changed fields, before and after."""
    names = [form.instance._meta.get_field(name).attname for name in form.changed_data]
    after = {name: getattr(project, name) for name in names}
    changes = field_changes(before, after, names)
    if changes:
        audit_record(
            project_id=project.pk,
            actor=request.user,
            action=AuditEvent.Action.PROJECT_UPDATE,
            obj=project,
            changes=changes,
        )
