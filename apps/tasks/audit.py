"""The audit trail's rules: an append-only queryset and JSON-safe change records.

AuditEvent rows (apps/tasks/models/audit.py) are written by `apps.tasks.services.audit.audit_record`
from the services that change what an audit must show; nothing updates or deletes them.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

APPEND_ONLY = "The audit trail is append-only: its rows cannot be changed or deleted."


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise ValidationError(APPEND_ONLY)

    def delete(self):
        raise ValidationError(APPEND_ONLY)

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise ValidationError(APPEND_ONLY)


def json_safe(value: Any) -> Any:
    """A value as JSON can hold it: decimals and dates as strings, choices as their value."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, decimal.Decimal | datetime.date | datetime.datetime):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str]
) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    changes = {}
    for name in sorted(fields):
        if before.get(name) == after.get(name):  # Decimal("0.50") == Decimal("0.5")
            continue
        old, new = json_safe(before.get(name)), json_safe(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


# Values an event records as context rather than as [old, new]: a list there is the value
# itself (the labels a guideline re-queue was about), never a change from one to the other.
CONTEXT_LISTS = {("guideline_publish", "labels")}


def changes_shown(action: str, changes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, text) of an event's record as the admin shows it: an [old, new] pair only
    when the values differ (by value: lists and JSON compared whole, "0.50" equal to "0.5"),
    and context values as they are."""
    shown = []
    for name, value in changes.items():
        if _is_pair(value) and (action, name) not in CONTEXT_LISTS:
            old, new = value
            if not _same(old, new):
                shown.append((name, f"{old!r} → {new!r}"))
        else:
            shown.append((name, repr(value)))
    return shown


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


def _same(old: Any, new: Any) -> bool:
    if json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True):  # True is not 1
        return True
    if not (isinstance(old, str) and isinstance(new, str)):
        return False
    try:  # decimals are recorded as text, with or without trailing zeros
        return decimal.Decimal(old) == decimal.Decimal(new)
    except decimal.InvalidOperation:
        return False
