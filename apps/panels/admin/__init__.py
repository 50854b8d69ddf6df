"""Admin for panel entry links: viewed only. Links are created and revoked through their
services (the API and the project page), participants made by the entry itself."""

from __future__ import annotations

from django.contrib import admin

from apps.panels.models import PanelLink, PanelParticipant
from hitlcrowd.adminsite import ReadOnlyAdmin


@admin.register(PanelLink)
class PanelLinkAdmin(ReadOnlyAdmin):
    list_display = ("name", "project", "quota", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "project__name")
    exclude = ("token",)  # the link's secret: the owner sees the full URL on the project page


@admin.register(PanelParticipant)
class PanelParticipantAdmin(ReadOnlyAdmin):
    list_display = ("participant_id", "link", "user", "started_at", "completed_at", "outcome")
    list_filter = ("outcome",)
    search_fields = ("participant_id", "user__username", "study_id", "session_id")
    list_select_related = ("link", "user")
