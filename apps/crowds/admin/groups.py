"""Groups, their members and invite links, for admins to browse.

Requesters manage their groups on their own pages and the API (services do the writes). Here
an admin can browse and delete; an invite link is made only by `invite_create` (its token is
shown once, to its maker), so the admin cannot add one.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.crowds.models import InviteLink, Membership, WorkerGroup


@admin.register(WorkerGroup)
class WorkerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["worker", "group", "source", "joined_at"]
    list_filter = ["source"]
    search_fields = ["worker__username", "group__name"]
    list_select_related = ["worker", "group"]
    raw_id_fields = ["worker", "group", "invite", "added_by"]


@admin.register(InviteLink)
class InviteLinkAdmin(admin.ModelAdmin):
    list_display = ["hint", "group", "created_at", "expires_at", "revoked_at", "uses", "max_uses"]
    search_fields = ["group__name", "hint"]
    list_select_related = ["group"]
    readonly_fields = ["group", "hint", "created_by", "created_at", "uses"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
