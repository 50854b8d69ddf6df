"""System checks of the MTurk API's configuration."""

from __future__ import annotations

from typing import Any

from django.core import checks

from hitlcrowd import secretbox


def encryption_key_set(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`check --deploy`: access keys' secrets are encrypted with ENCRYPTION_KEY; without it no
    key can be created or verified."""
    if secretbox.is_configured():
        return []
    return [
        checks.Error(
            f"{secretbox.VARIABLE} is not set: MTurk access keys cannot be created or verified.",
            hint=f"Set {secretbox.VARIABLE} (or {secretbox.VARIABLE}_FILE) to a random string of "
            f"at least {secretbox.MIN_KEY_LENGTH} characters, and keep it: the stored secrets "
            f"are unreadable under another key (to change it, keep the old one in "
            f"{secretbox.PREVIOUS}: docs/deploy.md).",
            id="mturk.E001",
        )
    ]
