"""Failed logins are counted per account and per client address on all three login paths
(API token, web, admin); at the limit the next attempts get 429 with Retry-After, and a
refused attempt never runs the password hasher (the CPU a login costs)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 3
COOLOFF = timedelta(minutes=7)
PATHS = {
    "api": ("/api/v1/auth/token/", 200),
    "web": ("/accounts/login/", 302),
    "admin": ("/admin/login/", 302),
}
# A wrong password before the limit: the API says 401, the pages show the form again.
REFUSED = {"api": 401, "web": 200, "admin": 200}


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, as in every test) that counts how often a password is hashed."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOLOFF
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]


@pytest.fixture
def boss(admin_user):
    # The fixture's password was hashed with MD5PasswordHasher: rehash with the counting one.
    admin_user.set_password(PASSWORD)
    admin_user.save()
    return admin_user


def attempt(path: str, username: str, password: str, ip: str = "198.51.100.7", **headers):
    url, _ = PATHS[path]
    data = {"username": username, "password": password}
    if path == "api":
        return APIClient().post(url, data, format="json", REMOTE_ADDR=ip, **headers)
    return Client().post(url, data, REMOTE_ADDR=ip, **headers)


def succeeded(path: str, response) -> bool:
    return response.status_code == PATHS[path][1]


def assert_locked_out(path: str, response) -> None:
    assert response.status_code == 429, response.content[:300]
    assert response["Retry-After"] == str(int(COOLOFF.total_seconds()))
    if path == "api":
        assert response.json()["code"] == "login_locked_out"
        assert set(response.json()) >= {"code", "detail", "errors"}
    else:
        assert b"Too many login attempts" in response.content


@pytest.mark.parametrize("path", PATHS)
def test_the_nth_bad_login_gets_429_with_retry_after(path, boss):
    for _ in range(LIMIT - 1):
        response = attempt(path, "boss", "wrong")
        assert response.status_code == REFUSED[path], response.status_code
    assert_locked_out(path, attempt(path, "boss", "wrong"))


@pytest.mark.parametrize("path", PATHS)
def test_a_locked_out_attempt_with_the_right_password_is_refused_without_hashing(path, boss):
    for _ in range(LIMIT):
        attempt(path, "boss", "wrong")
    CountingHasher.calls = 0
    assert_locked_out(path, attempt(path, "boss", PASSWORD))
    assert CountingHasher.calls == 0


@pytest.mark.parametrize("path", PATHS)
def test_the_account_stays_locked_from_other_addresses(path, boss):
    for n in range(LIMIT):
        attempt(path, "boss", "wrong", ip=f"203.0.113.{n + 1}")
    assert_locked_out(path, attempt(path, "boss", PASSWORD, ip="192.0.2.200"))


@pytest.mark.parametrize("path", PATHS)
def test_the_address_stays_locked_for_other_accounts(path, boss):
    for n in range(LIMIT):
        attempt(path, f"nobody-{n}", "wrong", ip="203.0.113.9")
    assert_locked_out(path, attempt(path, "boss", PASSWORD, ip="203.0.113.9"))
    assert succeeded(path, attempt(path, "boss", PASSWORD, ip="192.0.2.10"))


def test_failures_below_the_limit_do_not_lock_anyone_out(boss):
    for _ in range(LIMIT - 1):
        attempt("api", "boss", "wrong")
    assert succeeded("api", attempt("api", "boss", PASSWORD))


def test_the_lockout_ends_after_the_cooloff(boss):
    for _ in range(LIMIT):
        attempt("web", "boss", "wrong")
    assert_locked_out("web", attempt("web", "boss", PASSWORD))
    AccessAttempt.objects.update(attempt_time=timezone.now() - COOLOFF - timedelta(seconds=1))
    assert succeeded("web", attempt("web", "boss", PASSWORD))


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_configured(boss):
    for n in range(LIMIT):
        attempt("api", f"nobody-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    forged = attempt("api", "boss", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.250")
    assert_locked_out("api", forged)


def test_behind_a_configured_proxy_the_forwarded_client_is_counted(boss, settings):
    settings.PROXY_COUNT = 1
    proxy = "127.0.0.1"
    for n in range(LIMIT):
        attempt("api", f"nobody-{n}", "wrong", ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")
    locked = attempt("api", "boss", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert_locked_out("api", locked)
    # Another client behind the same proxy; a forged left-most entry changes nothing.
    other = attempt(
        "api", "boss", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.2"
    )
    assert succeeded("api", other)


def test_a_garbage_forwarded_address_falls_back_to_the_socket_address(boss, settings):
    settings.PROXY_COUNT = 1
    response = attempt("api", "boss", "wrong", HTTP_X_FORWARDED_FOR="not-an-address:99")
    assert response.status_code == 401
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"


def test_an_overlong_username_is_a_400_naming_the_field(db):
    response = attempt("api", "x" * 5000, "wrong")
    assert response.status_code == 400
    assert "username" in response.json()["errors"]


def test_authenticate_without_a_request_still_works(boss):
    from django.contrib.auth import authenticate

    assert authenticate(username="boss", password=PASSWORD) == boss
