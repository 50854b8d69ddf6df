"""The requester's project page, rendered in one place: its own views (apps/tasks/web/views.py)
and the sections other apps add to it (apps/panels/web/requester.py) show it again with the
form that failed, bound and open, and the status the refusal deserves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.models.selectors import auto_label_threshold
from apps.mturk.forms import LabelFieldForm
from apps.mturk.selectors import hit_type_of_project
from apps.panels.selectors import panel_entry_url, panel_link_list_for_project
from apps.panels.web.forms import PanelLinkForm
from apps.tasks.exports import FORMAT_TITLES
from apps.tasks.models import Item, Project
from apps.tasks.selectors.batches import batch_list_for_requester, batch_status_many
from apps.tasks.selectors.consensus import review_tradeoff
from apps.tasks.selectors.projects import project_held_count, project_item_counts
from apps.tasks.web.forms import BlockingForm, UploadForm, VisibilityForm
from apps.workers.selectors import block_check_schedule, budget_status, spend_on_discarded

BATCHES_SHOWN = 50


def render_project_page(
    request: HttpRequest,
    project: Project,
    *,
    status: int = 200,
    upload_form: UploadForm | None = None,
    pending: dict | None = None,
    blocking_form: BlockingForm | None = None,
    panel_form: PanelLinkForm | None = None,
    visibility_form: VisibilityForm | None = None,
    label_field_form: LabelFieldForm | None = None,
) -> HttpResponse:
    """The project page; a form given replaces that section's blank one. Scope `project`
    to the requester first (project_get_for_requester)."""
    batches = list(batch_list_for_requester(user=request.user, project=project)[:BATCHES_SHOWN])
    statuses = batch_status_many(batches=batches)
    context = {
        "project": project,
        "counts": labeled_counts(project_item_counts(project=project)),
        "held_for_model": project_held_count(project=project),
        "batches": [(b, with_percent(statuses[b.pk])) for b in batches],
        "upload_form": upload_form or UploadForm(),
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
        **_mturk_section(project, label_field_form),
    }
    return render(request, "tasks/project_detail.html", context, status=status)


def _mturk_section(project: Project, form: LabelFieldForm | None) -> dict:
    """An MTurk project's HIT type and its categorical-field form (apps/mturk/views.py)."""
    hit_type = hit_type_of_project(project=project)
    if hit_type is None:
        return {"hit_type": None}
    initial = {"field": hit_type.label_field, "labels": "\n".join(project.labels)}
    return {"hit_type": hit_type, "label_field_form": form or LabelFieldForm(initial=initial)}


def labeled_counts(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(state, its label, items in it) for every item state, in the states' order."""
    return [(value, label, counts.get(value, 0)) for value, label in Item.State.choices]


def with_percent(status: dict) -> dict:
    """A batch's status (batch_status) with its item total and the percentage done."""
    items = sum(status["by_state"].values())
    return {
        **status,
        "items": items,
        "percent": round(100 * status["done"] / items) if items else 0,
    }
