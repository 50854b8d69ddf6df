"""Writes of the MTurk app: access keys (create, revoke, last use)."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.mturk.errors import AccessKeyLimit, EncryptionUnavailable
from apps.mturk.models import AccessKey, HITType
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


# --- HIT types -----------------------------------------------------------------------------

# MTurk's limits (its API reference): 30 s to 365 days to do an assignment, auto-approval
# within 30 days (its default), and the lengths of the text fields.
ASSIGNMENT_DURATION = (30, 365 * 24 * 3600)
AUTO_APPROVAL_DELAY_MAX = 30 * 24 * 3600
REWARD_MAX = Decimal("99999999.99")  # HITType.reward's digits
ID_ALPHABET = string.ascii_uppercase + string.digits
MTURK_ID_LENGTH = 30


def mturk_id() -> str:
    """An id shaped like MTurk's (30 upper-case letters and digits): HITs, HIT types."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(MTURK_ID_LENGTH))


def hit_type_fingerprint(values: dict[str, object]) -> str:
    canonical = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def hit_type_create(
    *,
    requester: User,
    title: str,
    description: str,
    reward: Decimal,
    assignment_duration_seconds: int,
    auto_approval_delay_seconds: int = AUTO_APPROVAL_DELAY_MAX,
    keywords: str = "",
) -> HITType:
    """The requester's HIT type with these values: an existing one if they made it before
    (MTurk's behaviour), else a new one. Refusals name MTurk's parameter."""
    low, high = ASSIGNMENT_DURATION
    if not low <= assignment_duration_seconds <= high:
        raise InvalidInput.field(
            "AssignmentDurationInSeconds", f"Must be between {low} and {high} seconds."
        )
    if not 0 <= auto_approval_delay_seconds <= AUTO_APPROVAL_DELAY_MAX:
        raise InvalidInput.field(
            "AutoApprovalDelayInSeconds", f"Must be between 0 and {AUTO_APPROVAL_DELAY_MAX}."
        )
    values = {
        "title": title.strip(),
        "description": description.strip(),
        "keywords": keywords.strip(),
        "reward": reward.quantize(Decimal("0.01")),
        "assignment_duration_seconds": assignment_duration_seconds,
        "auto_approval_delay_seconds": auto_approval_delay_seconds,
    }
    for name, field, text in (
        ("Title", "title", values["title"]),
        ("Description", "description", values["description"]),
        ("Keywords", "keywords", values["keywords"]),
    ):
        most = HITType._meta.get_field(field).max_length
        if len(text) > most:
            raise InvalidInput.field(name, f"At most {most} characters.")
        if field != "keywords" and not text:
            raise InvalidInput.field(name, "Must not be empty.")
    if values["reward"] > REWARD_MAX:
        raise InvalidInput.field("Reward", f"At most {REWARD_MAX}.")
    fingerprint = hit_type_fingerprint(values)
    existing = HITType.objects.filter(requester=requester, fingerprint=fingerprint).first()
    if existing is not None:
        return existing
    hit_type = HITType(
        requester=requester, hit_type_id=mturk_id(), fingerprint=fingerprint, **values
    )
    full_clean(hit_type)
    hit_type, _ = HITType.objects.get_or_create(
        requester=requester,
        fingerprint=fingerprint,
        defaults={k: getattr(hit_type, k) for k in ("hit_type_id", *values)},
    )
    return hit_type
