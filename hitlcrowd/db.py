"""PostgreSQL session limits, and the work that is meant to run longer than a request.

Every connection starts with DB_STATEMENT_TIMEOUT_MS and DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
(the libpq `options` startup parameter, set in settings.py), sized for web requests, so that no
request holds a connection forever: an upload whose COPY was never ended once held its thread
and connection until the server ran out of both (issue 12). Work meant to run longer sets its own
limits on its session:

- django-q2 jobs (and the management commands that run the same work): Q_TIMEOUT, the limit
  the cluster already puts on a job. A retrain or an aggregation of a large project may run a
  long statement; the cluster kills a job past Q_TIMEOUT anyway.
- migrate: none while it runs (an index on a large table may take longer than any request).
- an upload's COPY: DB_UPLOAD_STATEMENT_TIMEOUT_MS (apps.tasks.services.batches).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)


def set_session_limits(*, statement_ms: int, idle_ms: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Set this session's statement and idle-in-transaction timeouts (0: none); PostgreSQL only."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), "
            "set_config('idle_in_transaction_session_timeout', %s, false)",
            [str(statement_ms), str(idle_ms)],
        )


def use_job_limits() -> None:
    """Jobs and the commands that do a job's work: Q_TIMEOUT for both limits."""
    limit_ms = int(settings.Q_CLUSTER["timeout"]) * 1000
    set_session_limits(statement_ms=limit_ms, idle_ms=limit_ms)


def job_limits_receiver(**kwargs: Any) -> None:
    """django-q2's pre_execute: runs in the worker just before each job."""
    try:
        use_job_limits()
    except DatabaseError:
        # The database is away: the job meets the same error and fails (and is retried).
        logger.warning("Could not set the job's database limits", exc_info=True)


def migrate_limits_off(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """pre_migrate: no limit while migrations run."""
    set_session_limits(statement_ms=0, idle_ms=0, using=using)


def migrate_limits_back(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate: back to the limits the session started with."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")
        cursor.execute("RESET idle_in_transaction_session_timeout")
