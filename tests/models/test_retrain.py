"""Retraining through the real django-q2 job (sync mode), promotion and its refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.models.errors import RetrainRunning
from apps.models.models import LearningSettings, ModelVersion, TrainingRun
from apps.models.services import labels_changed
from apps.models.services.training import (
    model_retrain,
    retrain_due,
    retrain_request,
    training_set_collect,
)
from apps.tasks.models import Item
from apps.workers.services import worker_block
from tests import factories
from tests.helpers.pets import labeled, text_of


def active_of(project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, is_active=True).first()


def test_n_new_labels_queue_a_retrain_that_promotes_the_first_version(
    pets, worker, sync_q, django_capture_on_commit_callbacks, model_dir
):
    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        labels_changed(project_id=pets.pk)

    version = active_of(pets)
    assert version is not None and version.number == 1
    assert version.labels_by_source == {"crowd": 100}
    assert version.n_train + version.n_holdout == 100 and version.n_holdout > 0
    assert version.accuracy is not None and version.ece is not None
    assert version.sklearn_version and version.calibration
    run = TrainingRun.objects.get(project=pets)
    assert run.status == TrainingRun.Status.PROMOTED and "one-class baseline" in run.detail
    stored = json.loads((model_dir / "models" / version.training_set_path).read_bytes())
    assert len(stored["item_ids"]) == 100 and set(stored["sources"]) == {"crowd"}


def test_fewer_than_n_new_labels_queue_nothing(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    labeled(pets, 19, worker)
    with django_capture_on_commit_callbacks(execute=True):
        labels_changed(project_id=pets.pk)
    assert not TrainingRun.objects.filter(project=pets).exists()


def test_a_candidate_no_better_than_the_active_one_is_kept_aside_with_the_reason(pets, worker):
    labeled(pets, 100, worker)
    first = model_retrain(project_id=pets.pk, trigger="manual")
    second = model_retrain(project_id=pets.pk, trigger="manual")

    assert first.status == TrainingRun.Status.PROMOTED
    assert second.status == TrainingRun.Status.KEPT_OLD
    assert second.detail.startswith("not better")
    assert active_of(pets) == first.model_version
    assert second.model_version.compared_with is not None


def test_a_candidate_trained_on_more_labels_replaces_the_active_one_unless_clearly_worse(
    pets, worker
):
    labeled(pets, 100, worker)
    first = model_retrain(project_id=pets.pk, trigger="manual")
    labeled(pets, 40, worker, start=100)
    second = model_retrain(project_id=pets.pk, trigger="manual")

    assert second.status == TrainingRun.Status.PROMOTED, second.detail
    assert second.detail.startswith("not worse") and first.model_version.name in second.detail
    assert active_of(pets) == second.model_version


def test_a_better_candidate_replaces_the_active_version(pets, worker):
    # People relabel every item the other way round: the active version is now wrong on all
    # the evidence, the candidate learned the new labels.
    items = labeled(pets, 100, worker)
    first = model_retrain(project_id=pets.pk)
    for item in items:
        Item.objects.filter(pk=item.pk).update(final_label="dog" if item.truth == "cat" else "cat")
    second = model_retrain(project_id=pets.pk)

    assert first.status == TrainingRun.Status.PROMOTED
    assert second.status == TrainingRun.Status.PROMOTED, second.detail
    first.model_version.refresh_from_db()
    assert not first.model_version.is_active and first.model_version.retired_at is not None
    assert active_of(pets) == second.model_version
    assert second.model_version.compared_with["accuracy"] < second.model_version.accuracy


def test_a_failing_job_leaves_the_active_version_and_is_recorded(pets, worker, settings, tmp_path):
    labeled(pets, 100, worker)
    first = model_retrain(project_id=pets.pk)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.DATA_DIR = blocker  # the artifact cannot be written
    labeled(pets, 20, worker, start=100)

    with pytest.raises(OSError):
        model_retrain(project_id=pets.pk)

    failed = TrainingRun.objects.filter(project=pets).first()
    assert failed.status == TrainingRun.Status.FAILED and "Error" in failed.detail
    assert active_of(pets) == first.model_version
    assert ModelVersion.objects.filter(project=pets).count() == 1


def test_a_run_killed_mid_way_is_taken_over_by_the_retry(pets, worker):
    labeled(pets, 100, worker)
    killed = TrainingRun.objects.create(project=pets)
    TrainingRun.objects.filter(pk=killed.pk).update(started_at=timezone.now() - timedelta(hours=1))

    run = model_retrain(project_id=pets.pk)

    killed.refresh_from_db()
    assert killed.status == TrainingRun.Status.FAILED and "killed" in killed.detail
    assert run.status == TrainingRun.Status.PROMOTED


def test_a_second_job_leaves_the_project_to_the_running_one(pets, worker):
    labeled(pets, 100, worker)
    TrainingRun.objects.create(project=pets)
    assert model_retrain(project_id=pets.pk) is None
    assert not ModelVersion.objects.filter(project=pets).exists()


def test_too_few_labels_are_skipped_with_the_reason(pets, worker):
    labeled(pets, 4, worker)
    run = model_retrain(project_id=pets.pk)
    assert run.status == TrainingRun.Status.SKIPPED and "need 10" in run.detail


def test_blocked_workers_answers_are_not_trained_on(pets, worker, other_worker, admin_user):
    good = labeled(pets, 30, worker)
    spam = labeled(pets, 10, other_worker, start=100)
    worker_block(worker=other_worker, project=pets, reason="spam", by=admin_user)

    data = training_set_collect(project=pets)

    assert set(data.item_ids) == {item.pk for item in good}
    assert not {item.pk for item in spam} & set(data.item_ids)


def test_only_people_decided_labels_are_trained_on(pets, worker):
    labeled(pets, 12, worker)
    gold = factories.ItemFactory(
        project=pets, payload={"text": text_of("cat", 1)}, is_gold=True, gold_label="cat"
    )
    model_label = factories.ItemFactory(
        project=pets,
        payload={"text": text_of("dog", 2)},
        state=Item.State.AUTO_LABELED,
        final_label="dog",
        label_source=Item.Source.MODEL,
    )
    review = factories.ItemFactory(
        project=pets,
        payload={"text": text_of("dog", 3)},
        state=Item.State.NEEDS_REVIEW,
        final_label="dog",
        label_source=Item.Source.CROWD,
    )

    data = training_set_collect(project=pets)

    assert gold.pk in data.item_ids and data.sources[data.item_ids.index(gold.pk)] == "gold"
    assert model_label.pk not in data.item_ids and review.pk not in data.item_ids


def test_a_disabled_model_is_never_retrained(
    pets, worker, sync_q, django_capture_on_commit_callbacks
):
    LearningSettings.objects.filter(project=pets).update(model_enabled=False)
    labeled(pets, 100, worker)
    with django_capture_on_commit_callbacks(execute=True):
        labels_changed(project_id=pets.pk)
    assert not TrainingRun.objects.exists()


def test_retrain_is_due_at_exactly_n_labels_and_not_before(pets, worker):
    labeled(pets, 19, worker)
    assert not retrain_due(project=pets)
    labeled(pets, 1, worker, start=100)
    assert retrain_due(project=pets)


def test_labels_backed_only_by_blocked_workers_do_not_make_a_retrain_due(
    pets, worker, other_worker, admin_user
):
    """The cheap bound counts these items; the exact count, which decides, does not."""
    labeled(pets, 15, worker)
    labeled(pets, 10, other_worker, start=100)
    worker_block(worker=other_worker, project=pets, reason="spam", by=admin_user)
    assert not retrain_due(project=pets)


def test_a_run_left_running_by_a_dead_job_does_not_block_the_next_retrain(
    pets, worker, requester, api_client_for, settings
):
    """On the Redis broker a killed job is never delivered again: its RUNNING row must not
    hold the project for good (retrain_due and the retrain endpoint saw it as running)."""
    labeled(pets, 20, worker)
    dead = TrainingRun.objects.create(project=pets, trigger="labels")
    TrainingRun.objects.filter(pk=dead.pk).update(
        started_at=timezone.now() - settings.Q_JOB_DEAD_AFTER - timedelta(seconds=1)
    )

    assert retrain_due(project=pets)
    dead.refresh_from_db()
    assert dead.status == TrainingRun.Status.FAILED
    response = api_client_for(requester).post(f"/api/v1/projects/{pets.pk}/models/retrain")
    assert response.status_code == 202, response.content


def test_a_live_run_still_holds_the_project(pets, worker, requester, api_client_for):
    labeled(pets, 20, worker)
    TrainingRun.objects.create(project=pets, trigger="labels")

    assert not retrain_due(project=pets)
    response = api_client_for(requester).post(f"/api/v1/projects/{pets.pk}/models/retrain")
    assert response.status_code == 409


def test_a_retrain_asked_for_while_one_runs_is_refused_in_the_service(pets):
    TrainingRun.objects.create(project=pets)
    with pytest.raises(RetrainRunning):
        retrain_request(project=pets)
    assert TrainingRun.objects.filter(project=pets).count() == 1
