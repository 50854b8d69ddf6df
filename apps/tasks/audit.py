"""The audit trail's rules: an append-only queryset and JSON-safe change records.

AuditEvent rows (apps/tasks/models.py) are written by `apps.tasks.services.audit.audit_record`
from the services that change what an audit must show; nothing updates or deletes them.
"""

from __future__ import annotations

import datetime
import decimal
import enum
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
