"""Scale-out: two gunicorns and two qclusters on Redis (django-q2's Redis broker) against one
PostgreSQL, under the short soak: no consensus run of a project overlaps another, no job is
lost (the queue drains and the last run saw every answer), and the ledger holds."""

from __future__ import annotations

import os

import pytest
import soak

REDIS_URL = os.environ.get("HITLCROWD_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_URL} (HITLCROWD_TEST_REDIS_URL): {exc}")
    return REDIS_URL


@pytest.mark.postgres
def test_two_webs_and_two_clusters_on_redis_never_overlap_runs_or_lose_jobs(live_dsn, redis_url):
    config = soak.SoakConfig(
        workers=8,
        seconds=20,
        items=1500,
        lease_seconds=4,
        expirers=1,
        scale_out=True,
        redis_url=redis_url,
        gunicorn_workers=1,
        gunicorn_threads=4,
        q_workers=2,
        settle_seconds=60,
    )
    project, tokens = soak.seed_project(config)

    result = soak.run_soak(config, live_dsn, project, tokens)

    print(soak.report(config, result))
    assert result.broken == {}
    assert result.found["overlapping consensus runs"] == 0
    assert result.found["answers the last run missed"] == 0
    assert result.found["runs"] > 1  # the two clusters really shared the work
