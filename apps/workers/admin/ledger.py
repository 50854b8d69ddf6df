"""The rewards ledger in the admin: entries and the budget checkpoint are history (view-only);
a bonus is granted on its own page, grant-bonus/ (linked from the list), through
ledger_grant_bonus."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.workers.ledger import ledger_deposit, ledger_grant_bonus
from apps.workers.models import Deposit, LedgerCheckpoint, LedgerEntry, User
from hitlcrowd.adminsite import ReadOnlyAdmin
from hitlcrowd.errors import DomainError
from hitlcrowd.pages import form_add_refusal


class BonusForm(forms.ModelForm):
    class Meta:
        model = LedgerEntry
        fields = ["worker", "project", "amount", "reason"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.kind = LedgerEntry.Kind.BONUS


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """History: entries are neither added, changed nor deleted here. A bonus is granted on
    its own page (grant-bonus/, linked from the list) through ledger_grant_bonus."""

    form = BonusForm
    list_display = ["worker", "project", "kind", "amount", "answer", "reason", "created_by"]
    list_display += ["created_at"]
    list_filter = ["kind"]
    search_fields = ["worker__username", "project__name", "reason"]
    list_select_related = ["worker", "project", "created_by"]
    raw_id_fields = ["worker", "project"]
    show_full_result_count = False

    def get_urls(self):
        view = self.admin_site.admin_view(self.grant_bonus_view)
        grant = path("grant-bonus/", view, name="workers_ledgerentry_grant_bonus")
        return [grant, *super().get_urls()]

    def grant_bonus_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("workers.add_ledgerentry"):
            raise PermissionDenied
        form = self.get_form(request, None, change=False, fields=BonusForm.Meta.fields)(
            request.POST or None
        )
        form.fields["amount"].help_text = "The bonus, a positive decimal."
        if request.method == "POST" and form.is_valid():
            try:
                entry = ledger_grant_bonus(**form.cleaned_data, by=request.user)
            except DomainError as exc:
                form_add_refusal(form, exc)
            else:
                self.message_user(request, f"Granted {entry.amount} to {entry.worker}.")
                return HttpResponseRedirect(reverse("admin:workers_ledgerentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Grant a bonus",
            "form": form,
            "media": self.media + form.media,
        }
        template = "admin/workers/ledgerentry/grant_bonus.html"
        return TemplateResponse(request, template, context)


@admin.register(LedgerCheckpoint)
class LedgerCheckpointAdmin(ReadOnlyAdmin):
    """Written by the budget check only; shown for diagnosis."""

    list_display = ["project", "upto_id", "amount", "updated_at"]
    list_select_related = ["project"]


class DepositForm(forms.ModelForm):
    class Meta:
        model = Deposit
        fields = ["requester", "amount", "reason"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "requester" in self.fields:
            self.fields["requester"].queryset = User.objects.filter(role=User.Role.REQUESTER)


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    """A requester's prepaid funds come in here (through ledger_deposit); a deposit is never
    changed or deleted (a correction is a later feature: docs/mturk.md)."""

    form = DepositForm
    list_display = ["requester", "amount", "reason", "created_by", "created_at"]
    search_fields = ["requester__username", "reason"]
    list_select_related = ["requester", "created_by"]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Deposit, form, change: bool) -> None:
        data = form.cleaned_data
        saved = ledger_deposit(
            requester=data["requester"],
            amount=data["amount"],
            reason=data["reason"],
            by=request.user,
        )
        obj.pk, obj.created_at = saved.pk, saved.created_at
