"""Writes to accounts themselves: passwords, and the sessions and API tokens that hang on them.

A new password ends every other way into the account: Django already refuses a session whose
password hash no longer matches (on its next request), but knox tokens do not depend on the
password, so they are deleted here; the sessions are deleted from the store too, rather than
left to be refused one by one.

Finding a user's sessions: the session store (`SESSION_ENGINE`, Django's default database
store here) keeps the user id inside the signed session data, so the live sessions are read
and decoded (~20 us each: 100k live sessions cost ~2 s, for an action an account takes
rarely). With a store that cannot be listed (pure cache), nothing is deleted and Django's
password-hash check is what ends them.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from apps.workers.models import User


@transaction.atomic
def user_password_set(
    *,
    user: User,
    password: str,
    keep_session_key: str | None = None,
    keep_token: AuthToken | None = None,
) -> User:
    """Give the account a new password (the caller's form has run the validators) and end its
    sessions and API tokens, except the session or token this request came with (the
    password change page keeps its user signed in; a reset keeps nothing)."""
    user.set_password(password)
    user.save(update_fields=["password"])
    user_tokens_end(user=user, keep=keep_token)
    user_sessions_end(user=user, keep_session_key=keep_session_key)
    return user


def user_tokens_end(*, user: User, keep: AuthToken | None = None) -> int:
    """Delete the account's API tokens (but `keep`); returns how many."""
    tokens = AuthToken.objects.filter(user=user)
    if keep is not None:
        tokens = tokens.exclude(pk=keep.pk)
    deleted, _ = tokens.delete()
    return deleted


def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """Delete the account's live web sessions (but `keep_session_key`); returns how many."""
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0  # not listable: Django's hash check ends them (see the module docstring)
    model = store_class.get_model_class()
    live = model.objects.filter(expire_date__gt=timezone.now())
    if keep_session_key is not None:
        live = live.exclude(session_key=keep_session_key)
    decoder = store_class()
    user_id = str(user.pk)
    ended = [
        key
        for key, data in live.values_list("session_key", "session_data").iterator(chunk_size=2000)
        if str(decoder.decode(data).get(SESSION_KEY)) == user_id
    ]
    for key in ended:
        store_class(session_key=key).delete()
    return len(ended)
