"""Requester pages: projects, batch uploads and their progress (session auth, server-rendered).

Reads go through the selectors, writes through the services, exactly as the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.models.selectors import auto_label_preview
from apps.tasks.errors import BatchRejected
from apps.tasks.models import Item, Project
from apps.tasks.selectors.batches import batch_get_for_requester, batch_status
from apps.tasks.selectors.items import item_counts_by_project
from apps.tasks.selectors.projects import project_get_for_requester, project_list_for_requester
from apps.tasks.services.batches import batch_import
from apps.tasks.services.projects import project_create, project_update
from apps.tasks.web.forms import (
    BlockingForm,
    ProjectForm,
    ThresholdForm,
    UploadForm,
    VisibilityForm,
)
from apps.tasks.web.project_page import labeled_counts, render_project_page, with_percent
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError, InvalidInput
from hitlcrowd.pages import form_add_refusal


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
    rows = [(p, labeled_counts(counts[p.pk]), sum(counts[p.pk].values())) for p in projects]
    context = {"rows": rows, "state_labels": Item.State.labels}
    return render(request, "tasks/project_list.html", context)


@requester_required
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(owner=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form_add_refusal(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("requester-project", project_id=project.pk)
    return render(request, "tasks/project_form.html", {"form": form})


@requester_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    return render_project_page(request, project)


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
        return render_project_page(request, project, pending=pending)
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
        return render_project_page(request, project, status=400, blocking_form=form)
    fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
    try:
        project_update(project=project, by=request.user, **fields)
    except InvalidInput as exc:
        form_add_refusal(form, exc)
        return render_project_page(request, project, status=400, blocking_form=form)
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
            form_add_refusal(form, exc)
    if form.errors:
        project.refresh_from_db()
        return render_project_page(request, project, status=400, visibility_form=form)
    messages.success(request, "Visibility saved.")
    return redirect("requester-project", project_id=project.pk)


@requester_required
@require_POST
def batch_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_project_page(request, project, upload_form=form, status=400)
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
        return render_project_page(request, project, upload_form=form, status=domain_status(exc))
    if result.replayed:
        messages.info(request, "This file was already imported: nothing new was created.")
    else:
        messages.success(request, f"Imported {result.batch.created_count} item(s).")
    return redirect("requester-batch", batch_id=result.batch.pk)


@requester_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_get_for_requester(user=request.user, batch_id=batch_id)
    status = batch_status(batch=batch)
    context = {"batch": batch, "project": batch.project, "status": with_percent(status)}
    return render(request, "tasks/batch_detail.html", context)
