"""Standing users and API clients: every endpoint is tested for who must NOT see it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests import factories

# Helpers assert too: rewritten like the tests', so a failure there shows its values.
pytest.register_assert_rewrite("tests.helpers")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _plain_http() -> Iterator[None]:
    """The test client and the live server speak plain HTTP; with DEBUG=false (as tests run)
    production redirects it to HTTPS. Session-wide, before the live server loads its
    middleware; tests/test_security_headers.py turns it back on where it is the subject."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


TEST_ENCRYPTION_KEY = "tests-only-encryption-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _encryption_key(settings) -> None:
    """Tests run with DEBUG=false, where ENCRYPTION_KEY has no default (hitlcrowd/secretbox.py):
    a fixed one, as a deployment sets it. Tests of its absence set it to None."""
    settings.ENCRYPTION_KEY = TEST_ENCRYPTION_KEY


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """The real hasher costs about a second per user; the tests check roles, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> None:
    """API throttle counters live in the cache: in memory in tests, cleared so that one test's
    requests do not count against the next. (A Redis cache is never cleared: it is shared.)"""
    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()


@pytest.fixture
def email_on(settings) -> None:
    """The deployment sends email (tests run with DEBUG=false, where the default is `none`);
    Django's test environment delivers it to `django.core.mail.outbox`. Pair it with
    tests.helpers.mail.delivered(): messages are sent by a job after the commit."""
    settings.EMAIL_DELIVERY = "smtp"


@pytest.fixture
def requester(db):
    return factories.RequesterFactory(username="owner")


@pytest.fixture
def other_requester(db):
    return factories.RequesterFactory(username="outsider")


@pytest.fixture
def worker(db):
    return factories.WorkerFactory(username="worker")


@pytest.fixture
def other_worker(db):
    return factories.WorkerFactory(username="other-worker")


@pytest.fixture
def admin_user(db):
    return factories.AdminFactory(username="boss")


@pytest.fixture
def project(requester):
    return factories.ProjectFactory(owner=requester, name="Animals")


@pytest.fixture
def api_client_for() -> Callable[..., APIClient]:
    """An API client that authenticates as `user` with a real knox token (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, token = AuthToken.objects.create(user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def on_postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


# Fixtures that skip their test on SQLite (on_postgres above, the live processes' and
# gunicorn's). A test using one is PostgreSQL-only and gets the `postgres` marker, so that
# `make test-pg PYTEST_ARGS="-m postgres"` selects all of them, not only those marked by hand.
POSTGRES_ONLY_FIXTURES = frozenset({"on_postgres", "live_dsn", "gunicorn_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if POSTGRES_ONLY_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sync_q(monkeypatch) -> None:
    """Run queued django-q2 jobs inline. Its config is read at import, so settings overrides
    do nothing: patch the loaded Conf."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
