"""Shared by the services: settings rows, artifact files and loading the active model."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import sklearn
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.models import learning
from apps.models.errors import ModelUnloadable
from apps.models.models import LearningSettings, ModelVersion
from apps.tasks.models import Project
from hitlcrowd.jobs import job_dead_after

log = logging.getLogger(__name__)

RETRAIN_JOB = "apps.models.jobs.retrain_job"
RESCORE_JOB = "apps.models.jobs.rescore_job"
WEBHOOK_JOB = "apps.models.jobs.webhook_deliver_job"
WEBHOOK_SWEEP_JOB = "apps.models.jobs.webhooks_sweep_job"
# Loaded models kept per process (a predict call must not unzip and rebuild every time).
MODEL_CACHE_SIZE = 8
_cache: OrderedDict[tuple[int, str], learning.TrainedModel] = OrderedDict()
_cache_lock = threading.Lock()


def learning_settings_of(project: Project) -> LearningSettings:
    """The project's settings row, or the defaults (unsaved) when it has none yet."""
    found = LearningSettings.objects.filter(project=project).first()
    return found or LearningSettings(project=project)


def learning_config_of(row: LearningSettings) -> learning.LearningConfig:
    return learning.LearningConfig.from_dict(row.learning_config)


def models_dir() -> Path:
    return Path(django_settings.DATA_DIR) / "models"


def artifact_write(relative: str, data: bytes) -> str:
    """Write under DATA_DIR/models atomically (temp file + rename); returns the sha256."""
    path = models_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
    return hashlib.sha256(data).hexdigest()


def model_load(version: ModelVersion) -> learning.TrainedModel:
    """Only ever our own artifact, and only if its bytes are the ones we wrote. Raises
    ModelUnloadable when it cannot be loaded (after a scikit-learn upgrade, every version
    saved before it): callers serving predictions then queue a retrain
    (`model_unloadable_retrain`)."""
    key = (version.pk, version.artifact_sha256)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        model = _read_model(version)
    except (learning.ModelLoadError, OSError, KeyError, TypeError, ValueError) as exc:
        raise _unloadable(version, exc) from exc
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > MODEL_CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def _read_model(version: ModelVersion) -> learning.TrainedModel:
    data = (models_dir() / version.artifact_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != version.artifact_sha256:
        raise learning.ModelLoadError(f"{version.artifact_path}: checksum does not match")
    return learning.load_model(data)


def _unloadable(version: ModelVersion, exc: Exception) -> ModelUnloadable:
    saved_with, running = version.sklearn_version or "unknown", sklearn.__version__
    # The meta's version check says what the versions say already.
    said = isinstance(exc, learning.ModelVersionMismatch) and saved_with != running
    return ModelUnloadable(
        model_version=version.name,
        saved_with=saved_with,
        running=running,
        reason="" if said else f": {exc}",
    )


def model_unloadable_retrain(*, version: ModelVersion, error: ModelUnloadable) -> bool:
    """Record that `version` cannot be loaded and queue one retrain of its project. Every
    predict meets the error until a new version is promoted: the conditional UPDATE lets one
    of them queue the retrain, and another only once a job may have died meanwhile
    (job_dead_after: the retrain was lost, or kept this version). True if queued."""
    now = timezone.now()
    claimed = (
        ModelVersion.objects.filter(pk=version.pk)
        .filter(Q(unloadable_at__isnull=True) | Q(unloadable_at__lt=now - job_dead_after()))
        .update(unloadable_at=now, load_error=str(error)[:2000])
    )
    if claimed != 1:
        return False
    log.warning("%s; retrain of project %s queued", error, version.project_id)
    project_id = version.project_id
    transaction.on_commit(lambda: _retrain_enqueue(project_id))
    return True


def _retrain_enqueue(project_id: int) -> None:
    from apps.models.services.training import retrain_enqueue  # training imports this module

    retrain_enqueue(project_id=project_id, trigger="unloadable")


def active_version(project_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(project_id=project_id, is_active=True).first()
