"""Writes for panel entry links: a requester creates and revokes links; a participant enters
(their worker identity is made on the first visit) and leaves with an outcome.

A participant is an ordinary worker account underneath: tasks, guideline acknowledgement,
the qualification test, blocks and pay all go through the same services as for everyone.
Two things are the panel's own: the quota (the claim refuses a panel identity that gave its
link's quota of answers on the project: apps.tasks.services.assignments.claim) and the outcome
recorded when the task page has nothing more for them (panel_participant_finish).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.panels.errors import (
    PanelAccountInactive,
    PanelLinkUnavailable,
    PanelParticipantInvalid,
    PanelProjectClosed,
    PanelQuotaReached,
)
from apps.panels.models import PANEL_VALUE, PanelLink, PanelParticipant
from apps.panels.selectors import panel_participant_of
from apps.tasks.errors import NotQualified, QualificationUnavailable
from apps.tasks.models import AuditEvent, Project
from apps.tasks.selectors.assignments import open_work_left_for
from apps.tasks.services.audit import audit_record
from apps.workers.errors import BudgetSpent
from apps.workers.models import User
from apps.workers.services import worker_identity_create
from hitlcrowd.errors import InvalidInput, full_clean

# The fields a requester sets on a link, at creation and later (panel_link_update), in the
# order the page and the API show them.
CREATE_FIELDS = (
    "name",
    "quota",
    "completion_code",
    "screened_out_code",
    "completion_url",
    "participant_param",
    "study_param",
    "session_param",
    "expires_at",
)
USERNAME_PREFIX = "panel-"
USERNAME_ATTEMPTS = 3


# --- Requester: links ------------------------------------------------------------------------


@transaction.atomic
def panel_link_create(*, project: Project, by: User | None, **fields: Any) -> PanelLink:
    """A new active link on `project` (scope it to its owner first), with a fresh token."""
    _check_known(fields)
    _check_expiry(fields.get("expires_at"))
    link = PanelLink(project=project, created_by=by, **fields)
    full_clean(link)
    link.save()
    audit_record(
        project_id=project.pk,
        actor=by,
        action=AuditEvent.Action.PANEL_LINK_CREATE,
        obj=link,
        changes={"name": link.name, "quota": link.quota},
    )
    return link


@transaction.atomic
def panel_link_update(*, link: PanelLink, by: User | None, **fields: Any) -> PanelLink:
    """Change the requester-set fields given (any of CREATE_FIELDS; scope the link to its
    project's owner first); the audit trail keeps each change's old and new value. The token
    stays, and so do the participants and their identities. From then on:
    - quota: the claim holds each participant to the new one (one who already gave as many
      answers gets no more tasks); an outcome already recorded stays;
    - codes and completion URL: shown to whoever reaches (or comes back to) the completion
      page, so a participant who saw the old code may see the new one;
    - parameter names: the entry URL changes, give the panel the new one (a participant who
      comes back with the old names is refused for want of their id);
    - expires_at: a new expiry must be in the future, or empty (never), and re-opens an
      expired link; a revoked link stays revoked."""
    _check_known(fields)
    current = PanelLink.objects.select_for_update().get(pk=link.pk)
    changes = {
        name: [getattr(current, name), value]
        for name, value in fields.items()
        if getattr(current, name) != value
    }
    if not changes:
        return current
    if "expires_at" in changes:
        _check_expiry(changes["expires_at"][1])
    for name, (_, value) in changes.items():
        setattr(current, name, value)
    full_clean(current)
    current.save(update_fields=list(changes))
    audit_record(
        project_id=current.project_id,
        actor=by,
        action=AuditEvent.Action.PANEL_LINK_UPDATE,
        obj=current,
        changes=changes,
    )
    return current


def _check_known(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(CREATE_FIELDS)
    if unknown:
        raise InvalidInput(errors={name: ["Unknown field."] for name in sorted(unknown)})


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput.field("expires_at", "Must be in the future (or empty: never).")


@transaction.atomic
def panel_link_revoke(*, link: PanelLink, by: User | None) -> PanelLink:
    """Nobody enters through the link any more, first visit or return. A participant already
    signed in may finish and still gets their code (block them to stop them). Revoking
    again changes nothing."""
    now = timezone.now()
    revoked = PanelLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    link.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if revoked:
        audit_record(
            project_id=link.project_id,
            actor=by,
            action=AuditEvent.Action.PANEL_LINK_REVOKE,
            obj=link,
            changes={"name": link.name},
        )
    return link


# --- Participant: entry and outcome ----------------------------------------------------------


@dataclass(frozen=True)
class PanelEntry:
    participant: PanelParticipant
    created: bool  # this visit made the worker identity


def panel_participant_enter(
    *,
    link: PanelLink,
    params: Mapping[str, str],
    before_create: Callable[[], None] | None = None,
) -> PanelEntry:
    """The participant the link's parameters name, with their worker identity: made on the
    first visit (an unusable password, a generated username, no email), the same one on
    every later visit, from any browser. `before_create` is called before an identity is
    made, and refuses it by raising (the entry page's limit per client address).

    Two first visits at once with the same participant id end with one identity: the
    unique (link, participant id) makes the second insert fail, and it returns the first's.
    Refuses a revoked or expired link (PanelLinkUnavailable), a missing or malformed id
    (PanelParticipantInvalid), a closed project (PanelProjectClosed; a participant already
    done still gets in, to see their code again) and a deactivated account."""
    if link.state != PanelLink.State.ACTIVE:
        raise PanelLinkUnavailable()
    participant_id = _panel_value(params, link.participant_param, required=True)
    study_id = _panel_value(params, link.study_param, required=False)
    session_id = _panel_value(params, link.session_param, required=False)
    existing = _participant(link, participant_id)
    if existing is None:
        _check_open(link.project)
        if before_create is not None:
            before_create()
        existing, created = _participant_create(link, participant_id, study_id, session_id)
        if created:
            return PanelEntry(participant=existing, created=True)
    return PanelEntry(participant=_returning(existing, session_id), created=False)


def _panel_value(params: Mapping[str, str], name: str, *, required: bool) -> str:
    value = params.get(name, "")
    if not isinstance(value, str):
        value = ""
    value = value.strip()
    if not value:
        if required:
            raise PanelParticipantInvalid(name, missing=True)
        return ""
    if not PANEL_VALUE.fullmatch(value):
        raise PanelParticipantInvalid(name, missing=False)
    return value


def _participant(link: PanelLink, participant_id: str) -> PanelParticipant | None:
    return (
        PanelParticipant.objects.filter(link=link, participant_id=participant_id)
        .select_related("user", "link")
        .first()
    )


def _check_open(project: Project) -> None:
    if not project.is_open:
        raise PanelProjectClosed()


def _participant_create(
    link: PanelLink, participant_id: str, study_id: str, session_id: str
) -> tuple[PanelParticipant, bool]:
    for _ in range(USERNAME_ATTEMPTS):
        try:
            with transaction.atomic():
                user = worker_identity_create(username=USERNAME_PREFIX + secrets.token_hex(6))
                participant = PanelParticipant.objects.create(
                    link=link,
                    participant_id=participant_id,
                    user=user,
                    study_id=study_id,
                    session_id=session_id,
                )
        except IntegrityError:
            # Another visit with this id committed first (its insert held the unique index
            # until then): that one is the identity. Else a username clash: draw again.
            found = _participant(link, participant_id)
            if found is not None:
                return found, False
            continue
        participant.link = link
        return participant, True
    raise RuntimeError("Could not draw a free username for a panel participant.")


def _returning(participant: PanelParticipant, session_id: str) -> PanelParticipant:
    if not participant.user.is_active:
        raise PanelAccountInactive()
    if not participant.is_done:
        _check_open(participant.link.project)
    if session_id and session_id != participant.session_id:
        # A participant who returned the study and took it again comes with a new session:
        # the export names the latest, the one the panel still waits on.
        PanelParticipant.objects.filter(pk=participant.pk).update(session_id=session_id)
        participant.session_id = session_id
    return participant


def panel_participant_finish(
    *, worker: User, project: Project, refusal: Exception | None
) -> PanelParticipant | None:
    """Record how a panel participant's work on `project` ended, when the task page has no
    task for them: `refusal` is what the claim raised, None when it found nothing. Returns
    the participant once they are done (the first outcome recorded stays), None for a
    worker who is no panel identity here or who is not done (nothing free right now, but
    open work they never had remains; a closed project).

    quota_reached: the claim refused them their link's quota; screened_out: blocked or
    failed the qualification test (NotQualified); no_work_left: the budget is spent, the
    qualification test has no task left for them, or no open task they never had is left."""
    participant = panel_participant_of(worker=worker, project=project)
    if participant is None:
        return None
    if participant.is_done:
        return participant
    outcome = _outcome_of(worker, project, refusal)
    if outcome is None:
        return None
    PanelParticipant.objects.filter(pk=participant.pk, completed_at__isnull=True).update(
        completed_at=timezone.now(), outcome=outcome
    )
    participant.refresh_from_db(fields=["completed_at", "outcome"])
    return participant


def _outcome_of(worker: User, project: Project, refusal: Exception | None) -> str | None:
    outcome = PanelParticipant.Outcome
    if isinstance(refusal, PanelQuotaReached):
        return outcome.QUOTA_REACHED
    if isinstance(refusal, NotQualified):
        return outcome.SCREENED_OUT
    if isinstance(refusal, BudgetSpent | QualificationUnavailable):
        return outcome.NO_WORK_LEFT
    if refusal is None and not open_work_left_for(worker=worker, project=project):
        return outcome.NO_WORK_LEFT
    return None
