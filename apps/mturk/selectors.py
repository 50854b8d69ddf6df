"""Reads of the MTurk app, scoped to the requester asking."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.mturk.models import AccessKey
from apps.workers.models import User
from hitlcrowd.errors import one_or_not_found


def access_key_list(*, requester: User) -> QuerySet[AccessKey]:
    """The requester's keys, live and revoked, newest first (never the secrets)."""
    return AccessKey.objects.filter(requester=requester).defer("secret_encrypted")


def access_key_get(*, requester: User, key_id: int) -> AccessKey:
    """One of the requester's keys by its row id; another requester's is NotFound."""
    return one_or_not_found(access_key_list(requester=requester), pk=key_id)


def access_key_for_signature(*, access_key_id: str) -> AccessKey | None:
    """The live key a request names, with its requester, or None (unknown, revoked, or its
    requester deactivated or no longer a requester). One query on the unique index."""
    key = (
        AccessKey.objects.select_related("requester")
        .filter(access_key_id=access_key_id, revoked_at__isnull=True)
        .first()
    )
    if key is None or not key.requester.is_active or not key.requester.is_requester:
        return None
    return key
