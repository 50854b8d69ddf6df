"""Fixtures shared by the tasks tests."""

from __future__ import annotations

import pytest

from apps.tasks.services.consensus.run import consensus_run
from tests import factories
from tests.helpers.crowd import LABELS, make_items, work


@pytest.fixture
def run_once(requester):
    """Nine items, three workers, one of them often wrong, and a first run done."""
    project = factories.ProjectFactory(
        owner=requester, labels=LABELS, min_overlap=3, max_overlap=3, gold_share=0
    )
    items = make_items(project, 9, lambda i: LABELS[i % 3])
    truth = {item.pk: item.truth for item in items}
    for number, worker in enumerate(factories.WorkerFactory() for _ in range(3)):
        wrong = number == 2
        work(worker, project, lambda item, wrong=wrong: "bird" if wrong else truth[item.pk])
    consensus_run(project_id=project.pk)
    return project
