"""The model dashboard for a project's owner (and admins)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.models.charts import learning_curve_svg, per_day_svg
from apps.models.selectors import dashboard
from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.web.views import requester_required


@requester_required
def model_dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    data = dashboard(project=project)
    return render(request, "mlmodels/dashboard.html", {"project": project, **charts(data), **data})


def charts(data: dict) -> dict[str, str]:
    """SVGs only when there is something to draw (inlined: no second request, no file)."""
    out = {}
    versions = sorted(data["versions"], key=lambda v: v.number)
    if versions:
        out["curve_svg"] = learning_curve_svg(
            [v.labels_seen for v in versions],
            [v.accuracy or 0.0 for v in versions],
            [v.promoted_at is not None for v in versions],
        )
    if data["per_day"]:
        out["per_day_svg"] = per_day_svg(
            [row["day"].isoformat() for row in data["per_day"]],
            [row["automation_rate"] or 0.0 for row in data["per_day"]],
            [row["answers"] for row in data["per_day"]],
        )
    return out
