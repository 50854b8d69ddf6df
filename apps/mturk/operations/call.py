from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.mturk.models import AccessKey
from apps.workers.models import User


@dataclass(frozen=True)
class Call:
    """One verified request: who signed it, with which key, and its checked input."""

    requester: User
    key: AccessKey
    params: dict[str, Any]
