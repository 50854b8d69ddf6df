"""After a scikit-learn upgrade every model saved before it is refused: predict answers 409
`model_unloadable` naming the version and both scikit-learn versions (not a 500 on every
call), and one retrain is queued, however many predicts meet the error, which mends it.

The artifacts are real files in the old version's shape: written by the training service,
then given what scikit-learn 1.6.1 would have written into them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import sklearn
import sklearn.calibration
from django.utils import timezone
from django_q.models import OrmQ

from apps.models.models import LearningSettings, ModelVersion, TrainingRun
from apps.models.services.common import RETRAIN_JOB, artifact_write, models_dir
from apps.models.services.priorities import NO_MODEL_PRIORITY, item_queue_priorities
from apps.models.services.training import model_retrain
from apps.tasks.models import Item
from hitlcrowd.jobs import job_dead_after
from tests.helpers.pets import labeled, text_of, waiting

OLD = "1.6.1"


@pytest.fixture
def trained(pets, worker):
    labeled(pets, 100, worker)
    model_retrain(project_id=pets.pk)
    return pets


def predict(client, project, external_id: str):
    body = {"external_id": external_id, "payload": {"text": text_of("dog", 500)}}
    return client.post(f"/api/v1/projects/{project.pk}/predict", body, format="json")


def _replaced(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, body in members.items():
            archive.writestr(member, body)
    return out.getvalue()


def saved_by_older_sklearn(version: ModelVersion) -> ModelVersion:
    """The version's artifact as scikit-learn 1.6.1 would have saved it: the version in its
    meta, in its estimators' own state, and on the row (the training service records it)."""
    data = (models_dir() / version.artifact_path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        meta = json.loads(archive.read("meta.json"))
        estimator = archive.read("estimator.skops")
    with zipfile.ZipFile(io.BytesIO(estimator)) as inner:
        schema = inner.read("schema.json").decode()
    here, old = (json.dumps(json.dumps(v)) for v in (sklearn.__version__, OLD))
    estimator = _replaced(estimator, "schema.json", schema.replace(here, old).encode())
    meta["sklearn_version"] = OLD
    data = _replaced(data, "meta.json", json.dumps(meta).encode())
    version.artifact_sha256 = artifact_write(
        version.artifact_path, _replaced(data, "estimator.skops", estimator)
    )
    version.sklearn_version = OLD
    version.save(update_fields=["artifact_sha256", "sklearn_version"])
    return version


def queued_retrains(project) -> int:
    return sum(
        1 for job in OrmQ.objects.all() if job.func() == RETRAIN_JOB and job.args()[0] == project.pk
    )


def test_predict_with_a_model_from_an_older_sklearn_is_a_409_naming_both_versions(
    trained, requester, api_client_for, django_capture_on_commit_callbacks
):
    version = saved_by_older_sklearn(ModelVersion.objects.get(project=trained, is_active=True))
    client = api_client_for(requester)

    with django_capture_on_commit_callbacks(execute=True):
        responses = [predict(client, trained, f"q{i}") for i in range(3)]

    assert [r.status_code for r in responses] == [409, 409, 409]
    body = responses[0].json()
    assert body["code"] == "model_unloadable"
    assert f"p{trained.pk}-v1" in body["detail"]
    assert f"saved with scikit-learn {OLD}, running {sklearn.__version__}" in body["detail"]
    assert queued_retrains(trained) == 1  # one for the three predicts
    version.refresh_from_db()
    assert version.unloadable_at is not None and OLD in version.load_error
    # Nothing stored: the caller sends the same external_id again once a model is back.
    assert not Item.objects.filter(project=trained, external_id__startswith="q").exists()


def test_another_retrain_is_queued_only_once_a_job_may_have_died(
    trained, requester, api_client_for, django_capture_on_commit_callbacks
):
    version = saved_by_older_sklearn(ModelVersion.objects.get(project=trained, is_active=True))
    client = api_client_for(requester)
    with django_capture_on_commit_callbacks(execute=True):
        predict(client, trained, "q1")
    ModelVersion.objects.filter(pk=version.pk).update(
        unloadable_at=timezone.now() - job_dead_after() - timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert predict(client, trained, "q2").status_code == 409

    assert queued_retrains(trained) == 2


def test_the_queued_retrain_promotes_a_loadable_version_and_predict_answers_again(
    trained, requester, api_client_for, sync_q, django_capture_on_commit_callbacks
):
    saved_by_older_sklearn(ModelVersion.objects.get(project=trained, is_active=True))
    client = api_client_for(requester)

    with django_capture_on_commit_callbacks(execute=True):
        refused = predict(client, trained, "q1")
    again = predict(client, trained, "q1")

    assert refused.status_code == 409
    run = TrainingRun.objects.get(project=trained, trigger="unloadable")
    assert run.status == TrainingRun.Status.PROMOTED, run.detail
    assert "could not be evaluated" in run.detail and OLD in run.detail
    assert again.status_code == 200, again.json()
    assert again.json()["model_version"] == f"p{trained.pk}-v2"


def test_a_model_holding_a_class_sklearn_removed_is_refused_the_same_way(
    pets, worker, requester, api_client_for, monkeypatch, django_capture_on_commit_callbacks
):
    """A private class the file names (the one sigmoid calibration keeps) gone in the new
    scikit-learn: skops fails with an AttributeError, which the 409 names."""
    LearningSettings.objects.filter(project=pets).update(learning_config={"calibration": "sigmoid"})
    labeled(pets, 100, worker)
    model_retrain(project_id=pets.pk)
    monkeypatch.delattr(sklearn.calibration, "_CalibratedClassifier")

    with django_capture_on_commit_callbacks(execute=True):
        response = predict(api_client_for(requester), pets, "q1")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "model_unloadable"
    assert "AttributeError" in response.json()["detail"]
    assert "_CalibratedClassifier" in response.json()["detail"]
    assert queued_retrains(pets) == 1


def test_a_reopened_item_is_queued_as_with_no_model_while_the_model_cannot_load(
    trained, django_capture_on_commit_callbacks
):
    saved_by_older_sklearn(ModelVersion.objects.get(project=trained, is_active=True))
    items = waiting(trained, [text_of("cat", 900), text_of("dog", 901)])

    with django_capture_on_commit_callbacks(execute=True):
        priorities = item_queue_priorities(project=trained, item_ids=[i.pk for i in items])

    assert priorities == {i.pk: NO_MODEL_PRIORITY for i in items}
    assert queued_retrains(trained) == 1
