"""Reads of guideline versions: the current one, a worker's view of it, diffs for the admin."""

from __future__ import annotations

import difflib
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.tasks.models import GuidelineAcknowledgement, GuidelineVersion, Project
from apps.workers.models import User
from apps.workers.web.rendering import guideline_html


def guideline_list_published(*, project: Project) -> QuerySet[GuidelineVersion]:
    """Published versions of a project, newest first."""
    return GuidelineVersion.objects.filter(project=project, published_at__isnull=False).order_by(
        "-number"
    )


def guideline_current(*, project: Project) -> GuidelineVersion | None:
    return guideline_list_published(project=project).select_related("author").first()


def guideline_for_worker(*, worker: User, project: Project) -> dict[str, Any] | None:
    """The current version as a worker reads it, and whether they acknowledged it."""
    guideline = guideline_current(project=project)
    if guideline is None:
        return None
    acknowledged = GuidelineAcknowledgement.objects.filter(
        guideline=guideline, worker=worker
    ).exists()
    return {
        "project": project.pk,
        "number": guideline.number,
        "text": guideline.text,
        "html": guideline_html(guideline.text),
        "change_note": guideline.change_note,
        "published_at": guideline.published_at,
        "acknowledged": acknowledged,
        "acknowledge_url": reverse("work-guideline-acknowledge", kwargs={"project_id": project.pk}),
    }


def guideline_diff_html(*, old: GuidelineVersion, new: GuidelineVersion) -> SafeString:
    """A side-by-side HTML table of the two texts. difflib escapes &, < and > in the lines
    it writes; the column headers are escaped here."""
    table = difflib.HtmlDiff(tabsize=4, wrapcolumn=80).make_table(
        old.text.splitlines(),
        new.text.splitlines(),
        fromdesc=escape(_name(old)),
        todesc=escape(_name(new)),
        context=False,
    )
    return mark_safe(table)  # difflib escaped the texts; the headers are escaped above


def guideline_diff_unified(*, old: GuidelineVersion, new: GuidelineVersion) -> str:
    """The same diff as plain unified-diff text (escape it when rendering)."""
    lines = difflib.unified_diff(
        old.text.splitlines(), new.text.splitlines(), _name(old), _name(new), lineterm=""
    )
    return "\n".join(lines)


def _name(guideline: GuidelineVersion) -> str:
    return f"version {guideline.number}" if guideline.number else f"draft #{guideline.pk}"
