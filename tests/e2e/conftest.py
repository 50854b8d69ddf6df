"""A real headless Chromium, driven by Playwright against pytest-django's live_server.

Playwright's own browser download is not used: CI installs Debian's chromium
(scripts/install-browser) and we launch that binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

CHROMIUM = Path(os.environ.get("HITLCROWD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM calls made by the
# test itself (factories, assertions) would otherwise raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (run scripts/install-browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings) -> Iterator[object]:
    # The live server speaks plain HTTP, so cookies marked Secure would never come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    if finders.find("hitlcrowd/task.js") is None:
        # settings.py lacks STATICFILES_DIRS for hitlcrowd/static (see
        # tests/workers/test_worker_pages.py::test_the_page_script_and_stylesheet_are_found);
        # serve them here so this test still checks the page's behaviour.
        settings.STATICFILES_DIRS = [Path(settings.BASE_DIR) / "hitlcrowd" / "static"]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Chromium reports what the Content-Security-Policy blocked on the console: any such
    # report fails the test (a blocked script or style is a broken page).
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert blocked == [], blocked
