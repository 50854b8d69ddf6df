"""Worker pages: projects open to me, the task page, my history and earnings.

Thin views over the assignment services and selectors: every write is one service call, and
what a worker sees of a task comes only from `task_for_worker` (never gold, never other
workers' answers). Forms follow POST-redirect-GET; a refusal from a service (a DomainError)
is shown to the worker as its message, with the status the API would give it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.mturk.services.accept import hit_accept
from apps.panels.services import panel_participant_finish
from apps.tasks.errors import GuidelineNotAcknowledged
from apps.tasks.models import Assignment, Project
from apps.tasks.selectors.assignments import (
    HIDDEN_PROJECTS,
    answer_for_worker,
    answer_list_for_worker,
    assignment_get_for_worker,
    assignment_live_for_worker,
    ledger_notes_for_worker,
    project_list_open_to_worker,
    qualification_state_of,
    task_for_worker,
    worker_earnings,
)
from apps.tasks.selectors.guidelines import guideline_for_worker
from apps.tasks.services.assignments.claim import assignment_claim
from apps.tasks.services.assignments.skip import assignment_skip
from apps.tasks.services.assignments.submit import assignment_submit
from apps.tasks.services.guidelines import guideline_acknowledge
from apps.workers.selectors import block_notices_for_worker
from apps.workers.web.mturk_task import render_mturk_hits, render_mturk_task
from apps.workers.web.rendering import guideline_html, payload_view
from hitlcrowd.api import domain_status
from hitlcrowd.errors import DomainError, InvalidInput
from hitlcrowd.params import ascii_int

HOTKEYS = "123456789"
DIGIT_KEYS = "0123456789"
HISTORY_PAGE_SIZE = 25
MAX_REASON_LENGTH = 500
QUALIFICATION_TEXT = {
    "not_started": "a short test on known items comes first",
    "testing": "test in progress",
    "passed": "passed",
    "failed": "not passed: no tasks here",
}

View = Callable[..., HttpResponse]


def worker_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-workers get 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_worker and request.user.is_active):
            raise PermissionDenied("These pages are for workers.")
        return view(request, *args, **kwargs)

    # Marks a worker page for tests/tasks/test_private_projects.py, which walks every one.
    wrapper.worker_page = True  # type: ignore[attr-defined]
    return wrapper


@require_GET
@worker_required
def projects(request: HttpRequest) -> HttpResponse:
    rows = []
    blocks = block_notices_for_worker(worker=request.user)
    for project in project_list_open_to_worker(worker=request.user):
        state = qualification_state_of(project)
        note = QUALIFICATION_TEXT.get(state)
        blocked = blocks.on(project)
        rows.append({"project": project, "state": state, "note": note, "blocked": blocked})
    return render(request, "workers/projects.html", {"rows": rows})


@require_GET
@worker_required
def task(request: HttpRequest, project_id: int) -> HttpResponse:
    """Show my live lease on this project, or take a new one. A panel participant with no
    task to come here (quota given, blocked, no work left) goes to their completion page."""
    project = get_object_or_404(project_list_open_to_worker(worker=request.user), pk=project_id)
    if project.kind == Project.Kind.MTURK:  # a preview first; the accept takes the lease
        return render_mturk_task(request, project)
    context: dict[str, Any] = {"project": project}
    try:
        assignment = assignment_live_for_worker(
            worker=request.user, project=project
        ) or assignment_claim(worker=request.user, project=project)
    except GuidelineNotAcknowledged:
        # The guideline with an acknowledge button instead of a task.
        context["unread"] = guideline_for_worker(worker=request.user, project=project)
        return render(request, "workers/task.html", context)
    except DomainError as exc:
        if done := panel_participant_finish(worker=request.user, project=project, refusal=exc):
            return redirect("panel-done", token=done.link.token)
        context["refusal"] = exc.message
        return render(request, "workers/task.html", context, status=domain_status(exc))
    if assignment is None:
        if done := panel_participant_finish(worker=request.user, project=project, refusal=None):
            return redirect("panel-done", token=done.link.token)
        return render(request, "workers/task.html", context)
    context.update(_task_context(task_for_worker(assignment=assignment)))
    return render(request, "workers/task.html", context)


@require_GET
@worker_required
def mturk_hits(request: HttpRequest, project_id: int) -> HttpResponse:
    """The HITs of an MTurk project the worker could accept now, to pick one to preview."""
    project = get_object_or_404(
        project_list_open_to_worker(worker=request.user).filter(kind=Project.Kind.MTURK),
        pk=project_id,
    )
    return render_mturk_hits(request, project)


@require_POST
@worker_required
def accept(request: HttpRequest, project_id: int) -> HttpResponse:
    """Accept an MTurk project's HIT: the claim's lease, for the HIT type's duration, on the
    HIT previewed (`hit`, its HITId; without it, the next free one). A refusal says why and
    the task page previews the next HIT."""
    project = get_object_or_404(project_list_open_to_worker(worker=request.user), pk=project_id)
    hit_id = request.POST.get("hit", "").strip()
    try:
        if hit_id:
            assignment = hit_accept(worker=request.user, hit_id=hit_id, project_id=project.pk)
        else:
            assignment = assignment_claim(worker=request.user, project=project)
    except DomainError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        if assignment is None:
            messages.info(request, "That HIT was just taken: nothing is left to accept here.")
    return redirect("worker-task", project_id=project.pk)


@require_POST
@worker_required
def acknowledge(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(project_list_open_to_worker(worker=request.user), pk=project_id)
    try:
        number = ascii_int(request.POST.get("version", "").strip())
        if number is None:
            raise ValueError("not a version number")
        guideline_acknowledge(worker=request.user, project=project, number=number)
    except (ValueError, DomainError):
        messages.error(request, "That version of the guideline could not be acknowledged.")
    else:
        messages.success(request, f"Thanks: guideline version {number} acknowledged.")
    return redirect("worker-task", project_id=project.pk)


@require_POST
@worker_required
def submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = assignment_get_for_worker(worker=request.user, assignment_id=assignment_id)
    label = request.POST.get("label", "")
    try:
        seconds = _seconds_spent(request.POST.get("seconds_spent", ""), assignment)
        assignment_submit(
            worker=request.user, assignment_id=assignment.pk, label=label, seconds_spent=seconds
        )
    except DomainError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, f"Saved “{label}”. Here is the next one.")
    return redirect("worker-task", project_id=assignment.project_id)


@require_POST
@worker_required
def skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = assignment_get_for_worker(worker=request.user, assignment_id=assignment_id)
    reason = request.POST.get("reason", "").strip()[:MAX_REASON_LENGTH]
    try:
        assignment_skip(worker=request.user, assignment_id=assignment.pk, reason=reason)
    except DomainError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.info(request, "Skipped. Here is the next one.")
    return redirect("worker-task", project_id=assignment.project_id)


@require_GET
@worker_required
def history(request: HttpRequest) -> HttpResponse:
    answers = answer_list_for_worker(worker=request.user)
    page = Paginator(answers, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [answer_for_worker(answer=answer) for answer in page.object_list]
    return render(request, "workers/history.html", {"page": page, "rows": rows})


@require_GET
@worker_required
def earnings(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            **row,
            "amount_text": money(row["amount"]),
            "bonuses_text": money(row["bonuses"]),
            "reversals_text": money(row["reversals"]),
        }
        for row in worker_earnings(worker=request.user)
    ]
    total = sum((Decimal(row["amount"]) for row in rows), Decimal(0))
    notes = [
        {**note, "amount_text": money(note["amount"])}
        for note in ledger_notes_for_worker(worker=request.user)
    ]
    context = {
        "rows": rows,
        "notes": notes,
        "total": total,
        "total_text": money(total),
        "answers": sum(row["answers"] for row in rows),
        "hidden_projects": HIDDEN_PROJECTS,
    }
    return render(request, "workers/earnings.html", context)


def _task_context(task: dict[str, Any]) -> dict[str, Any]:
    guideline = task.get("guideline")
    left = (task["lease_expires_at"] - timezone.now()).total_seconds()
    return {
        "task": task,
        "payload": payload_view(task["item"]["payload"]),
        "buttons": [
            {"label": label, "key": key}
            for label, key in zip(task["labels"], hotkeys(task["labels"]), strict=True)
        ],
        "guideline": guideline,
        "guideline_html": guideline_html(guideline["text"]) if guideline else "",
        "seconds_left": max(0, math.floor(left)),
    }


def money(amount: Decimal) -> str:
    """Two decimals, more only when a reward has fractions of a cent (never rounded away)."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == amount else f"{amount.normalize():f}"


def hotkeys(labels: list[str]) -> list[str]:
    """Keys 1-9 by position; labels that are themselves single digits ("0".."9") are their
    own key, so a worker presses 0 for "0" rather than 1."""
    if all(len(label) == 1 and label in DIGIT_KEYS for label in labels):
        return list(labels)
    return [HOTKEYS[i] if i < len(HOTKEYS) else "" for i in range(len(labels))]


def _seconds_spent(raw: str, assignment: Assignment) -> float:
    """The page measures the time; without JavaScript, fall back to the time since the lease."""
    if not raw.strip():
        return max(0.0, (timezone.now() - assignment.leased_at).total_seconds())
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInput.field("seconds_spent", "Must be a number of seconds, 0 or more.")
    return seconds


def _refusal_text(exc: DomainError) -> str:
    """One line for the worker, naming the field when the refusal is about one."""
    fields = exc.errors if isinstance(exc.errors, dict) and exc.errors else None
    if fields is None:
        return exc.message
    return " ".join(f"{name}: {_joined(texts)}" for name, texts in fields.items())


def _joined(texts: Any) -> str:
    return " ".join(map(str, texts)) if isinstance(texts, list) else str(texts)
