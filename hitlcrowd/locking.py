"""Row-lock order for the writers of many items and HITs, and a retry for the rare cycle left.

Two transactions that lock overlapping rows in different orders can deadlock: PostgreSQL
aborts one with `deadlock detected`. The scale-out soak (docs/benchmarks-soak.md) lost a
re-score job that way: its chunk updated items in id order while a consensus run updated the
same items in heap order. The order every writer keeps:

    worker accounts (a block and a submit, `lock_workers_for_block` and `hold_worker`), then
    tasks_item rows, then tasks_assignment rows, then tasks_hit rows; each table in id order.

(The submit holds its worker, then locks its assignment, then its HIT; the lease sweep locks
the assignment, then the HIT.) A writer of many
rows locks them with `lock_in_id_order` before writing them (`hitlcrowd.rawrows.update_rows`
writes them in the order PostgreSQL joins them). A cycle that ordering
cannot rule out (a lease claimed between two of a writer's statements) is retried by
`retry_on_lock_conflict`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import DatabaseError, connection, transaction
from django.db.models import Model

log = logging.getLogger(__name__)

# deadlock_detected, serialization_failure: the transaction was aborted and may be run again.
LOCK_CONFLICT_STATES = frozenset({"40P01", "40001"})
LOCK_RETRIES = 3
LOCK_BATCH = 5000
T = TypeVar("T")


def lock_in_id_order(model: type[Model], ids: Iterable[int]) -> None:
    """Lock the rows of `ids` in id order (PostgreSQL; SQLite serializes writers), in the mode
    an UPDATE of non-key columns takes (FOR NO KEY UPDATE): FOR UPDATE would also block the
    foreign-key checks of rows inserted meanwhile (a submit's answer pointing at an item) and
    close a cycle through them. Call it inside the transaction that then writes them."""
    if connection.vendor != "postgresql":
        return
    ordered = sorted(set(ids))
    table, pk = model._meta.db_table, model._meta.pk.column
    sql = f'SELECT 1 FROM "{table}" WHERE "{pk}" = ANY(%s) ORDER BY "{pk}" FOR NO KEY UPDATE'
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), LOCK_BATCH):
            cursor.execute(sql, [ordered[start : start + LOCK_BATCH]])


# A block and a submit serialize on the worker's account row: the block (by hand or by the
# rules) takes it FOR NO KEY UPDATE before it writes the Block row, the submit and the skip
# FOR SHARE before they read whether the worker is blocked, in a statement of its own (READ
# COMMITTED: the next statement's snapshot sees a block committed while the submit waited).
# Submits never wait on each other, of one worker or of many; foreign-key checks (FOR KEY
# SHARE: a claim's lease, an answer) do not wait on the block. Without it, a submit that read
# "not blocked" just before the block committed was accepted and paid (issue 13 #5).
_HOLD_WORKER_SQL = "SELECT 1 FROM {table} WHERE id = %s FOR SHARE"


def hold_worker(worker_id: int) -> None:
    """Hold the worker's row against a block until the transaction ends (PostgreSQL; SQLite
    serializes writers). First in the submit's transaction."""
    if connection.vendor != "postgresql":
        return
    from hitlcrowd.rawrows import hot_cursor

    with hot_cursor() as cursor:
        cursor.execute(_HOLD_WORKER_SQL.format(table=_user_table()), [worker_id])


def lock_workers_for_block(worker_ids: Iterable[int]) -> None:
    """Wait out the workers' submits in flight and hold new ones until the transaction (which
    writes their blocks) ends. Before any item, assignment or HIT lock (the order above)."""
    ids = sorted(set(worker_ids))
    if connection.vendor != "postgresql" or not ids:
        return
    sql = f"SELECT 1 FROM {_user_table()} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])


def _user_table() -> str:
    from django.contrib.auth import get_user_model

    return connection.ops.quote_name(get_user_model()._meta.db_table)


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL aborting the transaction for a deadlock or a serialization
    failure (Django wraps the driver's error; its cause carries the SQLSTATE)."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return getattr(cause, "sqlstate", None) in LOCK_CONFLICT_STATES


def retry_on_lock_conflict(work: Callable[[], T], *, attempts: int = LOCK_RETRIES) -> T:
    """Run `work` in its own transaction; run it again (up to `attempts` times in all) when
    the database aborted it for a deadlock or serialization failure."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except DatabaseError as exc:
            if attempt == attempts or not is_lock_conflict(exc):
                raise
            log.warning("lock conflict, attempt %s of %s: %s", attempt, attempts, exc)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
