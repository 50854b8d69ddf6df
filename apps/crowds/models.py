"""Private crowds: a requester's named groups of workers, their members and invite links.

A project is public (every worker) or private: open only to the members of the groups it
names (`Project.groups`, in the tasks app). Who may see a project is decided in one place,
apps/tasks/selectors/visibility.py, from these rows.

An invite link's token is shown once, when it is made; only its SHA-256 is stored, so a
leaked database does not leak working links, and the look-up by hash gives nothing to time.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits


def new_invite_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def invite_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WorkerGroup(models.Model):
    """A requester's named group of workers; private projects open to groups."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worker_groups"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="workergroup_owner_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A worker in a group, and how they came in (an invite link, or added by the owner)."""

    class Source(models.TextChoices):
        INVITE = "invite", "Invite link"
        ADDED = "added", "Added by the requester"

    group = models.ForeignKey(WorkerGroup, on_delete=models.CASCADE, related_name="memberships")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    invite = models.ForeignKey(
        "InviteLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            # The visibility probe (apps/tasks/sql.py, VISIBLE_SQL): WHERE group_id = ? AND
            # worker_id = ?, once per group of the project; also one membership per worker.
            models.UniqueConstraint(fields=["group", "worker"], name="membership_unique"),
        ]
        indexes = [
            # A worker's groups (their account page, leaving): WHERE worker_id = ?.
            models.Index(fields=["worker", "group"], name="membership_worker"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} in {self.group_id}"


class InviteLink(models.Model):
    """An invite to a group: unguessable, expiring, revocable, with an optional use limit.

    `uses` only grows, by a conditional UPDATE (services `invite_join`): the limit holds
    however many people open the link at once.
    """

    group = models.ForeignKey(WorkerGroup, on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, so the owner can tell links apart; not enough to use one.
    hint = models.CharField(max_length=8, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Workers who may join through it; empty: no limit."
    )
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                name="invite_uses_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(max_uses__gte=1),
                name="invite_max_uses_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"invite {self.hint}… to {self.group_id}"
