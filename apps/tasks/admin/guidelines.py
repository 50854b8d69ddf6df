"""Guidelines in the admin: write a draft, preview it rendered, publish it (choosing what
happens to items answered under older versions), and diff any two versions of a project.

A published version is read-only here and in the model. Publishing goes through
`apps.tasks.services.guidelines.guideline_publish`, which numbers, audits and re-queues.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.tasks.models import GuidelineAcknowledgement, GuidelineVersion
from apps.tasks.selectors.guidelines import guideline_diff_html
from apps.tasks.services.guidelines import (
    Requeue,
    guideline_draft_create,
    guideline_publish,
    guideline_requeue_count,
)
from apps.workers.web.rendering import guideline_html
from hitlcrowd.adminsite import ReadOnlyAdmin
from hitlcrowd.errors import InvalidInput
from hitlcrowd.pages import form_add_refusal

FROZEN = ["project", "number", "text", "change_note", "author", "published_at", "created_at"]


class PublishForm(forms.Form):
    requeue = forms.ChoiceField(
        choices=Requeue.CHOICES,
        initial=Requeue.KEEP,
        widget=forms.RadioSelect,
        label="Items answered under older versions",
    )
    labels = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For the label choice: the labels this change is about.",
    )

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["labels"].choices = [(label, label) for label in labels]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("requeue") == Requeue.LABELS and not data.get("labels"):
            self.add_error("labels", "Name the labels whose items go back to the queue.")
        return data


class DiffForm(forms.Form):
    other = forms.ModelChoiceField(queryset=GuidelineVersion.objects.none(), label="Compare with")


@admin.register(GuidelineVersion)
class GuidelineVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "project",
        "number",
        "status",
        "change_note",
        "author",
        "published_at",
    ]
    list_filter = [("published_at", admin.EmptyFieldListFilter), "project"]
    search_fields = ["project__name", "change_note"]
    list_select_related = ["project", "author"]
    raw_id_fields = ["project"]
    fields = ["project", "text", "change_note"]
    ordering = ["project", "-published_at", "-id"]

    @admin.display(description="status")
    def status(self, guideline: GuidelineVersion) -> str:
        return "published" if guideline.is_published else "draft"

    def get_fields(self, request: HttpRequest, obj: GuidelineVersion | None = None) -> list[str]:
        return FROZEN if obj is not None and obj.is_published else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is not None and obj.is_published:
            return FROZEN
        return ["project"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_published)

    def save_model(self, request: HttpRequest, obj: GuidelineVersion, form, change: bool) -> None:
        if change:
            obj.save()  # the model refuses changes to a published version
            return
        created = guideline_draft_create(
            project=obj.project, text=obj.text, change_note=obj.change_note, author=request.user
        )
        obj.pk, obj.created_at = created.pk, created.created_at

    def get_urls(self):
        extra = [
            path("<int:pk>/preview/", self._wrap(self.preview_view), name=self._name("preview")),
            path("<int:pk>/publish/", self._wrap(self.publish_view), name=self._name("publish")),
            path("<int:pk>/diff/", self._wrap(self.diff_view), name=self._name("diff")),
        ]
        return extra + super().get_urls()

    def _wrap(self, view):
        return self.admin_site.admin_view(view)

    def _name(self, view: str) -> str:
        return f"tasks_guidelineversion_{view}"

    def _get(self, request: HttpRequest, pk: int, *, change: bool = False) -> GuidelineVersion:
        guideline = get_object_or_404(GuidelineVersion.objects.select_related("project"), pk=pk)
        allowed = self.has_change_permission if change else self.has_view_permission
        if not allowed(request, guideline):
            raise PermissionDenied
        return guideline

    def _context(self, request: HttpRequest, guideline: GuidelineVersion, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": guideline,
            "title": title,
            "change_url": reverse("admin:tasks_guidelineversion_change", args=[guideline.pk]),
        }

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        guideline = self._get(request, pk)
        context = self._context(request, guideline, f"Preview of {guideline}")
        context["html"] = guideline_html(guideline.text)
        return TemplateResponse(request, "admin/tasks/guidelineversion/preview.html", context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        guideline = self._get(request, pk, change=True)
        if guideline.is_published:
            self.message_user(request, f"{guideline} is already published.", messages.WARNING)
            change_url = reverse("admin:tasks_guidelineversion_change", args=[guideline.pk])
            return HttpResponseRedirect(change_url)
        form = PublishForm(request.POST or None, labels=list(guideline.project.labels))
        context = self._context(request, guideline, f"Publish {guideline}")
        if request.method == "POST" and form.is_valid():
            step = self._publish if _confirmed(request, form) else self._confirm_step
            response = step(request, guideline, form, context)
            if response is not None:
                return response
        context["form"] = form
        context["html"] = guideline_html(guideline.text)
        return TemplateResponse(request, "admin/tasks/guidelineversion/publish.html", context)

    def _confirm_step(
        self, request: HttpRequest, guideline: GuidelineVersion, form: PublishForm, context: dict
    ) -> HttpResponse | None:
        """How many items the re-queue takes back, counted by the publish's own query, before
        anything happens; publishing waits for the confirmation."""
        try:
            count = guideline_requeue_count(
                project=guideline.project,
                requeue=form.cleaned_data["requeue"],
                labels=form.cleaned_data["labels"],
            )
        except InvalidInput as exc:
            form_add_refusal(form, exc)
            return None
        choice = dict(Requeue.CHOICES)[form.cleaned_data["requeue"]]
        context.update(form=form, requeue_count=count, choice=choice)
        template = "admin/tasks/guidelineversion/publish_confirm.html"
        return TemplateResponse(request, template, context)

    def _publish(
        self, request: HttpRequest, guideline: GuidelineVersion, form: PublishForm, context: dict
    ) -> HttpResponse | None:
        try:
            result = guideline_publish(
                guideline=guideline,
                by=request.user,
                requeue=form.cleaned_data["requeue"],
                labels=form.cleaned_data["labels"],
            )
        except InvalidInput as exc:
            form_add_refusal(form, exc)
            return None
        self.message_user(
            request,
            f"Published version {result.guideline.number}; {result.requeued} item(s) re-queued.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(context["change_url"])

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        guideline = self._get(request, pk)
        others = GuidelineVersion.objects.filter(project=guideline.project_id).exclude(pk=pk)
        form = DiffForm(request.GET or None)
        form.fields["other"].queryset = others.select_related("project").order_by("-number")
        other = form.cleaned_data["other"] if form.is_valid() else _default_other(guideline)
        context = self._context(request, guideline, f"Differences of {guideline}")
        context["form"] = form
        context["other"] = other
        if other is not None:
            old, new = sorted([other, guideline], key=_order)
            context["diff"] = guideline_diff_html(old=old, new=new)
        return TemplateResponse(request, "admin/tasks/guidelineversion/diff.html", context)


def _confirmed(request: HttpRequest, form: PublishForm) -> bool:
    """Keeping the items needs no confirmation; a re-queue needs the confirmation step's."""
    return form.cleaned_data["requeue"] == Requeue.KEEP or "confirm" in request.POST


def _order(guideline: GuidelineVersion) -> tuple[int, int]:
    """Older first: published by number, drafts after every published version."""
    return (guideline.number or 10**9, guideline.pk)


def _default_other(guideline: GuidelineVersion) -> GuidelineVersion | None:
    """The version before this one; for a draft, the current version."""
    published = GuidelineVersion.objects.filter(
        project=guideline.project_id, published_at__isnull=False
    ).exclude(pk=guideline.pk)
    if guideline.number:
        published = published.filter(number__lt=guideline.number)
    return published.order_by("-number").first()


@admin.register(GuidelineAcknowledgement)
class GuidelineAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["guideline", "worker", "acknowledged_at"]
    list_filter = ["guideline__project"]
    search_fields = ["worker__username"]
    list_select_related = ["guideline__project", "worker"]
    show_full_result_count = False
