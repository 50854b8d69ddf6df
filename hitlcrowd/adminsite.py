"""The admin site: Django's, plus one rule for other apps' history rows.

Each of our apps registers its own models once, in its own admin package; nothing is
unregistered and re-registered. django-q's job results and axes' login logs are history too,
but their admins are registered by those libraries: the site registers them with
ReadOnlyAdmin's permissions mixed in, as they come (django-q's retry action still works).
Axes' AccessAttempt stays deletable: deleting one is how an admin lifts a lockout.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models.base import ModelBase
from django.http import HttpRequest

# Other apps' models shown view-only (app_label.ModelName).
READ_ONLY_ELSEWHERE = frozenset(
    {"django_q.Success", "django_q.Failure", "axes.AccessLog", "axes.AccessFailureLog"}
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: viewed, never added, changed or deleted in the admin."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        single = isinstance(model_or_iterable, ModelBase)
        models = [model_or_iterable] if single else model_or_iterable
        for model in models:
            super().register(model, _read_only_if_elsewhere(model, admin_class), **options)


def _read_only_if_elsewhere(model: ModelBase, admin_class: type | None) -> type | None:
    base = admin_class or admin.ModelAdmin
    if model._meta.label not in READ_ONLY_ELSEWHERE or issubclass(base, ReadOnlyAdmin):
        return admin_class
    return type(base.__name__, (ReadOnlyAdmin, base), {"__module__": __name__})
