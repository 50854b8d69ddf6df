"""Writes for private crowds: groups, members, invite links, joining and leaving.

Joining through a link is the one write that races: many people may open a link with one use
left at once. The use is taken by a conditional UPDATE (`uses < max_uses`, not revoked, not
expired) that changes one row or none, as the budget and the claim do elsewhere, so the limit
holds without a lock held across the request; the membership is written in the same
savepoint. The same worker opening the link twice is one membership and one use: a second
join finds the membership, or, when both ran at once, its insert meets the unique
(group, worker) index, waits for the first to commit and fails, and its savepoint takes its
use back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.crowds.errors import InviteNotFound, NotAWorker
from apps.crowds.models import (
    InviteLink,
    Membership,
    WorkerGroup,
    invite_token_hash,
    new_invite_token,
)
from apps.crowds.selectors import INVITE_REFUSALS, invite_by_token, invite_state
from apps.workers.models import User
from hitlcrowd.errors import InvalidInput, NotFound, full_clean

INVITE_DEFAULT_DAYS = 14
INVITE_MAX_DAYS = 365
INVITE_MAX_USES = 1_000_000
HINT_LENGTH = 6


@dataclass(frozen=True)
class NewInvite:
    """A link just made: its token exists only here (the database keeps its hash)."""

    invite: InviteLink
    token: str


@dataclass(frozen=True)
class Joined:
    """A worker's membership, and whether this call made it (False: they were already in)."""

    membership: Membership
    joined: bool


# --- Groups ----------------------------------------------------------------------------------


@transaction.atomic
def group_create(*, owner: User, name: str) -> WorkerGroup:
    group = WorkerGroup(owner=owner, name=_clean_name(name))
    _save_named(group)
    return group


@transaction.atomic
def group_rename(*, group: WorkerGroup, name: str) -> WorkerGroup:
    group.name = _clean_name(name)
    _save_named(group)
    return group


@transaction.atomic
def group_delete(*, group: WorkerGroup) -> None:
    """The group, its memberships and links go; private projects it opened lose its members
    (unless another of their groups has them)."""
    group.delete()


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput.field("name", "Give the group a name.")
    return name.strip()


def _save_named(group: WorkerGroup) -> None:
    taken = WorkerGroup.objects.filter(owner_id=group.owner_id, name=group.name)
    if taken.exclude(pk=group.pk).exists():
        raise InvalidInput.field("name", "You already have a group with this name.")
    full_clean(group)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:  # the same name made concurrently
        raise InvalidInput.field("name", "You already have a group with this name.") from None


# --- Invite links ----------------------------------------------------------------------------


@transaction.atomic
def invite_create(
    *,
    group: WorkerGroup,
    by: User | None,
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> NewInvite:
    """A new link to the group. `expires_at` defaults to INVITE_DEFAULT_DAYS from now and may be
    at most INVITE_MAX_DAYS ahead; `max_uses` None is no limit."""
    now = timezone.now()
    if expires_at is None:
        expires_at = now + timedelta(days=INVITE_DEFAULT_DAYS)
    if expires_at <= now:
        raise InvalidInput.field("expires_at", "Pick a time in the future.")
    if expires_at > now + timedelta(days=INVITE_MAX_DAYS):
        raise InvalidInput.field("expires_at", f"At most {INVITE_MAX_DAYS} days ahead.")
    if max_uses is not None and not 1 <= max_uses <= INVITE_MAX_USES:
        raise InvalidInput.field("max_uses", f"Between 1 and {INVITE_MAX_USES}, or empty.")
    token = new_invite_token()
    invite = InviteLink(
        group=group,
        token_hash=invite_token_hash(token),
        hint=token[:HINT_LENGTH],
        created_by=by,
        expires_at=expires_at,
        max_uses=max_uses,
    )
    full_clean(invite)
    invite.save()
    return NewInvite(invite=invite, token=token)


@transaction.atomic
def invite_revoke(*, invite: InviteLink) -> InviteLink:
    """Nobody joins through it any more; those who joined stay. Revoking again is a no-op."""
    InviteLink.objects.filter(pk=invite.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    invite.refresh_from_db(fields=["revoked_at"])
    return invite


@transaction.atomic
def invite_join(*, worker: User, token: str) -> Joined:
    """The worker joins the link's group, taking one use. Already a member: their membership,
    no use taken (a replay, or a link to a group they were added to). Refused: InviteNotFound
    (404), InviteRevoked, InviteExpired, InviteUsedUp (410), NotAWorker (403)."""
    invite = invite_by_token(token=token)
    _check_worker(worker)
    existing = _membership_of(worker, invite.group_id)
    if existing is not None:
        return Joined(membership=existing, joined=False)
    now = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: the use and the membership, or neither
            taken = (
                InviteLink.objects.filter(pk=invite.pk, revoked_at__isnull=True, expires_at__gt=now)
                .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
                .update(uses=F("uses") + 1)
            )
            if taken != 1:
                invite.refresh_from_db()
                raise INVITE_REFUSALS.get(invite_state(invite, now=now), InviteNotFound)()
            membership = Membership.objects.create(
                group_id=invite.group_id,
                worker=worker,
                source=Membership.Source.INVITE,
                invite=invite,
            )
    except IntegrityError:  # the same worker's concurrent join committed first
        return Joined(membership=_membership_of(worker, invite.group_id), joined=False)
    membership.group = invite.group
    return Joined(membership=membership, joined=True)


def _membership_of(worker: User, group_id: int) -> Membership | None:
    return Membership.objects.filter(group_id=group_id, worker=worker).first()


# --- Members ---------------------------------------------------------------------------------


@transaction.atomic
def membership_add(*, group: WorkerGroup, username: str, by: User | None) -> Joined:
    """The owner adds a worker by username. Already a member: their membership (joined False)."""
    worker = User.objects.filter(username=username, role=User.Role.WORKER, is_active=True).first()
    if worker is None:
        raise InvalidInput.field("username", "No active worker has this username.")
    membership, created = Membership.objects.get_or_create(
        group=group, worker=worker, defaults={"source": Membership.Source.ADDED, "added_by": by}
    )
    return Joined(membership=membership, joined=created)


@transaction.atomic
def membership_remove(*, group: WorkerGroup, worker_id: int) -> None:
    """The owner removes a member: the group's private projects disappear for them at once
    (a lease they hold there answers 404 and returns its slot when it expires)."""
    deleted, _ = Membership.objects.filter(group=group, worker_id=worker_id).delete()
    if not deleted:
        raise NotFound("No such member in this group.")


@transaction.atomic
def membership_leave(*, worker: User, group_id: int) -> None:
    """The worker leaves a group they are in (NotFound otherwise)."""
    deleted, _ = Membership.objects.filter(group_id=group_id, worker=worker).delete()
    if not deleted:
        raise NotFound("You are not in this group.")


def _check_worker(user: User) -> None:
    if not (user.is_worker and user.is_active):
        raise NotAWorker()
