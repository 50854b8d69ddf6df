"""Slow receivers cannot starve aggregation: a real qcluster (2 workers, the ORM broker on the
test's PostgreSQL database) with six deliveries queued to a receiver that never answers in
time, then an aggregation job; the aggregation must start within seconds, not after the
deliveries (before the sending cap, both workers sat 10 s on each delivery in turn).

PostgreSQL only: the qcluster is another process and needs the test database by URL. ~25 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Task

from apps.models.models import WebhookDelivery
from apps.models.services.common import WEBHOOK_JOB
from apps.tasks.services.consensus.scheduling import AGGREGATE_JOB, aggregation_enqueue
from tests import factories
from tests.models.webhook_helpers import receiver

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2
DELIVERIES = 6


def qcluster_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,  # django-q2 signs the queued tasks with it
        "DEBUG": "false",
        "Q_WORKERS": "2",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
        "WEBHOOK_MAX_CONCURRENT": "1",
    }


def wait_for(condition, seconds: float) -> float | None:
    """Seconds until `condition()` held, or None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


@pytest.fixture
def qcluster(on_postgres):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=qcluster_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from django_q.tasks import async_task

        probe = async_task("math.floor", 1.5)
        ready = wait_for(lambda: Task.objects.filter(id=probe).exists(), 60)
        assert ready is not None, "the qcluster never ran a job"
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)
def test_aggregation_runs_promptly_while_a_slow_receiver_holds_deliveries(qcluster):
    from django_q.tasks import async_task

    owner = factories.RequesterFactory(username="owner")
    project = factories.ProjectFactory(owner=owner, labels=["cat", "dog"])
    with receiver(delay=30) as (port, server):
        for _ in range(DELIVERIES):
            delivery = factories.WebhookDeliveryFactory(
                item__project=project, item__state="consensus", url=f"http://127.0.0.1:{port}/hook"
            )
            async_task(WEBHOOK_JOB, delivery.pk, q_options={"group": "webhooks"})
        assert wait_for(lambda: server.received, 30) is not None  # the first one is in flight

        aggregation_enqueue(project_id=project.pk)
        waited = wait_for(lambda: Task.objects.filter(func=AGGREGATE_JOB).exists(), 30)

        assert waited is not None and waited < TIMEOUT * 2, waited
        # The holder keeps sending the rest, one at a time: each attempt waits out the timeout
        # (the receiver never answers), so one sender means arrivals at least that far apart.
        tried = wait_for(
            lambda: not WebhookDelivery.objects.filter(attempts=0).exists(),
            DELIVERIES * TIMEOUT + 15,
        )
        assert tried is not None
        gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
        assert len(server.arrivals) == DELIVERIES and min(gaps) > TIMEOUT * 0.9, gaps
