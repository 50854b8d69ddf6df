"""Requester pages: projects, batch uploads and their progress (session auth, server-rendered).

Reads go through the selectors, writes through the services, exactly as the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.models.selectors import auto_label_preview, auto_label_threshold
from apps.panels.selectors import panel_entry_url, panel_link_list_for_project
from apps.panels.web.forms import PanelLinkForm
from apps.tasks.errors import BatchRejected
from apps.tasks.exports import FORMAT_TITLES
from apps.tasks.models import Item, Project
from apps.tasks.selectors.batches import (
    batch_get_for_requester,
    batch_list_for_requester,
    batch_status,
    batch_status_many,
)
from apps.tasks.selectors.consensus import review_tradeoff
from apps.tasks.selectors.items import item_counts_by_project
from apps.tasks.selectors.projects import (
    project_get_for_requester,
    project_held_count,
    project_item_counts,
    project_list_for_requester,
)
from apps.tasks.services.batches import batch_import
from apps.tasks.services.projects import project_create, project_update
from apps.tasks.web.forms import (
    BlockingForm,
    ProjectForm,
    ThresholdForm,
    UploadForm,
    VisibilityForm,
)
from apps.workers.selectors import block_check_schedule, budget_status, spend_on_discarded
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError, InvalidInput

BATCHES_SHOWN = 50


def requester_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous: to the login page; workers: 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_requester:
            raise PermissionDenied("These pages are for requesters.")
        return view(request, *args, **kwargs)

    return wrapper


@requester_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = list(project_list_for_requester(user=request.user))
    counts = item_counts_by_project(projects=projects)
    rows = [(p, _labeled(counts[p.pk]), sum(counts[p.pk].values())) for p in projects]
    context = {"rows": rows, "state_labels": Item.State.labels}
    return render(request, "tasks/project_list.html", context)


@requester_required
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(owner=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            _add_errors(form, exc.as_validation_error())
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("requester-project", project_id=project.pk)
    return render(request, "tasks/project_form.html", {"form": form})


@requester_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    return _render_project(request, project, UploadForm(), status=200)


@requester_required
@require_POST
def project_threshold(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "The accuracy must be between 0.5 and 0.999, the threshold between 0 and 1.",
        )
        return redirect("requester-project", project_id=project.pk)
    fields = form.settings()
    preview = auto_label_preview(
        project=project,
        accuracy=fields["auto_label_accuracy"],
        confidence_threshold=fields.get("confidence_threshold"),
    )
    if preview["reopened"] and not form.cleaned_data["confirm"]:
        # Say how many auto-labels go back to people before doing it.
        pending = {"fields": fields, **preview}
        return _render_project(request, project, UploadForm(), status=200, pending=pending)
    project = project_update(project=project, by=request.user, **fields)
    reopened = getattr(project, "auto_labels_reopened", 0)
    if project.auto_label_accuracy is not None:
        text = f"Auto-labels at accuracy {project.auto_label_accuracy}"
    else:
        text = f"Auto-label threshold set to {project.confidence_threshold}"
    messages.success(request, f"{text}; {reopened} auto-labeled item(s) sent back to people.")
    return redirect("requester-project", project_id=project.pk)


@requester_required
@require_POST
def project_blocking(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = BlockingForm(request.POST, instance=Project.objects.get(pk=project.pk))
    if not form.is_valid():
        return _render_project(request, project, UploadForm(), status=400, blocking_form=form)
    fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
    try:
        project_update(project=project, by=request.user, **fields)
    except InvalidInput as exc:
        _add_errors(form, exc.as_validation_error())
        return _render_project(request, project, UploadForm(), status=400, blocking_form=form)
    messages.success(request, "Blocking rules saved.")
    return redirect("requester-project", project_id=project.pk)


@requester_required
@require_POST
def project_visibility(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = VisibilityForm(request.POST, project=project)
    if form.is_valid():
        fields = {
            "visibility": form.cleaned_data["visibility"],
            "groups": form.cleaned_data["groups"],
        }
        try:
            project_update(project=project, by=request.user, **fields)
        except InvalidInput as exc:
            _add_errors(form, exc.as_validation_error())
    if form.errors:
        project.refresh_from_db()
        return _render_project(request, project, UploadForm(), status=400, visibility_form=form)
    messages.success(request, "Visibility saved.")
    return redirect("requester-project", project_id=project.pk)


@requester_required
@require_POST
def batch_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_project(request, project, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = batch_import(
            project=project,
            user=request.user,
            stream=upload,
            file_name=upload.name,
            fmt=form.cleaned_data["format"] or None,
            model_version=form.cleaned_data["model_version"],
        )
    except BatchRejected as exc:
        context = {"project": project, "rejection": exc, "batch": exc.batch}
        return render(request, "tasks/upload_rejected.html", context, status=400)
    except DomainError as exc:
        form.add_error("file", exc.message)
        return _render_project(request, project, form, status=domain_status(exc))
    if result.replayed:
        messages.info(request, "This file was already imported: nothing new was created.")
    else:
        messages.success(request, f"Imported {result.batch.created_count} item(s).")
    return redirect("requester-batch", batch_id=result.batch.pk)


@requester_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_get_for_requester(user=request.user, batch_id=batch_id)
    status = batch_status(batch=batch)
    context = {"batch": batch, "project": batch.project, "status": _with_percent(status)}
    return render(request, "tasks/batch_detail.html", context)


def _render_project(
    request: HttpRequest,
    project: Project,
    upload_form: UploadForm,
    *,
    status: int,
    pending: dict | None = None,
    blocking_form: BlockingForm | None = None,
    panel_form: PanelLinkForm | None = None,
    visibility_form: VisibilityForm | None = None,
) -> HttpResponse:
    batches = list(batch_list_for_requester(user=request.user, project=project)[:BATCHES_SHOWN])
    statuses = batch_status_many(batches=batches)
    context = {
        "project": project,
        "counts": _labeled(project_item_counts(project=project)),
        "held_for_model": project_held_count(project=project),
        "batches": [(b, _with_percent(statuses[b.pk])) for b in batches],
        "upload_form": upload_form,
        "export_formats": list(FORMAT_TITLES.items()),
        "budget": budget_status(project=project),
        "spent_discarded": spend_on_discarded(project=project),
        "auto_label_threshold": auto_label_threshold(project=project),
        "pending": pending,
        "blocking_form": blocking_form or BlockingForm(instance=project),
        "visibility_form": visibility_form or VisibilityForm(project=project),
        "block_check_schedule": block_check_schedule(),
        "tradeoff": review_tradeoff(project=project),
        "panel_links": [
            (link, panel_entry_url(link=link))
            for link in panel_link_list_for_project(project=project)
        ],
        "panel_form": panel_form or PanelLinkForm(),
    }
    return render(request, "tasks/project_detail.html", context, status=status)


def _labeled(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    return [(value, label, counts.get(value, 0)) for value, label in Item.State.choices]


def _with_percent(status: dict) -> dict:
    items = sum(status["by_state"].values())
    return {
        **status,
        "items": items,
        "percent": round(100 * status["done"] / items) if items else 0,
    }


def _add_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)
