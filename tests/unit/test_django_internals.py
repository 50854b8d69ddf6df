"""The undocumented Django (and psycopg) API that hitlcrowd/rawrows.py relies on: a Django
upgrade that removes or reshapes one fails here, by name, instead of somewhere on a hot path.

If one fails: read the new Django's `django/db/backends/base/base.py` (connection.cursor()
and what it calls), `django/db/backends/postgresql/base.py` (the cursor classes) or
`django/db/models/sql/compiler.py` (how the ORM converts values it reads), fix
hitlcrowd/rawrows.py to match, and update the expectation here."""

import inspect

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, Model
from django.db.models.expressions import Col
from django.db.models.sql.query import Query


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# (owner, attribute, its parameters, what rawrows does with it)
RELIED_ON = [
    (BaseDatabaseWrapper, "make_cursor", ["self", "cursor"], "hot_cursor wraps its cursor"),
    (BaseDatabaseWrapper, "validate_thread_sharing", ["self"], "hot_cursor, as cursor() does"),
    (BaseDatabaseOperations, "get_db_converters", ["self", "expression"], "RowReader"),
    (Field, "get_col", ["self", "alias", "output_field"], "RowReader's expressions"),
    (Field, "get_db_prep_save", ["self", "value", "connection"], "insert_row, update_rows"),
    (Col, "get_db_converters", ["self", "connection"], "RowReader's field converters"),
    (Model, "from_db", ["db", "field_names", "values"], "RowReader.instance"),
    (Query, "get_compiler", ["self", "using", "connection", "elide_empty"], "fetch_rows"),
]


@pytest.mark.parametrize(
    ("owner", "name", "parameters", "use"),
    RELIED_ON,
    ids=[f"{owner.__name__}.{name}" for owner, name, _, _ in RELIED_ON],
)
def test_the_django_api_rawrows_relies_on_is_still_there(owner, name, parameters, use):
    where = f"{owner.__module__}.{owner.__name__}.{name}"
    assert hasattr(owner, name), (
        f"{where} is gone after a Django upgrade; hitlcrowd/rawrows.py uses it ({use}): "
        "port rawrows to what replaced it."
    )
    assert _parameters(getattr(owner, name)) == parameters, (
        f"{where} now takes {_parameters(getattr(owner, name))}, not {parameters}; "
        f"hitlcrowd/rawrows.py calls it ({use}): check the calls and update this list."
    )


def test_the_connection_still_says_whether_queries_are_logged():
    # hot_cursor falls back to a plain (logged) cursor while they are, since psycopg keeps
    # no text of a prepared statement for Django's debug cursor to log.
    assert isinstance(BaseDatabaseWrapper.queries_logged, property), (
        "BaseDatabaseWrapper.queries_logged is no longer a property: hot_cursor reads it."
    )
    assert hasattr(BaseDatabaseWrapper, "wrap_database_errors"), (
        "BaseDatabaseWrapper.wrap_database_errors is gone: hot_cursor wraps its cursor's "
        "creation in it so driver errors arrive as Django's."
    )


def test_the_postgresql_backend_still_has_a_server_binding_cursor_that_can_prepare():
    pytest.importorskip("psycopg")
    from django.db.backends.postgresql.base import ServerBindingCursor

    parameters = _parameters(ServerBindingCursor.execute)
    assert parameters[:3] == ["self", "query", "params"] and "prepare" in parameters, (
        "django.db.backends.postgresql.base.ServerBindingCursor.execute no longer takes "
        f"prepare= ({parameters}): hitlcrowd/rawrows.py's PreparingCursor passes "
        "prepare=True to make PostgreSQL plan each hot statement once per connection."
    )
