"""One consensus run: read the project's answers, aggregate them, store what changed.

`consensus_run` runs now, whether or not another run holds the project; the job goes through
`scheduling.consensus_drain`, which makes sure none does. A failed run is recorded as failed
with its error, and raises.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

from django.utils import timezone

from apps.tasks.aggregation import aggregate
from apps.tasks.models import AggregationRun, Project
from apps.tasks.services.consensus.reading import project_answers, project_true_labels
from apps.tasks.services.consensus.store import consensus_store
from apps.tasks.services.consensus.warm import warm_start
from apps.tasks.services.discard import answers_discard_blocked
from hitlcrowd.locking import retry_on_lock_conflict


def consensus_run(*, project_id: int, cold: bool = False) -> AggregationRun:
    """Aggregate the project now and store the result. Prefer `scheduling.aggregation_enqueue`:
    this does not check whether another run is going on."""
    with _gc_paused():
        return _consensus_run(project_id, cold)


@contextmanager
def _gc_paused():
    """Reading 100k answers allocates 100k short-lived tuples; they made the cyclic GC run
    full collections over the worker's whole heap mid-run (0.3-0.6 s in the bench process).
    They are freed by reference counting, so there is nothing for it to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _consensus_run(project_id: int, cold: bool) -> AggregationRun:
    project = Project.objects.get(pk=project_id)
    # Blocked workers' answers leave for good and give their slots back before the run
    # decides what each item still wants (a block made by the last run, or one cut off).
    answers_discard_blocked(project=project)
    answers = project_answers(project=project)
    true_labels = project_true_labels(project=project)
    warm = None if cold else warm_start(project, answers=len(answers.item))
    run = AggregationRun.objects.create(
        project=project,
        method=project.aggregation_method,
        labels=list(project.labels),
        warm_started=warm is not None,
    )
    try:
        result = aggregate(
            answers.frame(),
            labels=project.labels,
            method=project.aggregation_method,
            true_labels=true_labels,
            initial_error=warm,
        )
        # Run again if PostgreSQL broke a lock cycle by aborting it (hitlcrowd.locking).
        blocked = retry_on_lock_conflict(
            lambda: consensus_store(project, run, answers, true_labels, result)
        )
    except Exception as exc:
        AggregationRun.objects.filter(pk=run.pk).update(
            status=AggregationRun.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    if blocked:  # their leases end and their slots come back now, not at the next run
        answers_discard_blocked(project=project)
    return AggregationRun.objects.defer("confusions").get(pk=run.pk)
