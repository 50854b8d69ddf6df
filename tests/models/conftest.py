"""A small text project the built-in model learns quickly: cat words against dog words."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def model_dir(settings, tmp_path):
    """Model artifacts go to a fresh directory per test."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def pets(requester):
    project = factories.ProjectFactory(
        owner=requester, name="Pets", labels=["cat", "dog"], confidence_threshold=0.6
    )
    factories.LearningSettingsFactory(
        project=project, retrain_after_labels=20, audit_share=0.0, suspected_error_threshold=1.0
    )
    return project
