"""Writes to accounts themselves: passwords, email addresses, deactivation, and the sessions
and API tokens that hang on them.

A new password ends every other way into the account: Django already refuses a session whose
password hash no longer matches (on its next request), but knox tokens do not depend on the
password, so they are deleted here; the sessions are deleted from the store too, rather than
left to be refused one by one.

Finding a user's sessions: the session store (`SESSION_ENGINE`, Django's default database
store here) keeps the user id inside the signed session data, so the live sessions are read
and decoded: ~35 us each (SessionStore.decode of a login session, measured on the shared
2-core machine), so 100k live sessions cost ~3.5 s, for an action an account takes rarely.
With a store that cannot be listed (pure cache), nothing is deleted and Django's
password-hash check is what ends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from apps.workers.countries import COUNTRIES, SUBDIVISION
from apps.workers.errors import EmailLinkInvalid
from apps.workers.ledger import clean_reason
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput
from hitlcrowd.locking import lock_workers_for_block
from hitlcrowd.mail import email_enabled, email_send


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


# --- By the account itself: password and email -------------------------------------------------


def user_password_change(
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_key: str | None = None,
    keep_token: AuthToken | None = None,
) -> User:
    """The account changes its own password: the current one first, then Django's validators
    (AUTH_PASSWORD_VALIDATORS) on the new one; every other session and API token ends."""
    _check_current_password(user, current_password)
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise InvalidInput(
            "The new password is not accepted.", errors={"new_password": list(exc.messages)}
        ) from None
    return user_password_set(
        user=user, password=new_password, keep_session_key=keep_session_key, keep_token=keep_token
    )


def _check_current_password(user: User, password: str) -> None:
    if not isinstance(password, str) or not user.check_password(password):
        raise InvalidInput.field("current_password", "This is not your current password.")


# A link to confirm a new address: signed (SECRET_KEY), valid for PASSWORD_RESET_TIMEOUT (as a
# reset link), and bound to the address it replaces, so it works once: after the change (or
# any other), the account's address no longer matches and the link is refused.
EMAIL_CHANGE_SALT = "hitlcrowd.workers.email-change"


@dataclass(frozen=True)
class EmailChange:
    email: str  # the account's address now
    pending: str | None  # the new address, waiting for its link to be opened


def user_email_change(*, user: User, email: str, current_password: str) -> EmailChange:
    """The account asks for a new address (its current password first: whoever holds a session
    must not take the account over through a reset to their own address). When the deployment
    sends email, a link goes to the new address and the change waits for it
    (user_email_confirm), and the old address is told; without email the change is made now."""
    _check_current_password(user, current_password)
    email = _clean_email(email)
    if email.lower() == (user.email or "").lower():
        return EmailChange(email=user.email, pending=None)
    _check_unused(user, email)
    if not email_enabled():
        _set_email(user, email, verified=False)
        return EmailChange(email=user.email, pending=None)
    token = signing.dumps(
        {"user": user.pk, "email": email, "old": user.email or ""}, salt=EMAIL_CHANGE_SALT
    )
    context = {
        "user": user,
        "email": email,
        "link": settings.SITE_URL.rstrip("/") + reverse("email-change-confirm", args=[token]),
    }
    email_send(
        to=email,
        subject="Confirm your new HITLCrowd address",
        body=loader.render_to_string("workers/email/email_change_confirm.txt", context),
    )
    if user.email:
        email_send(
            to=user.email,
            subject="A new address for your HITLCrowd account",
            body=loader.render_to_string("workers/email/email_change_notice.txt", context),
        )
    return EmailChange(email=user.email, pending=email)


def email_change_read(*, token: str) -> tuple[User, str]:
    """The account and new address a confirmation link stands for; EmailLinkInvalid when it
    is forged, expired, already used or its account is gone or deactivated."""
    return _email_link(token, User.objects.all())


@transaction.atomic
def user_email_confirm(*, token: str) -> User:
    """Open a confirmation link: the account's address becomes the new one (once: the
    account's row is locked while the link is checked against its address)."""
    user, email = _email_link(token, User.objects.select_for_update())
    _set_email(user, email, verified=True)  # the link reached the new address
    return user


def _email_link(token: str, users) -> tuple[User, str]:
    try:
        data: dict[str, Any] = signing.loads(
            token, salt=EMAIL_CHANGE_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT
        )
    except signing.BadSignature:  # SignatureExpired is one
        raise EmailLinkInvalid() from None
    user = users.filter(pk=data.get("user"), is_active=True).first()
    if user is None or (user.email or "") != data.get("old"):
        raise EmailLinkInvalid()
    return user, data["email"]


def _clean_email(email: object) -> str:
    if not isinstance(email, str) or len(email) > 254:
        raise InvalidInput.field("email", "Enter a valid email address.")
    email = User.objects.normalize_email(email.strip())
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput.field("email", "Enter a valid email address.") from None
    return email


def _check_unused(user: User, email: str) -> None:
    """One account per address, as at sign-up (a reset link goes to every account with it)."""
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise InvalidInput.field("email", "An account already uses this address.")


def _set_email(user: User, email: str, *, verified: bool) -> None:
    """The new address, verified (apps/workers/signup.py) when a link sent to it was opened;
    unverified otherwise, whatever the old one was."""
    _check_unused(user, email)  # again when a link is opened: another account may have it now
    user.email = email
    user.email_verified_at = timezone.now() if verified else None
    user.save(update_fields=["email", "email_verified_at"])


# --- By the account itself: where I am ------------------------------------------------------------


def user_locale_set(
    *, user: User, country: str, subdivision: str = "", adult_content: bool = False
) -> User:
    """The worker says where they are (a country code of countries.py, optionally an ISO 3166-2
    subdivision of it without the prefix: "WA" for US-WA) and whether they agree to see adult
    content. No country clears both codes. Requirements of the MTurk API's HIT types read
    them (Worker_Locale, Worker_Adult)."""
    country = country.strip().upper() if isinstance(country, str) else None
    subdivision = subdivision.strip().upper() if isinstance(subdivision, str) else None
    if country is None or (country and country not in COUNTRIES):
        raise InvalidInput.field("country", "Pick a country from the list (ISO 3166 code).")
    if subdivision is None or (subdivision and not SUBDIVISION.fullmatch(subdivision)):
        raise InvalidInput.field(
            "subdivision",
            "An ISO 3166-2 subdivision code without the country: 1-3 letters or digits.",
        )
    if subdivision and not country:
        raise InvalidInput.field("subdivision", "Pick the country first.")
    user.country, user.subdivision = country, subdivision
    user.adult_content = bool(adult_content)
    user.save(update_fields=["country", "subdivision", "adult_content"])
    return user


# --- By an admin: deactivation --------------------------------------------------------------------


@dataclass(frozen=True)
class Deactivated:
    user: User
    tokens: int = 0
    sessions: int = 0
    leases: int = 0


@transaction.atomic
def user_deactivate(*, user: User, by: User | None, reason: str = "") -> Deactivated:
    """Close an account: it can no longer log in or use the API (is_active false), its API
    tokens and web sessions end, and its live leases end now with their slots back, so other
    workers get those tasks. Its answers, earnings and blocks stay as they are. Audited.
    An inactive account is returned as it is. An admin cannot deactivate their own account.

    The worker's row is locked first (as a block does): a submit of theirs in flight commits
    before, and one that comes after finds its lease ended. A claim already past its token
    check when this commits can still take a lease, which expires with its lease time."""
    if by is not None and by.pk == user.pk:
        raise InvalidInput.field("user", "You cannot deactivate your own account.")
    reason = clean_reason(reason)
    lock_workers_for_block([user.pk])
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return Deactivated(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    from apps.tasks.services.assignments.slots import assignment_release_for_worker

    done = Deactivated(
        user=user,
        tokens=user_tokens_end(user=user),
        sessions=user_sessions_end(user=user),
        leases=assignment_release_for_worker(worker_id=user.pk),
    )
    changes = {"is_active": [True, False], "tokens": done.tokens, "sessions": done.sessions}
    _audit(user, by, "account_deactivate", changes | {"leases": done.leases}, reason)
    return done


@transaction.atomic
def user_reactivate(*, user: User, by: User | None, reason: str = "") -> User:
    """Open a deactivated account again: it logs in with its password as before (its tokens and
    sessions are gone: it logs in anew). Audited; an active account is returned as it is."""
    reason = clean_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    _audit(user, by, "account_reactivate", {"is_active": [False, True]}, reason)
    return user


def _audit(user: User, by: User | None, action: str, changes: dict[str, Any], reason: str) -> None:
    """On the audit trail's account rows (no project)."""
    from apps.tasks.services.audit import audit_record

    if reason:
        changes = changes | {"reason": reason}
    audit_record(project_id=None, actor=by, action=action, obj=user, changes=changes)
