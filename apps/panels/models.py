"""Panel entry links: participants recruited on an external panel (Prolific and the like)
arrive through a project's link with their panel id, work as ordinary worker accounts, and
leave with a completion code (docs/panels.md).

A participant record binds (link, participant id) to one worker account, once: the unique
constraint is what makes two concurrent first visits end with one identity
(services.panel_participant_enter).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone

MAX_QUOTA = 100_000
# Prolific's participant ids are 24 hex digits, its codes 6-10 letters and digits; other
# panels' are alike. No spaces, no @ (an email address is not a panel id), nothing to escape,
# and no leading '-' or '.': a cell starting with '-' may run as a formula in a spreadsheet
# (the reconciliation export relies on it).
PANEL_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

code_validator = RegexValidator(
    rf"^{CODE.pattern}\Z", "Letters, digits, '-' and '_' only (at most 64)."
)
param_validator = RegexValidator(
    rf"^{PARAM_NAME.pattern}\Z",
    "A query parameter name: a letter or '_', then letters, digits, '_', '.' or '-'.",
)
completion_url_validator = URLValidator(schemes=["http", "https"])


def new_token() -> str:
    """An unguessable link token: 192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


class PanelLink(models.Model):
    """A project's entry link for one panel study: who may enter and how they leave."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    project = models.ForeignKey(
        "tasks.Project", on_delete=models.CASCADE, related_name="panel_links"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    name = models.CharField(max_length=200, help_text="For you, e.g. the panel study's name.")
    quota = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_QUOTA)],
        help_text="Answers per participant; then they get the completion code.",
    )
    completion_code = models.CharField(
        max_length=64,
        validators=[code_validator],
        help_text="Shown to a participant who is done, and sent to the completion URL as cc.",
    )
    screened_out_code = models.CharField(
        max_length=64,
        blank=True,
        validators=[code_validator],
        help_text="Given instead to a participant who is blocked or fails the qualification "
        "test; empty: they get no code.",
    )
    completion_url = models.CharField(
        max_length=2000,
        blank=True,
        validators=[completion_url_validator],
        help_text="Where a participant who is done is sent, with ?cc=CODE "
        "(https://app.prolific.com/submissions/complete on Prolific); empty: no redirect.",
    )
    participant_param = models.CharField(
        max_length=64, default="PROLIFIC_PID", validators=[param_validator]
    )
    study_param = models.CharField(max_length=64, default="STUDY_ID", validators=[param_validator])
    session_param = models.CharField(
        max_length=64, default="SESSION_ID", validators=[param_validator]
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.project_id})"

    def clean(self) -> None:
        names = [self.participant_param, self.study_param, self.session_param]
        if len(set(names)) < len(names):
            raise ValidationError(
                {"session_param": "The three parameter names must differ from each other."}
            )

    def state_at(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.ACTIVE

    @property
    def state(self) -> str:
        return self.state_at()


class PanelParticipant(models.Model):
    """One panel participant on one link, and the worker account they work as."""

    class Outcome(models.TextChoices):
        QUOTA_REACHED = "quota_reached", "Gave the answers asked for"
        NO_WORK_LEFT = "no_work_left", "No work left for them"
        SCREENED_OUT = "screened_out", "Blocked or failed the qualification test"

    link = models.ForeignKey(PanelLink, on_delete=models.CASCADE, related_name="participants")
    participant_id = models.CharField(max_length=64)
    # PROTECT: the account may not vanish and leave the participant id free for a second one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="panel_participant"
    )
    study_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True, help_text="The latest one seen.")
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["link", "id"]
        constraints = [
            # One identity per participant id and link, whatever the race (enter).
            models.UniqueConstraint(
                fields=["link", "participant_id"], name="panel_participant_unique"
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True, outcome="")
                | Q(completed_at__isnull=False) & ~Q(outcome=""),
                name="panel_participant_outcome_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} on link {self.link_id}"

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None
