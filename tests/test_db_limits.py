"""Database session limits: web connections start with them; long work sets its own.

See hitlcrowd/db.py. PostgreSQL only (SQLite has no such settings).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from hitlcrowd import db

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL session settings")


def limits(wrapper) -> tuple[str, str]:
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), "
            "current_setting('idle_in_transaction_session_timeout')"
        )
        return cursor.fetchone()


def test_a_new_connection_starts_with_the_configured_limits():
    fresh = connection.copy()
    try:
        assert limits(fresh) == ("1min", "1min")
    finally:
        fresh.close()


def test_a_job_runs_with_q_timeout_as_its_limits():
    assert settings.Q_CLUSTER["timeout"] == 600
    try:
        db.job_limits_receiver(sender="django_q", func=None, task={})
        assert limits(connection) == ("10min", "10min")
    finally:
        db.migrate_limits_back()
    assert limits(connection) == ("1min", "1min")


def test_migrations_run_without_limits_and_give_them_back():
    db.migrate_limits_off()
    assert limits(connection) == ("0", "0")
    db.migrate_limits_back()
    assert limits(connection) == ("1min", "1min")
