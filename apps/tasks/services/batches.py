"""Batch import: validate every row of an upload, then create its items and HITs in one go.

The body is streamed: rows are parsed and checked one at a time (`apps.tasks.ingest`) and the
valid ones go into a temporary staging table (COPY on PostgreSQL, executemany on SQLite).
Duplicate and conflicting external ids are then found with SQL against that table, and items and
HITs are created with set-based INSERT ... SELECT, so memory does not grow with the file.
Everything happens in one transaction: a batch is imported whole or not at all.

The COPY is one statement that lasts as long as the body takes to arrive, so it runs under
DB_UPLOAD_STATEMENT_TIMEOUT_MS rather than the request's DB_STATEMENT_TIMEOUT_MS, and the whole
body (to its end, for the digest) is read inside it: the transaction is never idle while a slow
client sends. Any exception inside the COPY block ends the COPY (psycopg sends CopyFail) before
the rollback; a COPY left open makes the rollback wait forever, holding the connection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from apps.models.selectors import auto_label_threshold
from apps.models.services import pace_holds_new_items, predictions_imported
from apps.tasks import ingest
from apps.tasks.errors import (
    BatchRejected,
    BodyUnreadable,
    IdempotencyConflict,
    TooManyRows,
    UploadTooLarge,
)
from apps.tasks.models import HIT, Batch, Item, Project
from apps.tasks.services.projects import refuse_unless_native
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput

STAGING = "batch_staging"
STAGING_WORK_MEM = "64MB"
COPY_BLOCK_ROWS = 2_000  # about 200 kB of COPY text per write
INSERT_CHUNK_PAGES = 1_000  # 8 MB of staging table, ~50k rows, per INSERT statement
STAGING_COLUMNS = (
    "row_no", "line_no", "external_id", "payload", "prediction", "confidence",
    "model_version", "gold_label", "is_gold", "state",
)  # fmt: skip


@dataclass
class BatchImportResult:
    batch: Batch
    replayed: bool  # True: an idempotent re-send; nothing was created.


class _Rejected(Exception):
    def __init__(self, errors: list[ingest.RowError], error_count: int, rows: int, digest: str):
        super().__init__("rejected")
        self.errors = errors
        self.error_count = error_count
        self.rows = rows
        self.digest = digest


class _Replay(Exception):
    def __init__(self, batch: Batch) -> None:
        super().__init__("replay")
        self.batch = batch


def batch_import(
    *,
    project: Project,
    user: User,
    stream: BinaryIO,
    file_name: str = "",
    fmt: str | None = None,
    idempotency_key: str | None = None,
    model_version: str = "",
    declared_bytes: int | None = None,
) -> BatchImportResult:
    """Import one upload whole, or raise BatchRejected (400), another InvalidInput (400),
    IdempotencyConflict (409), UploadTooLarge or TooManyRows (413).

    Replays return the first batch with `replayed=True`: the same Idempotency-Key with the same
    body, or (without a key) a body identical to an earlier imported batch of the project.
    `declared_bytes` (the Content-Length of a raw body): a body that ends short is refused.
    Not wrapped in one @transaction.atomic on purpose: the import runs in its own transaction,
    and a rejection is recorded in a second one after the first was rolled back.
    """
    refuse_unless_native(project, "uploading a batch")
    fmt = _checked_options(fmt, file_name, idempotency_key, model_version)
    idempotency_key = idempotency_key or None
    file_name = ingest.printable(file_name)
    reader, body = ingest.open_body(
        stream, max_bytes=settings.UPLOAD_MAX_BYTES, declared_bytes=declared_bytes
    )
    try:
        if idempotency_key:
            prior = Batch.objects.filter(project=project, idempotency_key=idempotency_key).first()
            if prior is not None:
                return BatchImportResult(_same_body_or_409(prior, reader), replayed=True)
        request = _Request(project, user, file_name, fmt, idempotency_key, model_version)
        with transaction.atomic():
            batch = _import(request, reader, body)
        predictions_imported(project=project, batch_id=batch.pk, model_name=model_version)
        return BatchImportResult(batch, replayed=False)
    except ingest.BodyTooLarge as exc:
        raise UploadTooLarge(settings.UPLOAD_MAX_BYTES) from exc
    except ingest.BodyUnreadable as exc:
        raise BodyUnreadable(str(exc)) from exc
    except _Replay as replay:
        return BatchImportResult(replay.batch, replayed=True)
    except _Rejected as rejected:
        raise _record_rejection(project, user, file_name, fmt, rejected) from None
    except IntegrityError:
        # Only a racing upload with the same key gets here (imports of one project are
        # serialized by a row lock, this is the constraint backing it).
        prior = Batch.objects.filter(project=project, idempotency_key=idempotency_key).first()
        if prior is None:
            raise
        return BatchImportResult(_same_body_or_409(prior, reader), replayed=True)


def _checked_options(
    fmt: str | None, file_name: str, idempotency_key: str | None, model_version: str
) -> str:
    """The upload's format; a 400 naming the option that is not acceptable."""

    def invalid(field: str, message: str) -> InvalidInput:
        return InvalidInput(message, errors={field: [message]})

    try:
        fmt = ingest.detect_format(fmt=fmt, file_name=file_name)
    except ingest.FormatUnknown as exc:
        raise invalid("format", str(exc)) from exc
    if idempotency_key and len(idempotency_key) > 255:
        raise invalid("Idempotency-Key", "At most 255 characters.")
    if idempotency_key and not ingest.storable(idempotency_key):
        raise invalid("Idempotency-Key", "No NUL characters.")
    message = ingest.check_model_version(model_version)
    if message:
        raise invalid("model_version", message)
    return fmt


@dataclass(frozen=True)
class _Request:
    project: Project
    user: User
    file_name: str
    fmt: str
    idempotency_key: str | None
    model_version: str


def _same_body_or_409(prior: Batch, reader: ingest.LimitedReader) -> Batch:
    if reader.drain() != prior.content_sha256:
        raise IdempotencyConflict()
    return prior


def _import(request: _Request, reader: ingest.LimitedReader, body: BinaryIO) -> Batch:
    project = request.project
    # With an accuracy target, the import's model auto-labels only above the threshold its
    # audited record gives (none yet: nothing auto-labels).
    threshold = auto_label_threshold(project=project, source="import")
    validator = ingest.RowValidator(
        item_kind=project.item_kind,
        labels=project.labels,
        threshold=math.inf if threshold is None else threshold,
        model_version=request.model_version,
    )
    with connection.cursor() as cursor:
        _create_staging(cursor)
        staged = _stage_rows(cursor, reader, body, request.fmt, validator)
        rows, errors, error_count, digest = staged
        if connection.vendor == "postgresql" and not error_count:
            # A temp table has no statistics until analyzed: without them the planner picks
            # nested loops for the checks and the insert below.
            cursor.execute(f"ANALYZE {STAGING}")
        if error_count:
            raise _Rejected(errors, error_count, rows, digest)
        if rows == 0:
            empty = [ingest.RowError(0, None, None, "The file holds no rows.")]
            raise _Rejected(empty, 1, 0, digest)
        # One import at a time per project: the duplicate checks below then see every
        # committed item, and a racing upload with the same key finds the first one.
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
        _raise_if_replay(request, digest)
        errors, error_count, existing = _cross_row_errors(cursor, project)
        if error_count:
            raise _Rejected(errors, error_count, rows, digest)
        batch = Batch.objects.create(
            project=project,
            uploaded_by=request.user,
            file_name=request.file_name[:255],
            format=request.fmt,
            status=Batch.Status.IMPORTED,
            idempotency_key=request.idempotency_key,
            content_sha256=digest,
            row_count=rows,
        )
        _insert_items_and_hits(cursor, batch, project, skip_existing=existing > 0)
        cursor.execute(f"DROP TABLE {STAGING}")
    _count_into(batch)
    return batch


def _raise_if_replay(request: _Request, digest: str) -> None:
    batches = Batch.objects.filter(project=request.project, status=Batch.Status.IMPORTED)
    if request.idempotency_key:
        prior = batches.filter(idempotency_key=request.idempotency_key).first()
        if prior is not None:
            if prior.content_sha256 != digest:
                raise IdempotencyConflict()
            raise _Replay(prior)
    prior = batches.filter(content_sha256=digest).order_by("pk").first()
    if prior is not None:
        raise _Replay(prior)


# --- Staging ------------------------------------------------------------------------------


def _create_staging(cursor: Any) -> None:
    if connection.vendor == "postgresql":
        # Hash joins and aggregates over a million staged rows, in memory, for this import only.
        cursor.execute(f"SET LOCAL work_mem = '{STAGING_WORK_MEM}'")
    payload_type = "jsonb" if connection.vendor == "postgresql" else "text"
    temp = "pg_temp" if connection.vendor == "postgresql" else "temp"
    cursor.execute(f"DROP TABLE IF EXISTS {temp}.{STAGING}")
    suffix = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""
    cursor.execute(
        f"CREATE TEMPORARY TABLE {STAGING} (row_no integer, line_no integer, "
        f"external_id text, payload {payload_type}, prediction text, confidence double precision, "
        f"model_version text, gold_label text, is_gold boolean, state text){suffix}"
    )


def _stage_rows(
    cursor: Any,
    reader: ingest.LimitedReader,
    body: BinaryIO,
    fmt: str,
    validator: ingest.RowValidator,
) -> tuple[int, list[ingest.RowError], int, str]:
    """Validate every row; stage the valid ones while no row has failed yet.

    Returns the rows, the first errors, their count and the body's digest: the body is read to
    its end inside the COPY (see the module docstring).
    """
    errors: list[ingest.RowError] = []
    error_count = 0
    rows = 0
    max_rows = settings.UPLOAD_MAX_ROWS
    limits = ingest.Limits(
        max_line_bytes=settings.UPLOAD_MAX_LINE_BYTES, max_columns=settings.UPLOAD_MAX_COLUMNS
    )
    with _staging_writer(cursor) as write:
        for result in ingest.iter_checked(body, fmt, validator, limits):
            if result.row > rows:
                rows = result.row
                if rows > max_rows:
                    raise TooManyRows(settings.UPLOAD_MAX_ROWS)
            if type(result) is ingest.RowError:
                error_count += 1
                if len(errors) < ingest.MAX_ERRORS:
                    errors.append(result)
            elif not error_count:
                write(result)  # a CleanRow is a tuple in STAGING_COLUMNS order
        write.flush()
        digest = reader.drain()
    return rows, errors, error_count, digest


class _Writer:
    """Appends rows and writes them a block at a time (`flush` writes the rest)."""

    def __init__(self, block_rows: int, write_block: Callable[[list[Any]], None]) -> None:
        self.block_rows = block_rows
        self.write_block = write_block
        self.pending: list[Any] = []

    def __call__(self, row: Any) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.block_rows:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.write_block(self.pending)
            self.pending = []


@contextmanager
def _staging_writer(cursor: Any) -> Iterator[_Writer]:
    """COPY into the staging table on PostgreSQL; executemany in chunks elsewhere.

    The COPY gets text rendered by `ingest.copy_line` in blocks of COPY_BLOCK_ROWS rows: one
    `copy.write` per block costs a fraction of one `write_row` per row. Every write, the last
    flush included, happens inside psycopg's `copy()` block, whose exit ends the COPY on any
    exception (a CopyFail), so the connection is left usable.
    """
    if connection.vendor != "postgresql":
        marks = ", ".join(["%s"] * len(STAGING_COLUMNS))
        sql = f"INSERT INTO {STAGING} ({', '.join(STAGING_COLUMNS)}) VALUES ({marks})"
        yield _Writer(settings.UPLOAD_CHUNK_ROWS, lambda rows: cursor.executemany(sql, rows))
        return
    # The COPY lasts as long as the body takes to arrive: its own, longer, limit.
    timeout = int(settings.DB_UPLOAD_STATEMENT_TIMEOUT_MS)
    cursor.execute(f"SET LOCAL statement_timeout = {timeout}")
    columns = ", ".join(STAGING_COLUMNS)
    with cursor.cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:

        def write_block(rows: list[ingest.CleanRow]) -> None:
            copy.write("".join(map(ingest.copy_line, rows)))

        yield _Writer(COPY_BLOCK_ROWS, write_block)


# --- Checks across rows -------------------------------------------------------------------


def _cross_row_errors(cursor: Any, project: Project) -> tuple[list[ingest.RowError], int, int]:
    """The errors, their count, and how many staged ids the project already has."""
    duplicates, duplicate_count = _duplicates_in_file(cursor)
    conflicts, conflict_count, existing = _conflicts_with_project(cursor, project)
    errors = sorted([*duplicates, *conflicts], key=lambda e: e.row)[: ingest.MAX_ERRORS]
    return errors, duplicate_count + conflict_count, existing


def _duplicates_in_file(cursor: Any) -> tuple[list[ingest.RowError], int]:
    """Each repeat of an external id is one error naming the row that had it first."""
    cursor.execute(
        f"SELECT s.row_no, s.line_no, s.external_id, f.first_row, count(*) OVER () "
        f"FROM {STAGING} s JOIN ("
        f"  SELECT external_id, min(row_no) AS first_row FROM {STAGING}"
        f"  GROUP BY external_id HAVING count(*) > 1"
        f") f ON f.external_id = s.external_id AND s.row_no <> f.first_row "
        f"ORDER BY s.row_no LIMIT {ingest.MAX_ERRORS}"
    )
    rows = cursor.fetchall()
    errors = []
    for row_no, line_no, external_id, first_row, _ in rows:
        message = f"Duplicate external_id {external_id!r}: rows {first_row} and {row_no}."
        errors.append(ingest.RowError(row_no, line_no, "external_id", message))
    return errors, rows[0][4] if rows else 0


def _conflicts_with_project(
    cursor: Any, project: Project
) -> tuple[list[ingest.RowError], int, int]:
    """An external id already in the project with a different payload or gold label.

    Also returns how many staged ids the project already has (conflicting or not).
    """
    item_table = Item._meta.db_table
    join = (
        f"FROM {STAGING} s JOIN {item_table} i "
        f"ON i.project_id = %s AND i.external_id = s.external_id"
    )
    differs = "i.payload <> s.payload OR i.gold_label <> s.gold_label"
    if connection.vendor == "postgresql":
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE {differs}) {join}", [project.pk])
        existing, total = cursor.fetchone()
        found = []
        if total:
            cursor.execute(
                f"SELECT s.row_no, s.line_no, s.external_id {join} WHERE {differs} "
                f"ORDER BY s.row_no LIMIT {ingest.MAX_ERRORS}",
                [project.pk],
            )
            found = cursor.fetchall()
    else:
        # SQLite keeps JSON as text, where key order and spacing differ: compare parsed values.
        cursor.execute(
            f"SELECT s.row_no, s.line_no, s.external_id, s.payload, i.payload, s.gold_label, "
            f"i.gold_label {join} ORDER BY s.row_no",
            [project.pk],
        )
        found, total, existing = [], 0, 0
        for row_no, line_no, external_id, new, old, new_gold, old_gold in cursor.fetchall():
            existing += 1
            if json.loads(new) != json.loads(old) or new_gold != old_gold:
                total += 1
                if len(found) < ingest.MAX_ERRORS:
                    found.append((row_no, line_no, external_id))
    message = "external_id {!r} already exists in this project with different content."
    errors = [ingest.RowError(r, line, "external_id", message.format(e)) for r, line, e in found]
    return errors, total, existing


# --- Writes -------------------------------------------------------------------------------


def _insert_items_and_hits(
    cursor: Any, batch: Batch, project: Project, *, skip_existing: bool
) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    auto = f"s.state = '{Item.State.AUTO_LABELED}'"
    item_columns = {
        "project_id": ("%s", project.pk),
        "batch_id": ("%s", batch.pk),
        "external_id": ("s.external_id", None),
        "payload": ("s.payload", None),
        "prediction": ("s.prediction", None),
        "confidence": ("s.confidence", None),
        "model_version": ("s.model_version", None),
        "state": ("s.state", None),
        "final_label": (f"CASE WHEN {auto} THEN s.prediction ELSE '' END", None),
        "label_source": (f"CASE WHEN {auto} THEN '{Item.Source.MODEL}' ELSE '' END", None),
        "final_confidence": (f"CASE WHEN {auto} THEN s.confidence END", None),
        "is_gold": ("s.is_gold", None),
        "gold_label": ("s.gold_label", None),
        "created_at": ("%s", now),
        "updated_at": ("%s", now),
    }
    columns, select, item_params = _insert_parts(Item, item_columns)
    item_table = Item._meta.db_table
    insert_items = f"INSERT INTO {item_table} ({columns}) SELECT {select} FROM {STAGING} s"
    if skip_existing:
        # Rows whose external id already exists (with identical content) are skipped.
        insert_items += (
            f" WHERE NOT EXISTS (SELECT 1 FROM {item_table} i "
            f"WHERE i.project_id = %s AND i.external_id = s.external_id)"
        )
        item_params.append(project.pk)
    hit_columns = {
        "item_id": ("i.id", None),
        "project_id": ("%s", project.pk),
        "answers_wanted": ("%s", project.min_overlap),
        "priority": ("0", None),
        "is_gold": ("i.is_gold", None),
        "state": (f"'{HIT.State.OPEN}'", None),
        # Pacing on: the batch's items wait held; predictions_imported opens the first ones.
        "held": ("NOT i.is_gold" if pace_holds_new_items(project=project) else "false", None),
        "created_at": ("%s", now),
        "updated_at": ("%s", now),
    }
    columns, select, hit_params = _insert_parts(HIT, hit_columns)
    insert_hits = f"INSERT INTO {HIT._meta.db_table} ({columns}) SELECT {select} FROM "
    waiting = f"i.state = '{Item.State.WAITING}'"
    if connection.vendor == "postgresql":
        # The HITs come from the RETURNING rows, not a second scan of the items.
        insert = f"WITH i AS ({insert_items}{{chunk}} RETURNING id, is_gold, state) "
        insert += f"{insert_hits} i WHERE {waiting}"
        _insert_in_chunks(cursor, insert, [*item_params, *hit_params], chunked=not skip_existing)
    else:
        cursor.execute(insert_items, item_params)
        cursor.execute(
            f"{insert_hits} {item_table} i WHERE i.batch_id = %s AND {waiting}",
            [*hit_params, batch.pk],
        )


def _insert_in_chunks(cursor: Any, insert: str, params: list[Any], *, chunked: bool) -> None:
    """Run `insert` over the staging table, INSERT_CHUNK_PAGES of it per statement.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: left so, PostgreSQL queues one RI
    check per FK per row and runs them all at COMMIT, re-reading every new row from a heap
    that no longer fits in shared_buffers at a million rows. Made IMMEDIATE, each statement
    checks its own rows at its end, while their pages are still in memory. The chunks are
    ranges of the staging table's pages (a TID range scan, PostgreSQL 14+), which holds the
    rows in file order.
    """
    if not chunked or connection.pg_version < 140000:
        cursor.execute(insert.replace("{chunk}", ""), params)
        return
    cursor.execute(f"SELECT pg_relation_size('{STAGING}') / current_setting('block_size')::int")
    pages = cursor.fetchone()[0]
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for start in range(0, max(pages, 1), INSERT_CHUNK_PAGES):
        end = start + INSERT_CHUNK_PAGES
        chunk = f" WHERE s.ctid >= '({start},0)'::tid AND s.ctid < '({end},0)'::tid"
        cursor.execute(insert.replace("{chunk}", chunk), params)
    # Back to the schema's default for the rest of the transaction (Django makes every
    # deferrable constraint INITIALLY DEFERRED).
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _insert_parts(model: type, given: dict[str, tuple[str, Any]]) -> tuple[str, str, list[Any]]:
    """Column list, SELECT list and params for a raw INSERT ... SELECT into `model`.

    Columns not in `given` get what the ORM would write, so a field added later does not break
    the import.
    """
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in given:
            expression, value = given[field.column]
        elif field.has_default() or not field.null:
            # What the ORM would write: the default, or "" for a blank text field.
            expression, value = "%s", field.get_db_prep_save(field.get_default(), connection)
        else:
            continue  # nullable without a default: NULL
        columns.append(connection.ops.quote_name(field.column))
        expressions.append(expression)
        if expression == "%s":
            params.append(value)
    return ", ".join(columns), ", ".join(expressions), params


def _count_into(batch: Batch) -> None:
    """The batch counters, recomputed from the rows just inserted (never kept by signals)."""
    per_state = dict(
        Item.objects.filter(batch=batch)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    batch.created_count = sum(per_state.values())
    batch.auto_labeled_count = per_state.get(Item.State.AUTO_LABELED, 0)
    batch.sent_to_people_count = per_state.get(Item.State.WAITING, 0)
    batch.save(update_fields=["created_count", "auto_labeled_count", "sent_to_people_count"])


@transaction.atomic
def _record_rejection(
    project: Project, user: User, file_name: str, fmt: str, rejected: _Rejected
) -> BatchRejected:
    errors = [e.as_dict() for e in rejected.errors[: ingest.MAX_ERRORS]]
    batch = Batch.objects.create(
        project=project,
        uploaded_by=user,
        file_name=file_name[:255],
        format=fmt,
        status=Batch.Status.REJECTED,
        content_sha256=rejected.digest,
        row_count=rejected.rows,
        error_count=rejected.error_count,
        errors=errors,
    )
    return BatchRejected(errors=errors, error_count=rejected.error_count, batch=batch)
