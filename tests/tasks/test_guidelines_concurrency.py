"""Publishing drafts of one project at once on PostgreSQL: consecutive numbers, no clash."""

import threading

import pytest
from django.db import connection

from apps.tasks.models import AuditEvent, GuidelineVersion
from apps.tasks.services.guidelines import guideline_draft_create, guideline_publish
from tests.factories import AdminFactory, ProjectFactory, RequesterFactory

DRAFTS = 6


def _publish(draft, by, errors: list) -> None:
    try:
        guideline_publish(guideline=draft, by=by)
    except Exception as exc:  # reported by the main thread
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_get_consecutive_numbers(on_postgres):
    project = ProjectFactory(owner=RequesterFactory())
    boss = AdminFactory()
    drafts = [
        guideline_draft_create(project=project, text=f"draft {n}", author=boss)
        for n in range(DRAFTS)
    ]
    errors: list = []
    threads = [threading.Thread(target=_publish, args=(d, boss, errors)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = GuidelineVersion.objects.filter(project=project).values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, DRAFTS + 1))
    assert AuditEvent.objects.filter(project=project).count() == DRAFTS
