"""The workers app's raw SQL, in one place. Table names come from the models' `_meta`, the
column lists from `hitlcrowd.rawrows.RowReader`; statements run through `hot_cursor()`
(prepared on PostgreSQL: each text is planned once per connection)."""

from __future__ import annotations

from knox.models import AuthToken

from apps.workers.models import User
from hitlcrowd.rawrows import RowReader, hot_cursor, read_row


def tokens_with_user(token_key: str) -> list[AuthToken]:
    """The tokens with this key, each with its user attached: knox's
    `filter(token_key=...).select_related("user")` as raw SQL, whose ORM compilation cost
    ~0.5 ms of CPU on every hot-path request (the work API's token check)."""
    token_reader, user_reader = RowReader.of(AuthToken, "t"), RowReader.of(User, "u")
    sql = (
        f"SELECT {token_reader.columns}, {user_reader.columns} "
        f"FROM {AuthToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.token_key = %s"
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, [token_key])
        rows = cursor.fetchall()
    tokens = []
    for row in rows:
        (auth_token, auth_token.user), _ = read_row(row, token_reader, user_reader)
        tokens.append(auth_token)
    return tokens
