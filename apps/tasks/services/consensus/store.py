"""Write a consensus run's results in one transaction: labels and posteriors, item and HIT
states, worker stats (and the blocks they make), the run's record and the project's state.

Every row written is locked first in the order all writers keep (hitlcrowd.locking), and only
rows whose values change are written, so a retried run writes nothing.
"""

from __future__ import annotations

from itertools import chain

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.models.services import labels_changed
from apps.tasks.aggregation import AggregationResult
from apps.tasks.models import HIT, AggregationRun, AggregationState, Item, Project
from apps.tasks.services.consensus.labels import CROWD_LABEL_FIELDS, stale_rows
from apps.tasks.services.consensus.overlap import overlap_rows
from apps.tasks.services.consensus.reading import ProjectAnswers
from apps.tasks.services.consensus.warm import pack_confusions
from apps.tasks.services.consensus.worker_stats import worker_stats
from apps.workers.models import Block
from apps.workers.selectors import worker_stats_values
from apps.workers.services import worker_stats_store
from hitlcrowd.locking import lock_in_id_order
from hitlcrowd.rawrows import update_rows


@transaction.atomic
def consensus_store(
    project: Project,
    run: AggregationRun,
    answers: ProjectAnswers,
    true_labels: dict[int, str],
    result: AggregationResult,
) -> list[Block]:
    """Write the run's labels, item and HIT states and worker stats; returns the blocks the
    workers' rules made."""
    # Serializes the writes of two runs even if a stale claim let a second one start.
    AggregationState.objects.select_for_update().filter(project=project).first()
    now = timezone.now()
    stale = stale_rows(project, run, result, now)
    items, hits = overlap_rows(project, result, now, answers)
    # Blocks first: they lock their workers' rows, which come before items and HITs in the
    # order all writers keep (hitlcrowd.locking), as a blocked worker's submit takes them.
    stored = worker_stats_values(project=project)
    stats = worker_stats(project, answers, true_labels, result, stored, every=not run.warm_started)
    blocked = worker_stats_store(project=project, stats=stats, stored=stored)
    # Every row written is locked first, in that order: items then HITs, each in id order.
    # Written in the order the database joined them, a re-score chunk updating the same items
    # in id order deadlocked with this.
    lock_in_id_order(Item, [row.pk for row in chain(stale, items)])
    lock_in_id_order(HIT, [hit.pk for hit in hits])
    update_rows(stale, *CROWD_LABEL_FIELDS)
    update_rows(items, "state", "review_reason", "updated_at")
    update_rows(hits, "answers_wanted", "state", "updated_at")
    _keep_slots_wanted([hit.pk for hit in hits])
    changed = [row.pk for row in stale]
    AggregationRun.objects.filter(project=project, confusions__isnull=False).exclude(
        pk=run.pk
    ).update(confusions=None)
    AggregationRun.objects.filter(pk=run.pk).update(
        status=AggregationRun.Status.FINISHED,
        finished_at=timezone.now(),
        answers=len(answers.item),
        items=len(result.item_ids),
        workers=len(result.worker_ids),
        iterations=result.iterations,
        log_likelihood=result.log_likelihood,
        items_changed=len(changed),
        confusions=pack_confusions(result),
    )
    state = {"last_run": run}
    if blocked:  # their answers leave the consensus: run again without them
        state |= {"pending": True, "requested_at": now}
    AggregationState.objects.filter(project=project).update(**state)
    # Retrain trigger and webhooks owed for items now labeled (after commit).
    labels_changed(project_id=project.pk, item_ids=changed)
    return blocked


def _keep_slots_wanted(hit_ids: list[int]) -> None:
    """A HIT never wants fewer answers than its slots hold (live + counted). A run deciding on
    fewer answers than its HIT now holds (answers discarded since a block, or submitted after
    the run read them) would otherwise lower answers_wanted under live leases, whose answers
    then overfill it (invariant answers_over_wanted). The HITs are locked: slots_taken is
    exact here."""
    if hit_ids:
        HIT.objects.filter(pk__in=hit_ids, answers_wanted__lt=F("slots_taken")).update(
            answers_wanted=F("slots_taken")
        )
