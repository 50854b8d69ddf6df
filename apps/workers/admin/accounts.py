"""Accounts (with their blocking pages, blocking.py), qualifications and workers' stats.

An account is deactivated and reactivated only through apps.workers.accounts (its tokens and
sessions end, its live leases give their slots back, the audit trail records it): from the
account list's actions (the reason typed in the action bar) or the account's deactivate/ and
reactivate/ pages; the change form shows `is_active` read-only, so that a tick cannot skip all
that.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.workers.accounts import user_deactivate, user_reactivate
from apps.workers.admin.blocking import WorkerBlockingMixin, _reason_field
from apps.workers.ledger import MAX_REASON_LENGTH
from apps.workers.models import Qualification, User, WorkerStats
from hitlcrowd.adminsite import ReadOnlyAdmin
from hitlcrowd.errors import DomainError
from hitlcrowd.pages import form_add_refusal


class AccountActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=MAX_REASON_LENGTH, help_text="Why: kept in the audit trail."
    )


class ReasonForm(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = _reason_field("For the audit trail.", required=False)


def _each(modeladmin, request: HttpRequest, queryset: QuerySet[User], service, verb: str) -> None:
    reason = request.POST.get("reason", "")
    done, refused = 0, []
    for user in queryset.order_by("pk"):
        try:
            service(user=user, by=request.user, reason=reason)
        except DomainError as exc:
            refused.append(f"{user.username}: {_text(exc)}")
        else:
            done += 1
    modeladmin.message_user(request, f"{verb} {done} account(s).", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, "Not done: " + "; ".join(refused), messages.ERROR)


def _text(exc: DomainError) -> str:
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return " ".join(str(t) for texts in errors.values() for t in texts) or exc.message


@admin.action(
    description="Deactivate: no login, tokens and sessions end, live tasks go back",
    permissions=["change"],
)
def deactivate_selected(modeladmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
    _each(modeladmin, request, queryset.filter(is_active=True), user_deactivate, "Deactivated")


@admin.action(description="Reactivate: may log in again", permissions=["change"])
def reactivate_selected(modeladmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
    _each(modeladmin, request, queryset.filter(is_active=False), user_reactivate, "Reactivated")


class AccountStatusMixin:
    """The account's deactivate/ and reactivate/ pages, and its status on the change form."""

    def get_urls(self):
        view = self.admin_site.admin_view
        mine = [
            path(
                "<int:user_id>/deactivate/",
                view(self.deactivate_view),
                name="workers_user_deactivate",
            ),
            path(
                "<int:user_id>/reactivate/",
                view(self.reactivate_view),
                name="workers_user_reactivate",
            ),
        ]
        return mine + super().get_urls()

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "is_active", "account_status"] if obj is not None else fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.insert(1, ("Account", {"fields": ["account_status"]}))
        return fieldsets

    @admin.display(description="status")
    def account_status(self, user: User) -> str:
        if user.is_active:
            url = reverse("admin:workers_user_deactivate", args=[user.pk])
            return format_html('Active. <a class="deactivate" href="{}">Deactivate…</a>', url)
        url = reverse("admin:workers_user_reactivate", args=[user.pk])
        return format_html('Deactivated. <a class="reactivate" href="{}">Reactivate…</a>', url)

    def deactivate_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        return self._status_page(request, user_id, user_deactivate, "Deactivate", "Deactivated")

    def reactivate_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        return self._status_page(request, user_id, user_reactivate, "Reactivate", "Reactivated")

    def _status_page(self, request, user_id: int, service, title: str, done: str) -> HttpResponse:
        user = self._worker(request, user_id)  # WorkerBlockingMixin: the account, or 404/403
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service(user=user, by=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                form_add_refusal(form, exc)
            else:
                return self._done(request, user, f"{done} {user.username}.")
        return self._page(request, user, title, form, submit=title)


@admin.register(User)
class UserAdmin(AccountStatusMixin, WorkerBlockingMixin, DjangoUserAdmin):
    action_form = AccountActionForm
    actions = [deactivate_selected, reactivate_selected]
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
        "spam_score_high", "gold_check_at", "recheck_at", "agreement", "median_seconds",
        "updated_at",
    ]  # fmt: skip
    search_fields = ["worker__username", "project__name"]
    list_select_related = ["worker", "project"]
