"""Access keys: create, revoke, read the secret back, record a use."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.mturk.errors import AccessKeyLimit, EncryptionUnavailable
from apps.mturk.models import AccessKey
from apps.workers.models import User
from hitlcrowd import secretbox
from hitlcrowd.errors import Forbidden, InvalidInput, full_clean

SECRET_PURPOSE = "mturk-access-key"
# AWS's shapes: AKIA + 16 characters, a 40-character secret.
KEY_ID_PREFIX = "AKIA"
KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
SECRET_LENGTH = 40
LIVE_KEYS_PER_REQUESTER = 10
LABEL_MAX = 100
# last_used_at is written at most this often per key, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewAccessKey:
    """A key just created, with its secret: the only time the secret is shown."""

    key: AccessKey
    secret: str


@transaction.atomic
def access_key_create(*, requester: User, label: str = "") -> NewAccessKey:
    if not requester.is_requester or not requester.is_active:
        raise Forbidden("Access keys are for requesters.")
    if not isinstance(label, str) or len(label.strip()) > LABEL_MAX:
        raise InvalidInput.field("label", f"At most {LABEL_MAX} characters.")
    if not secretbox.is_configured():
        raise EncryptionUnavailable()
    # Lock the requester's row: two concurrent creations cannot both pass the limit.
    User.objects.select_for_update().filter(pk=requester.pk).values("pk").first()
    live = AccessKey.objects.filter(requester=requester, revoked_at__isnull=True).count()
    if live >= LIVE_KEYS_PER_REQUESTER:
        raise AccessKeyLimit()
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    key = AccessKey(
        requester=requester,
        access_key_id=_new_key_id(),
        secret_encrypted=secretbox.encrypt(purpose=SECRET_PURPOSE, plaintext=secret),
        label=label.strip(),
    )
    full_clean(key)
    key.save()
    return NewAccessKey(key=key, secret=secret)


def _new_key_id() -> str:
    # 36^16 ids: a collision is out of reach, and the unique index would refuse one.
    return KEY_ID_PREFIX + "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(16))


@transaction.atomic
def access_key_revoke(*, key: AccessKey) -> AccessKey:
    """Revoke a key (scope it to its requester first); revoking it again changes nothing. A
    conditional UPDATE: a request verified just before still finishes, none after."""
    now = timezone.now()
    AccessKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    return key


def access_key_secret(*, key: AccessKey) -> str:
    """The plain secret, for verifying a signature (raises secretbox.Undecryptable when
    ENCRYPTION_KEY changed since the key was made)."""
    return secretbox.decrypt(purpose=SECRET_PURPOSE, token=key.secret_encrypted)


def access_key_touch(*, key: AccessKey, now: datetime | None = None) -> None:
    """Record a use, at most once per TOUCH_EVERY: one conditional UPDATE, skipped entirely
    while the stored time is recent."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    AccessKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


@dataclass(frozen=True)
class Reencrypted:
    """What access_keys_reencrypt did: secrets rewritten under the current ENCRYPTION_KEY,
    secrets already under it, and secrets no configured key opens (left as they are)."""

    rewritten: int
    current: int
    undecryptable: list[str]


@transaction.atomic
def access_keys_reencrypt() -> Reencrypted:
    """Rewrite every stored secret (live and revoked keys) under the current ENCRYPTION_KEY,
    after a rotation (hitlcrowd/secretbox.py). One transaction holding the rows: all of them
    are rewritten or none. Idempotent: a secret already under the current key is left alone,
    so a second run rewrites nothing. A secret no key opens is named, not changed."""
    keys = list(
        AccessKey.objects.select_for_update()
        .order_by("pk")
        .only("pk", "access_key_id", "secret_encrypted")
    )
    changed, undecryptable = [], []
    for key in keys:
        try:
            token = secretbox.reencrypt(purpose=SECRET_PURPOSE, token=key.secret_encrypted)
        except secretbox.Undecryptable:
            undecryptable.append(key.access_key_id)
            continue
        if token is not None:
            key.secret_encrypted = token
            changed.append(key)
    AccessKey.objects.bulk_update(changed, ["secret_encrypted"], batch_size=500)
    current = len(keys) - len(changed) - len(undecryptable)
    return Reencrypted(rewritten=len(changed), current=current, undecryptable=undecryptable)
