"""The one way to write the audit trail. Call it inside the service's transaction, so a
change that rolls back leaves no audit row and a recorded change always has one."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.tasks.audit import json_safe
from apps.tasks.models import AuditEvent
from apps.workers.models import User


def audit_record(
    *,
    project_id: int | None,
    actor: User | None,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event: `actor` did `action` to `obj` (None = the system), on the project's
    trail, or on the accounts' (`project_id` None: apps/workers/accounts.py)."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    event = AuditEvent(
        project_id=project_id,
        actor=actor,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        changes=json_safe(changes or {}),
    )
    event.full_clean()
    event.save()
    return event
