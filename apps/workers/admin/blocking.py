"""Blocking one worker by hand and rejecting their answers, from the admin (issue 14).

Pages under the worker's admin page, /admin/workers/user/<id>/:
- block/: on one project or every project, with a reason the worker reads, optionally
  rejecting their answers there too (all, or a time range);
- unblock/: one active block or all of them, with a reason for the audit;
- reject/: on one project, all their answers, a time range, or the answers ticked in a list.
The Block list gets the same as actions (the reason typed in the action bar) and its "add"
button opens the block page for a worker named there; the review queue links each answer's
worker to the block page. Every write is a service call (apps/workers/services.py,
apps/workers/ledger.py): views only turn forms into calls and DomainErrors into form errors.
UserAdmin (accounts.py) mixes in WorkerBlockingMixin; BlockAdmin is registered here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.workers.ledger import MAX_REASON_LENGTH, AnswerChoice, ledger_reject_answers
from apps.workers.models import Block, LedgerEntry, User
from apps.workers.selectors import projects_worked
from apps.workers.services import (
    worker_block,
    worker_block_everywhere,
    worker_unblock,
    worker_unblock_everywhere,
)
from hitlcrowd.adminsite import ReadOnlyAdmin
from hitlcrowd.errors import DomainError
from hitlcrowd.pages import form_add_refusal

# The reject page lists this many of the worker's latest answers on the project to tick.
ANSWERS_LISTED = 200
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _project_field(required: bool) -> forms.ModelChoiceField:
    from apps.tasks.models import Project

    return forms.ModelChoiceField(
        queryset=Project.objects.order_by("name", "pk"),
        required=required,
        empty_label=None if required else "Every project, those created later too",
    )


def _reason_field(help_text: str, required: bool = True) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})
    return forms.CharField(
        max_length=MAX_REASON_LENGTH, required=required, help_text=help_text, widget=widget
    )


class _Range(forms.Form):
    since = forms.DateTimeField(required=False, widget=DATETIME, help_text="From (included).")
    until = forms.DateTimeField(required=False, widget=DATETIME, help_text="To (excluded).")

    def choice(self, which: str, answer_ids: tuple[int, ...] | None = None) -> AnswerChoice:
        data = self.cleaned_data
        if which == "range":
            return AnswerChoice(since=data.get("since"), until=data.get("until"))
        if which == "selected":
            return AnswerChoice(answer_ids=answer_ids or ())
        return AnswerChoice()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("which") == "range" and not (data.get("since") or data.get("until")):
            self.add_error("since", "Give the start or the end of the range (or both).")
        return data


class BlockForm(_Range):
    field_order = ["project", "reason", "which", "since", "until"]
    which = forms.ChoiceField(
        label="Their answers",
        widget=forms.RadioSelect,
        initial="none",
        choices=[
            ("none", "Leave their pay (the answers only leave the consensus)"),
            ("all", "Reject them all: reverse their pay"),
            ("range", "Reject those given in the range below: reverse their pay"),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"] = _project_field(required=False)
        self.fields["reason"] = _reason_field("Shown to the worker.")
        self.order_fields(self.field_order)


class UnblockForm(forms.Form):
    def __init__(self, *args: Any, worker: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active = Block.objects.filter(worker=worker, lifted_at__isnull=True)
        self.fields["block"] = forms.ModelChoiceField(
            queryset=active.select_related("project"),
            required=False,
            empty_label="Every active block",
        )
        self.fields["block"].label_from_instance = lambda b: f"{b.scope}: {b.reason}"
        self.fields["reason"] = _reason_field("For the audit trail.", required=False)


class RejectForm(_Range):
    field_order = ["project", "reason", "which", "since", "until", "answers"]
    which = forms.ChoiceField(
        label="Which answers",
        widget=forms.RadioSelect,
        initial="selected",
        choices=[
            ("selected", "The answers ticked below"),
            ("range", "Those given in the range"),
            ("all", "All their answers on the project"),
        ],
    )

    def __init__(self, *args: Any, answers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"] = _project_field(required=True)
        self.fields["project"].widget = forms.HiddenInput()
        self.fields["reason"] = _reason_field("Shown to the worker.")
        self.fields["answers"] = forms.TypedMultipleChoiceField(
            choices=answers, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
        )
        self.order_fields(self.field_order)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("which") == "selected" and not data.get("answers"):
            self.add_error("answers", "Tick the answers to reject.")
        return data


def _answer_rows(worker: User, project_id: int) -> QuerySet:
    """The worker's latest answers on the project with their item, for ticking (one query)."""
    from apps.tasks.models import Answer

    reversal = LedgerEntry.objects.filter(answer=OuterRef("pk"), kind=LedgerEntry.Kind.REVERSAL)
    return (
        Answer.objects.filter(worker=worker, project_id=project_id)
        .select_related("item")
        .annotate(rejected=Subquery(reversal.values("reason")[:1]))
        .order_by("-created_at", "-id")[:ANSWERS_LISTED]
    )


def _project_name(project_id: object) -> str:
    from apps.tasks.models import Project

    pk = str(project_id)
    name = (
        Project.objects.filter(pk=pk).values_list("name", flat=True).first()
        if pk.isdigit()
        else None
    )
    return name or "-"


def _answer_label(answer) -> str:
    status = f"rejected: {answer.rejected}" if answer.rejected is not None else "counted"
    if answer.rejected is None and answer.discard_reason:
        status = f"not counted ({answer.discard_reason})"
    when = answer.created_at.strftime("%Y-%m-%d %H:%M")
    return f"{when} · item {answer.item.external_id} · “{answer.label}” · {status}"


class WorkerBlockingMixin:
    """The worker's admin page: its blocks, and the block / unblock / reject pages."""

    def get_urls(self):
        view = self.admin_site.admin_view
        mine = [
            path("<int:user_id>/block/", view(self.block_view), name="workers_user_block"),
            path("<int:user_id>/unblock/", view(self.unblock_view), name="workers_user_unblock"),
            path("<int:user_id>/reject/", view(self.reject_view), name="workers_user_reject"),
        ]
        return mine + super().get_urls()

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "blocks"]

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and obj.is_worker:
            fieldsets.insert(1, ("Blocks and rejections", {"fields": ["blocks"]}))
        return fieldsets

    @admin.display(description="blocks")
    def blocks(self, worker: User) -> str:
        if worker.pk is None:
            return "-"
        active = Block.objects.filter(worker=worker, lifted_at__isnull=True)
        rows = active.select_related("project").order_by(F("project__name").asc(nulls_first=True))
        listed = format_html_join(
            "",
            "<li>{}: {} ({})</li>",
            ((b.scope, b.reason, "automatic" if b.automatic else "by hand") for b in rows),
        )
        links = format_html_join(
            " · ",
            '<a class="{}" href="{}">{}</a>',
            (
                (name, reverse(f"admin:workers_user_{name}", args=[worker.pk]), text)
                for name, text in [
                    ("block", "Block…"),
                    ("unblock", "Unblock…"),
                    ("reject", "Reject answers…"),
                ]
            ),
        )
        if not listed:
            return format_html('<p class="active-blocks">Not blocked.</p><p>{}</p>', links)
        return format_html('<ul class="active-blocks">{}</ul><p>{}</p>', listed, links)

    def _worker(self, request: HttpRequest, user_id: int) -> User:
        worker = get_object_or_404(User, pk=user_id)
        if not self.has_change_permission(request, worker):
            raise PermissionDenied
        return worker

    def _page(
        self, request, worker, title: str, form, submit: str, method: str = "post", **extra
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {worker.username}",
            "opts": self.model._meta,
            "original": worker,
            "worker": worker,
            "form": form,
            "submit": submit,
            "method": method,
            "change_url": reverse("admin:workers_user_change", args=[worker.pk]),
            **extra,
        }
        return TemplateResponse(request, "admin/workers/user/blocking.html", context)

    def _done(self, request: HttpRequest, worker: User, text: str) -> HttpResponse:
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:workers_user_change", args=[worker.pk]))

    def block_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        worker = self._worker(request, user_id)
        initial = {"project": request.GET.get("project")}
        form = BlockForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                blocks = _block(form, worker, request.user)
            except DomainError as exc:
                form_add_refusal(form, exc)
            else:
                names = ", ".join(block.scope for block in blocks)
                return self._done(request, worker, f"Blocked {worker.username} on {names}.")
        return self._page(request, worker, "Block", form, submit="Block")

    def unblock_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        worker = self._worker(request, user_id)
        form = UnblockForm(request.POST or None, worker=worker)
        if request.method == "POST" and form.is_valid():
            block, reason = form.cleaned_data["block"], form.cleaned_data["reason"]
            if block is None:
                lifted = worker_unblock_everywhere(worker=worker, by=request.user, reason=reason)
            else:
                lifted = [worker_unblock(block=block, by=request.user, reason=reason)]
            return self._done(request, worker, f"Lifted {len(lifted)} block(s).")
        return self._page(request, worker, "Unblock", form, submit="Unblock")

    def reject_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        worker = self._worker(request, user_id)
        chooser = forms.Form(request.GET or None)
        chooser.fields["project"] = _project_field(required=True)
        if request.method != "POST" and not chooser.is_valid():
            return self._page(
                request, worker, "Reject answers", chooser, submit="Choose", method="get"
            )
        data = request.POST or {"project": request.GET.get("project"), "which": "selected"}
        project_id = data.get("project")
        answers = list(_answer_rows(worker, project_id)) if str(project_id).isdigit() else []
        choices = [(a.pk, _answer_label(a)) for a in answers]
        form = RejectForm(request.POST or None, initial=data, answers=choices)
        if request.method == "POST" and form.is_valid():
            choice = form.choice(form.cleaned_data["which"], tuple(form.cleaned_data["answers"]))
            try:
                reversed_ = ledger_reject_answers(
                    worker=worker,
                    project=form.cleaned_data["project"],
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    choice=choice,
                )
            except DomainError as exc:
                form_add_refusal(form, exc)
            else:
                return self._done(request, worker, f"Rejected {reversed_} answer(s).")
        title = f"Reject answers on {_project_name(project_id)}"
        return self._page(request, worker, title, form, submit="Reject")


def _block(form: BlockForm, worker: User, by: User) -> list[Block]:
    data = form.cleaned_data
    project, reason, which = data["project"], data["reason"], data["which"]
    reject = None if which == "none" else form.choice(which)
    if project is None:
        return [worker_block_everywhere(worker=worker, reason=reason, by=by, reject=reject)]
    return [worker_block(worker=worker, project=project, reason=reason, by=by, reject=reject)]


# --- The Block list: actions with the reason in the action bar, "add" opens the block page ---


class BlockActionForm(ActionForm):
    reason = forms.CharField(
        required=False,
        max_length=MAX_REASON_LENGTH,
        help_text="Why: shown to the worker for a rejection, kept in the audit for an unblock.",
    )


@admin.action(description="Unblock (their discarded answers stay out of the consensus)")
def unblock_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Block]) -> None:
    reason = request.POST.get("reason", "")
    lifted = 0
    for block in queryset.filter(lifted_at__isnull=True):
        worker_unblock(block=block, by=request.user, reason=reason)
        lifted += 1
    modeladmin.message_user(request, f"Lifted {lifted} block(s).", messages.SUCCESS)


@admin.action(
    description="Reject all their answers on the project (every project for an "
    "account-wide block): reverse the pay"
)
def reject_answers_selected(modeladmin, request: HttpRequest, queryset: QuerySet[Block]) -> None:
    from apps.tasks.models import Project

    reason = request.POST.get("reason", "")
    reversed_ = 0
    for block in queryset.select_related("worker", "project"):
        projects = (
            [block.project]
            if block.project_id
            else Project.objects.filter(pk__in=projects_worked(worker=block.worker))
        )
        try:
            for project in projects:
                reversed_ += ledger_reject_answers(
                    worker=block.worker, project=project, by=request.user, reason=reason
                )
        except DomainError as exc:
            errors = exc.errors if isinstance(exc.errors, dict) else {}
            text = " ".join(str(t) for texts in errors.values() for t in texts) or exc.message
            modeladmin.message_user(request, f"Nothing rejected: {text}", messages.ERROR)
            return
    modeladmin.message_user(request, f"Reversed {reversed_} answer credit(s).", messages.SUCCESS)


class WorkerNameForm(forms.Form):
    worker = forms.CharField(label="Worker's username", max_length=150)

    def clean_worker(self) -> User:
        worker = User.objects.filter(username=self.cleaned_data["worker"].strip()).first()
        if worker is None or not worker.is_worker:
            raise forms.ValidationError("No worker with that username.")
        return worker


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are written by the services: the unblock and reject actions; "add" asks whom,
    then opens block/."""

    action_form = BlockActionForm
    actions = [unblock_selected, reject_answers_selected]
    list_display = ["worker", "project", "reason", "automatic", "created_at", "lifted_at"]
    list_filter = ["automatic", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["worker__username", "project__name", "reason"]
    list_select_related = ["worker", "project"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("workers.change_user")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WorkerNameForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            url = reverse("admin:workers_user_block", args=[form.cleaned_data["worker"].pk])
            project = request.GET.get("project__id__exact", "")
            return HttpResponseRedirect(f"{url}?project={project}" if project.isdigit() else url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Block a worker",
            "opts": self.model._meta,
            "form": form,
            "submit": "Next",
            "method": "post",
            "change_url": reverse("admin:workers_block_changelist"),
        }
        return TemplateResponse(request, "admin/workers/user/blocking.html", context)


def worker_block_link(worker_id: int, project_id: int) -> str:
    """A link to the worker's block page with the project chosen (the review queue's)."""
    url = reverse("admin:workers_user_block", args=[worker_id])
    return format_html('<a class="block-worker" href="{}?project={}">block…</a>', url, project_id)
