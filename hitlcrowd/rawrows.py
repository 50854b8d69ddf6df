"""Model instances from raw SQL rows, for the hot paths where compiling an ORM query costs more
CPU than running it (next task, submit, token check: ~0.3-1 ms per query on this stack).

`hot_cursor()` is a cursor whose statements PostgreSQL parses and plans once per connection
(psycopg server-side binding, prepared): Django's cursors bind client-side, so PostgreSQL plans
every statement again; for the claim that was 0.4 ms of its 0.45 ms of server CPU.

`RowReader.of(Model, "alias")` gives the column list to put in a SELECT and turns the matching
slice of a row into a model instance, with the same conversions the ORM applies (the
backend's, e.g. SQLite's booleans and datetimes, then the field's, e.g. JSON decoding).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model, QuerySet


@contextmanager
def hot_cursor() -> Iterator[Any]:
    """A Django cursor (error wrapping as usual) that prepares its statements on PostgreSQL,
    unless settings.DB_PREPARED_STATEMENTS is off (e.g. behind a pooler that cannot keep
    them). Use it for fixed SQL texts only: each distinct text is prepared once per
    connection. Elsewhere it is a plain cursor."""
    # While queries are logged (DEBUG, tests capturing queries) a plain cursor: psycopg keeps
    # no text of a prepared statement for Django to log.
    if (
        connection.vendor != "postgresql"
        or not settings.DB_PREPARED_STATEMENTS
        or connection.queries_logged
    ):
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    psycopg_connection = connection.connection
    if psycopg_connection.prepare_threshold is None:
        # Django turns psycopg's preparing off (None), which also refuses prepare=True. Its
        # own cursors bind client-side and never prepare, so a threshold no statement reaches
        # makes only ours prepared.
        psycopg_connection.prepare_threshold = 2**31 - 1
    with connection.wrap_database_errors:
        raw = _preparing_cursor_class()(psycopg_connection)
    # What connection.cursor() does with the driver's cursor while queries are not logged.
    connection.validate_thread_sharing()
    with connection.make_cursor(raw) as cursor:
        yield cursor


@cache
def _preparing_cursor_class() -> type:
    # Imported on first use: the PostgreSQL backend module needs psycopg loaded.
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


@dataclass(frozen=True)
class RowReader:
    model: type[Model]
    fields: tuple[Field, ...]
    columns: str
    expressions: tuple[Any, ...]  # the Col each converter is called with, as the ORM does
    converters: tuple[tuple[Callable[..., Any], ...], ...]

    @property
    def width(self) -> int:
        return len(self.fields)

    @classmethod
    def of(cls, model: type[Model], alias: str, names: Sequence[str] | None = None) -> RowReader:
        """Reader for `names` (attnames; default: every concrete field) of `model` AS `alias`.
        Cached per model, alias, names and database vendor."""
        key = (model, alias, tuple(names) if names else None, connection.vendor)
        reader = _READERS.get(key)
        if reader is None:
            reader = _READERS[key] = cls._build(model, alias, names)
        return reader

    @classmethod
    def _build(cls, model: type[Model], alias: str, names: Sequence[str] | None) -> RowReader:
        meta = model._meta
        fields = tuple(
            meta.concrete_fields
            if names is None
            else [f for f in meta.concrete_fields if f.attname in names]
        )
        if names is not None and len(fields) != len(names):
            raise ValueError(f"unknown fields among {names} of {model.__name__}")
        quote = connection.ops.quote_name
        columns = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
        expressions = tuple(field.get_col(alias) for field in fields)
        converters = tuple(
            tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            for col in expressions
        )
        return cls(model, fields, columns, expressions, converters)

    def values(self, row: Sequence[Any], start: int = 0) -> list[Any]:
        out = []
        for expression, converters, value in zip(
            self.expressions, self.converters, row[start : start + self.width], strict=True
        ):
            for converter in converters:
                value = converter(value, expression, connection)
            out.append(value)
        return out

    def instance(self, row: Sequence[Any], start: int = 0) -> Model:
        names = [field.attname for field in self.fields]
        return self.model.from_db(connection.alias, names, self.values(row, start))


def fetch_rows(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows straight from the driver, without Django's per-row
    converters: a json.loads per JSON value cost more than the query on 100k rows (the
    consensus run's reads). The values are the backend's (JSON as text, SQLite's booleans as
    integers)."""
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def read_row(row: Sequence[Any], *readers: RowReader) -> tuple[list[Model], Sequence[Any]]:
    """The instances of a row whose columns are `readers`' columns in that order, and the
    row's remaining columns (extra expressions selected after them)."""
    instances, start = [], 0
    for reader in readers:
        instances.append(reader.instance(row, start))
        start += reader.width
    return instances, row[start:]


_READERS: dict[tuple, RowReader] = {}


def insert_row(model: type[Model], **values: Any) -> Model:
    """INSERT one row of `model` from attname=value pairs (no defaults or pre_save hooks are
    applied: give every column) and return it as a saved instance with its new primary key."""
    instance = model(**values)
    fields = _fields(model, tuple(values))
    key = ("insert", model, tuple(values), connection.vendor)
    sql = _SQL.get(key)
    if sql is None:
        quote, meta = connection.ops.quote_name, model._meta
        columns = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        pk = quote(meta.pk.column)
        sql = _SQL[key] = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({marks}) RETURNING {pk}"
    with hot_cursor() as cursor:
        cursor.execute(sql, _params(instance, fields))
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def update_row(instance: Model, *names: str) -> None:
    """UPDATE the row of `instance` with its current values of `names` (attnames): like
    save(update_fields=...) without pre_save hooks (auto_now is not applied)."""
    model = type(instance)
    fields = _fields(model, names)
    with hot_cursor() as cursor:
        cursor.execute(_update_sql(model, names, fields), [*_params(instance, fields), instance.pk])


def update_rows(instances: Sequence[Model], *names: str) -> None:
    """The one way to write many rows of one model: each instance's current values of `names`
    (attnames), like bulk_update without pre_save hooks (auto_now is not applied).

    On PostgreSQL, one prepared UPDATE ... FROM unnest(an array per column) per UPDATE_BATCH
    rows; elsewhere, one executemany of update_row's statement, in id order. Django's
    bulk_update builds a CASE expression per row and field: compiling it cost ~0.5 ms of CPU
    per row (95% of a re-score chunk) and ~10 s for a consensus run's 2,000 items of 7
    fields; one UPDATE per row made a re-queue of 13k items 5x slower (bench/guidelines.py).

    PostgreSQL locks the rows in the order it joins them (heap order for a hash join): a
    writer of rows other transactions write locks them first, in id order
    (hitlcrowd.locking.lock_in_id_order), as every caller does."""
    if not instances:
        return
    model = type(instances[0])
    fields = _fields(model, names)
    ordered = sorted(instances, key=lambda instance: instance.pk)
    if connection.vendor != "postgresql":
        with hot_cursor() as cursor:
            cursor.executemany(
                _update_sql(model, names, fields),
                [[*_params(instance, fields), instance.pk] for instance in ordered],
            )
        return
    sql = _update_many_sql(model, names, fields)
    pk = model._meta.pk
    for start in range(0, len(ordered), UPDATE_BATCH):
        chunk = ordered[start : start + UPDATE_BATCH]
        columns = [[pk.get_db_prep_save(instance.pk, connection) for instance in chunk]]
        columns += [[_param(instance, field) for instance in chunk] for field in fields]
        with hot_cursor() as cursor:
            cursor.execute(sql, columns)


UPDATE_BATCH = 5000


def _update_many_sql(model: type[Model], names: tuple[str, ...], fields: list[Field]) -> str:
    """UPDATE table AS t SET a = v.a, ... FROM unnest(%s::pk_type[], %s::a_type[], ...) AS
    v(pk, a, ...) WHERE t.pk = v.pk, each array cast to its column's type."""
    key = ("update_many", model, names)
    sql = _SQL.get(key)
    if sql is None:
        quote, meta = connection.ops.quote_name, model._meta
        targets = [meta.pk, *fields]
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in targets)
        aliases = ", ".join(quote(field.column) for field in targets)
        sets = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
        pk = quote(meta.pk.column)
        sql = _SQL[key] = (
            f"UPDATE {quote(meta.db_table)} AS t SET {sets} "
            f"FROM unnest({arrays}) AS v({aliases}) WHERE t.{pk} = v.{pk}"
        )
    return sql


def _update_sql(model: type[Model], names: tuple[str, ...], fields: list[Field]) -> str:
    key = ("update", model, names, connection.vendor)
    sql = _SQL.get(key)
    if sql is None:
        quote, meta = connection.ops.quote_name, model._meta
        sets = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        pk = quote(meta.pk.column)
        sql = _SQL[key] = f"UPDATE {meta.db_table} SET {sets} WHERE {pk} = %s"
    return sql


def _fields(model: type[Model], names: tuple[str, ...]) -> list[Field]:
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    return [by_attname[name] for name in names]


def _params(instance: Model, fields: list[Field]) -> list[Any]:
    return [_param(instance, field) for field in fields]


def _param(instance: Model, field: Field) -> Any:
    return field.get_db_prep_save(getattr(instance, field.attname), connection)


_SQL: dict[tuple, str] = {}
