"""The model dashboard for a project's owner (and admins)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.models.charts import learning_curve_svg, live_svg, per_day_svg
from apps.models.selectors import dashboard
from apps.tasks.selectors.overview import loop_now
from apps.tasks.selectors.projects import project_get_for_requester
from apps.tasks.web.views import requester_required

# ?refresh=N reloads the page every N seconds (a meta refresh: the CSP allows no inline
# script); `make demo-loop` prints the URL with it, so the dashboard fills in as the loop runs.
REFRESH_SECONDS = (5, 600)


@requester_required
def model_dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_get_for_requester(user=request.user, project_id=project_id)
    data = dashboard(project=project) | {"loop": loop_now(project=project)}
    context = {"project": project, "refresh": _refresh(request), **charts(data), **data}
    return render(request, "mlmodels/dashboard.html", context)


def _refresh(request: HttpRequest) -> int | None:
    raw = request.GET.get("refresh", "")
    if not raw.isascii() or not raw.isdigit():
        return None
    low, high = REFRESH_SECONDS
    return min(max(int(raw), low), high)


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
    loop = data.get("loop")
    if loop and (loop["answers"] or versions):
        start = loop["minutes"][0]
        points = [
            (int((v.created_at - start).total_seconds() // 60), v.accuracy or 0.0)
            for v in versions
            if v.created_at >= start
        ]
        out["live_svg"] = live_svg(
            [m.strftime("%H:%M") for m in loop["minutes"]],
            loop["answers_per_minute"],
            loop["blocked_by_minute"],
            points,
        )
    if data["per_day"]:
        out["per_day_svg"] = per_day_svg(
            [row["day"].isoformat() for row in data["per_day"]],
            [row["automation_rate"] or 0.0 for row in data["per_day"]],
            [row["answers"] for row in data["per_day"]],
        )
    return out
