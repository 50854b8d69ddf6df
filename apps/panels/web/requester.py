"""The requester's side of panel entry links: create and revoke them from the project page
(its "Panel entry links" section), change one on its own page; the export is the API's CSV,
linked from there."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.panels.selectors import panel_link_get_for_project
from apps.panels.services import panel_link_create, panel_link_revoke, panel_link_update
from apps.panels.web.forms import PanelLinkForm
from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.web.project_page import render_project_page
from apps.tasks.web.views import requester_required
from hitlcrowd.errors import InvalidInput
from hitlcrowd.pages import form_add_refusal


@requester_required
@require_POST
def link_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    form = PanelLinkForm(request.POST)
    if form.is_valid():
        try:
            link = panel_link_create(project=project, by=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form_add_refusal(form, exc)
        else:
            messages.success(
                request, f"Panel link “{link.name}” created: give its URL to the panel."
            )
            return redirect(_section(project.pk))
    return render_project_page(request, project, status=400, panel_form=form)


@requester_required
@require_http_methods(["GET", "POST"])
def link_edit(request: HttpRequest, project_id: int, link_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    link = panel_link_get_for_project(project=project, link_id=link_id)
    # The form validates into its own copy of the link: the page's title keeps the saved name.
    editable = panel_link_get_for_project(project=project, link_id=link_id)
    form = PanelLinkForm(request.POST if request.method == "POST" else None, instance=editable)
    if request.method == "POST" and form.is_valid():
        try:
            saved = panel_link_update(link=link, by=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            form_add_refusal(form, exc)
        else:
            messages.success(request, f"Panel link “{saved.name}” saved.")
            return redirect(_section(project.pk))
    context = {"project": project, "link": link, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "panels/link_edit.html", context, status=status)


@requester_required
@require_POST
def link_revoke(request: HttpRequest, project_id: int, link_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    link = panel_link_get_for_project(project=project, link_id=link_id)
    panel_link_revoke(link=link, by=request.user)
    messages.success(request, f"Panel link “{link.name}” revoked: nobody enters through it now.")
    return redirect(_section(project.pk))


def _section(project_id: int) -> str:
    return reverse("requester-project", kwargs={"project_id": project_id}) + "#panel-links"
