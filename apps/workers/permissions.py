from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsRequester(BasePermission):
    """Requesters (and admins) manage projects; workers may not."""

    message = "This endpoint is for requesters."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_requester)


class IsWorker(BasePermission):
    message = "This endpoint is for workers."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_worker and user.is_active)
