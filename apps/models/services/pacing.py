"""Pacing people with the model (LearningSettings.people_batch): batch active learning.

A fast crowd outruns the loop: 30 simulated workers give about 14 answers a second, while a
retrain and its re-score take 5-50 s, so the crowd labels items the next version would have
labeled itself (docs/benchmarks-simulate.md: 715 crowd items where people waiting for each
retrain need about 350). With pacing on, at most `people_batch` items are open to people at a
time; the others are held, ranked by the active model. The window is refilled, with the items
the latest version ranks first, only once the model has caught up with people's labels: no
retrain running or due, and the active version's re-score finished. Workers wait meanwhile
(next task answers 204), and gold is not served either (it goes only with real work).

Nothing waits forever: a retrain that cannot run (too few labels) or fails counts as caught
up, and after PACE_MAX_WAIT without a release the next worker who finds no task opens the next
items anyway. Turning pacing off (0) or the built-in model off opens every held item.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.models.models import LearningSettings, ModelVersion, RescoreRun, TrainingRun
from apps.tasks.models import HIT, Project

log = logging.getLogger(__name__)

# About what a retrain and its re-score take on a quiet machine (5-20 s): a worker who waited
# this long for the model gets the next items anyway, so a busy queue costs answers, not
# idle people (nor a simulator's stall: CI's gives up after 45 s without progress).
PACE_MAX_WAIT = timedelta(seconds=20)


def pace_holds_new_items(*, project: Project) -> bool:
    """Whether items a new batch sends to people start held (pacing on)."""
    row = LearningSettings.objects.filter(project=project).first()
    return row is not None and pace_cap(row) > 0


def pace_cap(row: LearningSettings) -> int:
    """The window in force: 0 (every item open) unless the built-in model learns."""
    return row.people_batch if row.model_enabled else 0


def project_pace(*, project: Project, force: bool = False) -> int:
    """Hold what exceeds the window and, once the model caught up (or with `force`), refill
    it with the items the active version ranks first. Concurrent calls for one project
    serialize on its learning settings row; a call that finds it taken does nothing (the
    other one paces). Returns the items opened to people."""
    from apps.tasks.services.items import hits_pace

    with transaction.atomic():
        row = (
            LearningSettings.objects.select_for_update(skip_locked=True)
            .filter(project=project)
            .first()
        )
        if row is None:  # never paced: nothing is held
            return 0
        cap = pace_cap(row)
        release = cap == 0 or force or not model_behind(project=project, since=row.paced_at)
        opened = hits_pace(project=project, cap=cap, release=release)
        if opened and cap:
            LearningSettings.objects.filter(pk=row.pk).update(paced_at=timezone.now())
    if opened:
        log.info("project %s: %d items opened to people (window %d)", project.pk, opened, cap)
    return opened


def project_pace_quietly(*, project: Project) -> None:
    """project_pace for the end of a job: a failure is logged, never the job's. The next
    consensus run or the next worker without a task paces again."""
    try:
        project_pace(project=project)
    except Exception:
        log.exception("pacing project %s failed", project.pk)


def model_behind(*, project: Project, since=None) -> bool:
    """Whether the built-in model has yet to learn from people's latest labels: a retrain
    running, one due (queued or about to be) unless a run since `since` (the last release)
    could not train, or the active version's re-score not finished."""
    from apps.models.services.training import retrain_due, training_running

    if training_running(project_id=project.pk):
        return True
    if retrain_due(project=project) and not _training_gave_up(project, since):
        return True
    active = ModelVersion.objects.filter(
        project=project, is_active=True, source=ModelVersion.Source.BUILTIN
    ).first()
    if active is None:
        return False
    return (
        not RescoreRun.objects.filter(model_version=active)
        .exclude(status=RescoreRun.Status.RUNNING)
        .exists()
    )


def _training_gave_up(project: Project, since) -> bool:
    """The latest run since the last release ended without a version (too few labels, or it
    failed): waiting for it would wait for nothing."""
    runs = TrainingRun.objects.filter(project=project).order_by("-started_at", "-id")
    if since is not None:
        runs = runs.filter(finished_at__gte=since)
    latest = runs.values_list("status", flat=True).first()
    return latest in (TrainingRun.Status.SKIPPED, TrainingRun.Status.FAILED)


def pace_if_stalled(*, project: Project) -> int:
    """Called when a worker finds no task: opens the next items if the pacing has held them
    longer than PACE_MAX_WAIT since its last release (a job queue that is down or far behind
    must not stop people), or if pacing is off and some are still held. Cheap when there is
    nothing held (one indexed probe)."""
    if not HIT.objects.filter(project=project, state=HIT.State.OPEN, held=True).exists():
        return 0
    row = LearningSettings.objects.filter(project=project).first()
    opened_at = row.paced_at if row is not None and pace_cap(row) else None
    if opened_at is not None and timezone.now() - opened_at < PACE_MAX_WAIT:
        return 0
    return project_pace(project=project, force=True)
