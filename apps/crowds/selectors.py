"""Reads of groups, members and invite links, scoped to who asks.

A requester sees only their own groups (admins see all), and everything under another
requester's group is a 404, as for projects. A worker sees the groups they are in.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.crowds.errors import InviteExpired, InviteNotFound, InviteRevoked, InviteUsedUp
from apps.crowds.models import InviteLink, Membership, WorkerGroup, invite_token_hash
from apps.workers.models import User
from hitlcrowd.errors import one_or_not_found

# An invite token as new_invite_token makes it (token_urlsafe(32): 43 characters); anything
# longer is refused before it is hashed.
MAX_TOKEN_LENGTH = 64


def group_list_for_requester(*, user: User) -> QuerySet[WorkerGroup]:
    """The requester's groups (admins: all), each with `member_count`."""
    groups = (
        WorkerGroup.objects.select_related("owner")
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("name", "id")  # Meta.ordering does not apply to a GROUP BY query
    )
    return groups if user.is_staff else groups.filter(owner=user)


def group_get_for_requester(*, user: User, group_id: int) -> WorkerGroup:
    """404 (not 403) for another requester's group, so ids don't leak."""
    return one_or_not_found(group_list_for_requester(user=user), pk=group_id)


def membership_list(*, group: WorkerGroup) -> QuerySet[Membership]:
    """The group's members, first joined first. Scope the group to its owner before calling."""
    return Membership.objects.filter(group=group).select_related("worker", "invite")


def membership_get(*, group: WorkerGroup, worker_id: int) -> Membership:
    return one_or_not_found(membership_list(group=group), worker_id=worker_id)


def invite_list(*, group: WorkerGroup) -> QuerySet[InviteLink]:
    """The group's invite links, newest first (their tokens are not stored)."""
    return InviteLink.objects.filter(group=group)


def invite_get(*, group: WorkerGroup, invite_id: int) -> InviteLink:
    return one_or_not_found(invite_list(group=group), pk=invite_id)


def invite_state(invite: InviteLink, *, now=None) -> str:
    """`live`, `expired`, `revoked` or `used_up` (the first that holds, in that order of
    precedence: revoked, expired, used up)."""
    now = now or timezone.now()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "used_up"
    return "live"


INVITE_REFUSALS = {
    "revoked": InviteRevoked,
    "expired": InviteExpired,
    "used_up": InviteUsedUp,
}


def invite_by_token(*, token: str) -> InviteLink:
    """The invite link of `token`, with its group and the group's owner; InviteNotFound for an
    unknown token. Usable or not: see `invite_usable_by_token`."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InviteNotFound()
    invite = (
        InviteLink.objects.select_related("group__owner")
        .filter(token_hash=invite_token_hash(token))
        .first()
    )
    if invite is None:
        raise InviteNotFound()
    return invite


def invite_usable_by_token(*, token: str) -> InviteLink:
    """The invite link of `token` while it can be used; else InviteNotFound, InviteRevoked,
    InviteExpired or InviteUsedUp."""
    invite = invite_by_token(token=token)
    state = invite_state(invite)
    if state != "live":
        raise INVITE_REFUSALS[state]()
    return invite


def group_list_for_worker(*, worker: User) -> QuerySet[Membership]:
    """The worker's memberships with their group and its owner, by group name (index
    membership_worker)."""
    return (
        Membership.objects.filter(worker=worker)
        .select_related("group__owner")
        .order_by("group__name", "group_id")
    )


def worker_is_member(*, worker: User, group: WorkerGroup) -> bool:
    return Membership.objects.filter(worker=worker, group=group).exists()


def invite_url(token: str) -> str:
    """The full link to give people: SITE_URL and the invite page of `token`."""
    return settings.SITE_URL.rstrip("/") + reverse("invite-open", args=[token])
