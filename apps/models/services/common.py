"""Shared by the services: settings rows, artifact files and loading the active model."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings as django_settings

from apps.models import learning
from apps.models.models import LearningSettings, ModelVersion
from apps.tasks.models import Project

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
    """Only ever our own artifact, and only if its bytes are the ones we wrote."""
    key = (version.pk, version.artifact_sha256)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = (models_dir() / version.artifact_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != version.artifact_sha256:
        raise learning.ModelLoadError(f"{version.artifact_path}: checksum does not match")
    model = learning.load_model(data)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > MODEL_CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def active_version(project_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(project_id=project_id, is_active=True).first()
