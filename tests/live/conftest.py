"""Real processes on the test database: gunicorn as the README runs it, django-q2 clusters.

The soak and the fault tests drive them over HTTP and kill or restart what they depend on.
They need PostgreSQL: the processes and this one share the database, so the data is
committed (transactional_db) and the processes are stopped before pytest-django empties it.
bench/ holds the code the soak script and these tests share (soak.py, _server.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # last: its module names must not shadow anything


def dsn_of_test_database() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


@pytest.fixture
def live_dsn(transactional_db) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("live processes share the test database: needs PostgreSQL (DATABASE_URL)")
    return dsn_of_test_database()
