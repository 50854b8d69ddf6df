"""An upload that fails inside its COPY leaves the connection usable (PostgreSQL).

A COPY that is never ended makes the rollback after it wait forever, holding the request's
thread and connection; see also test_batch_upload_http.py for the same over real HTTP.
"""

from __future__ import annotations

import io

import pytest
from django.db import connection, transaction
from psycopg.pq import TransactionStatus

from apps.tasks import ingest
from apps.tasks.errors import BodyUnreadable
from apps.tasks.services.batches import _create_staging, _staging_writer, batch_import

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path runs on PostgreSQL only")


class BodyThatBreaks(io.RawIOBase):
    """A client body that fails after `good` bytes, as a reset connection does."""

    def __init__(self, data: bytes, good: int) -> None:
        self.data = io.BytesIO(data[:good])

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self.data.readinto(buffer)
        if not read:
            raise ConnectionResetError("the client went away")
        return read


def assert_connection_usable() -> None:
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    with connection.cursor() as cursor:
        cursor.execute("SELECT state, query FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        state, query = cursor.fetchone()
    assert state == "active" and query.startswith("SELECT state")


def test_a_body_that_breaks_mid_copy_is_a_400_and_the_connection_stays_usable(project):
    rows = b"".join(b'{"external_id":"r%d","text":"t"}\n' % n for n in range(20_000))
    stream = BodyThatBreaks(rows, good=len(rows) // 2)  # several COPY blocks written by then

    with pytest.raises(BodyUnreadable) as caught:
        batch_import(project=project, user=project.owner, stream=stream, fmt="jsonl")

    assert caught.value.code == "unreadable_body"
    assert_connection_usable()


def test_an_exception_in_the_last_write_of_a_copy_still_ends_the_copy(project):
    """What the lone surrogate did: the final flush raised, and nothing ended the COPY."""
    unencodable = ingest.CleanRow(
        1, 1, "s1", '{"text":"\ud800"}', "", None, "", "", False, ingest.WAITING
    )

    with pytest.raises(UnicodeEncodeError), transaction.atomic(), connection.cursor() as cursor:
        _create_staging(cursor)
        with _staging_writer(cursor) as write:
            write(unencodable)
            write.flush()

    assert_connection_usable()
