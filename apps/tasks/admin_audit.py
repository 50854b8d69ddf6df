"""The audit trail in the admin: a changelist filtered by project and action, never editable.

Project changes made in the admin are audited here too: ProjectAdmin is re-registered with a
`save_model` that records the changed fields (the API and pages go through project_update).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from apps.tasks.audit import changes_shown, field_changes
from apps.tasks.models import AuditEvent, Project
from apps.tasks.services.audit import audit_record


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="who", ordering="actor__username")
    def actor_name(self, event: AuditEvent) -> str:
        return event.actor.username if event.actor_id else "system"

    @admin.display(description="object")
    def object(self, event: AuditEvent) -> str:
        return f"{event.object_type} {event.object_id}"

    @admin.display(description="changes")
    def changes_text(self, event: AuditEvent):
        return format_html_join("; ", "{}: {}", changes_shown(event.action, event.changes))


def _audited_project_admin(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    def save_model(self, request: HttpRequest, obj: Project, form, change: bool) -> None:
        before = Project.objects.filter(pk=obj.pk).values().first() if change else None
        base.save_model(self, request, obj, form, change)
        if before is None:
            return
        names = [form.instance._meta.get_field(name).attname for name in form.changed_data]
        after = {name: getattr(obj, name) for name in names}
        changes = field_changes(before, after, names)
        if changes:
            audit_record(
                project_id=obj.pk,
                actor=request.user,
                action=AuditEvent.Action.PROJECT_UPDATE,
                obj=obj,
                changes=changes,
            )

    return type("AuditedProjectAdmin", (base,), {"save_model": save_model})


def _audit_project_admin() -> None:
    base = type(admin.site.get_model_admin(Project)) if admin.site.is_registered(Project) else None
    if base is None or getattr(base, "audited", False):
        return
    admin.site.unregister(Project)
    audited = _audited_project_admin(base)
    audited.audited = True
    admin.site.register(Project, audited)


_audit_project_admin()
