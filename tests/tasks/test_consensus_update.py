"""The consensus run's cheap update path: only changed rows are written, nothing drifts."""

from __future__ import annotations

import numpy as np
import pytest

from apps.tasks.aggregation import aggregate
from apps.tasks.models import AggregationRun, Answer, Item
from apps.tasks.services.consensus.run import consensus_run
from apps.tasks.services.consensus.warm import pack_confusions, unpack_confusions
from apps.workers.models import WorkerStats
from tests.helpers.crowd import LABELS


def stats_rows(project) -> dict[int, dict]:
    return {row["worker_id"]: row for row in WorkerStats.objects.filter(project=project).values()}


def test_a_retried_run_rewrites_no_worker_stats(run_once):
    before = stats_rows(run_once)
    consensus_run(project_id=run_once.pk)
    assert stats_rows(run_once) == before  # updated_at included: no row was written


def test_stats_edited_since_the_last_run_are_rewritten_and_the_others_kept(run_once):
    before = stats_rows(run_once)
    edited = next(iter(before))
    WorkerStats.objects.filter(project=run_once, worker_id=edited).update(
        skill=before[edited]["skill"] + 0.01
    )
    consensus_run(project_id=run_once.pk)
    after = stats_rows(run_once)
    assert after[edited]["skill"] == pytest.approx(before[edited]["skill"], abs=1e-4)
    assert after[edited]["updated_at"] > before[edited]["updated_at"]
    assert {k: v for k, v in after.items() if k != edited} == {
        k: v for k, v in before.items() if k != edited
    }


def test_a_confusion_matrix_edited_in_one_cell_is_rewritten(run_once):
    worker_id, row = next(iter(stats_rows(run_once).items()))
    edited = [list(line) for line in row["confusion"]]
    edited[2][0] += 0.01
    WorkerStats.objects.filter(project=run_once, worker_id=worker_id).update(confusion=edited)
    consensus_run(project_id=run_once.pk)
    stored = WorkerStats.objects.get(project=run_once, worker_id=worker_id).confusion
    assert np.allclose(stored, row["confusion"], atol=1e-4)


def test_a_posterior_moved_in_a_minor_label_is_rewritten(run_once):
    item = Item.objects.filter(project=run_once, final_label="cat").first()
    minor = "dog"
    moved = dict(item.posterior) | {minor: item.posterior[minor] + 0.01}
    Item.objects.filter(pk=item.pk).update(posterior=moved)  # label and confidence unchanged
    run = consensus_run(project_id=run_once.pk)
    assert run.items_changed == 1
    assert Item.objects.get(pk=item.pk).posterior[minor] == pytest.approx(
        item.posterior[minor], abs=1e-4
    )


def test_after_a_label_is_dropped_no_posterior_keeps_it(run_once):
    Answer.objects.filter(project=run_once, label="bird").update(label="cat")
    consensus_run(project_id=run_once.pk)
    run_once.labels = ["cat", "dog"]
    run_once.save()
    consensus_run(project_id=run_once.pk)
    posteriors = Item.objects.filter(project=run_once).values_list("posterior", flat=True)
    assert {tuple(sorted(p)) for p in posteriors} == {("cat", "dog")}


def test_the_stored_matrices_come_back_exactly_for_the_warm_start():
    rows = [(i, w, LABELS[(i + (w == 2)) % 3]) for i in range(12) for w in range(3)]
    result = aggregate(rows, labels=LABELS)
    back = unpack_confusions(pack_confusions(result))
    assert list(back) == result.worker_ids.tolist()
    assert all(np.array_equal(back[w], m) for w, m in result.initial_error().items())


def test_matrices_stored_before_the_packed_form_still_warm_start():
    old_form = {"7": [[0.9, 0.1], [0.2, 0.8]]}
    assert unpack_confusions(old_form) == {7: [[0.9, 0.1], [0.2, 0.8]]}


def test_the_run_keeps_one_set_of_matrices_per_project(run_once):
    consensus_run(project_id=run_once.pk)
    kept = AggregationRun.objects.filter(project=run_once, confusions__isnull=False)
    assert kept.count() == 1
    assert set(kept.get().confusions) == {"workers", "shape", "float64"}
