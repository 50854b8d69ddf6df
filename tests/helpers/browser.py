"""Steps of the browser tests (tests/e2e) shared between their modules."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


def log_in(page, username: str) -> None:
    """Sign in through the login page; a worker lands on their project list."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/work/$"))
