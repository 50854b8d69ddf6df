"""Strict readers for settings that come from the environment.

Every reader fails at start-up with `ImproperlyConfigured` naming the variable, so a typo
such as ``DEBUG=yes`` never silently turns into a default. ``NAME_FILE`` may point at a file
holding the value (for secrets mounted by an orchestrator).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc}") from exc
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 'true' or 'false', got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive), else start-up fails listing them."""
    value = env_str(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, got {value!r}")
    return lowered


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def env_previous_keys(
    name: str, *, current: str | None, current_name: str, min_length: int
) -> list[str]:
    """Keys a current key replaced (a comma list, newest first), still accepted for reading
    what they wrote. Each is as long as the current key must be, none is the current key or
    given twice, and there is a current key to replace them: anything else is a mistake that
    would leave secrets unreadable later, so start-up stops naming the variable."""
    keys = env_list(name, [])
    if not keys:
        return []
    if current is None:
        raise ImproperlyConfigured(f"{name} is set but {current_name} is not: set the new key.")
    for position, key in enumerate(keys, start=1):
        if len(key) < min_length:
            raise ImproperlyConfigured(
                f"{name}: key {position} is shorter than {min_length} characters"
            )
        if key == current:
            raise ImproperlyConfigured(f"{name}: key {position} is {current_name} itself")
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{name}: a key is given twice")
    return keys


def env_url(name: str, default: str | None, *, schemes: tuple[str, ...]) -> str | None:
    value = env_str(name, default)
    if value is None:
        return None
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}, got {value!r}")
    return value


_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str | None) -> str | None:
    """A DRF throttle rate such as ``100/min`` (per second, minute, hour or day); ``off`` turns
    the throttle off (None)."""
    value = env_str(name, default)
    if value is None or value.lower() == "off":
        return None
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as '100/min' (per s, min, hour or day) or 'off', "
            f"got {value!r}"
        )
    return value
