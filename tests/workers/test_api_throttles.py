"""API throttles by role (anonymous by address; worker, requester, admin by account) answer
429 with Retry-After in the API's error shape; and an account holds a bounded number of live
tokens."""

import uuid
from datetime import timedelta

import pytest
import redis
from django.core.cache import caches
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

GENEROUS = {"anon": None, "worker": None, "requester": None, "admin": None}


def set_rates(settings, **rates) -> None:
    settings.API_THROTTLE_RATES = {**GENEROUS, **rates}


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled" and set(body) == {"code", "detail", "errors"}
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("role", "user_fixture", "path"),
    [
        ("worker", "worker", "/api/v1/work/projects/"),
        ("requester", "requester", "/api/v1/projects/"),
        ("admin", "admin_user", "/api/v1/projects/"),
    ],
)
def test_each_role_is_throttled_at_its_own_rate(
    role, user_fixture, path, request, settings, api_client_for
):
    set_rates(settings, **{role: "3/min"})
    client = api_client_for(request.getfixturevalue(user_fixture))
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert_throttled(client.get(path))


def test_a_role_without_a_rate_is_not_throttled(settings, api_client_for, worker, requester):
    set_rates(settings, worker="2/min")
    client = api_client_for(requester)
    for _ in range(10):
        assert client.get("/api/v1/projects/").status_code == 200


def test_accounts_are_counted_apart(settings, api_client_for, worker, other_worker):
    set_rates(settings, worker="2/min")
    first, second = api_client_for(worker), api_client_for(other_worker)
    for _ in range(2):
        first.get("/api/v1/work/projects/")
    assert_throttled(first.get("/api/v1/work/projects/"))
    # Another token of the same account shares the count; another account does not.
    assert_throttled(api_client_for(worker).get("/api/v1/work/projects/"))
    assert second.get("/api/v1/work/projects/").status_code == 200


def test_the_worker_hot_path_is_throttled_too(settings, api_client_for, worker):
    set_rates(settings, worker="2/min")
    client = api_client_for(worker)
    for _ in range(2):
        # No project has work: "nothing to do", counted all the same.
        assert client.post("/api/v1/work/next/", {}, format="json").status_code == 204
    assert_throttled(client.post("/api/v1/work/next/", {}, format="json"))


def test_anonymous_clients_are_throttled_by_address(settings, worker):
    set_rates(settings, anon="2/min")
    login = {"username": "worker", "password": PASSWORD}
    client = APIClient()
    for _ in range(2):
        response = client.post("/api/v1/auth/token/", login, REMOTE_ADDR="198.51.100.1")
        assert response.status_code == 200
    assert_throttled(client.post("/api/v1/auth/token/", login, REMOTE_ADDR="198.51.100.1"))
    assert client.post("/api/v1/auth/token/", login, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_the_counts_can_live_in_redis_shared_by_every_process(settings, api_client_for, worker):
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"hitlcrowd-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        }
    }
    set_rates(settings, worker="2/min")
    client = api_client_for(worker)
    for _ in range(2):
        assert client.get("/api/v1/work/projects/").status_code == 200
    assert_throttled(client.get("/api/v1/work/projects/"))
    server = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = server.keys(f"{prefix}:*")
    assert len(keys) == 1 and int(server.get(keys[0])) == 3
    assert 0 < server.ttl(keys[0]) <= 61
    server.delete(*keys)
    caches["default"].close()


# --- Live tokens per account ----------------------------------------------------------------


@pytest.fixture
def token_limit(settings) -> int:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 3}
    return 3


def log_in(username: str = "worker"):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )


def test_a_login_past_the_token_limit_is_refused_in_the_api_shape(token_limit, worker):
    for _ in range(token_limit):
        assert log_in().status_code == 200
    response = log_in()
    assert response.status_code == 403
    assert response.json()["code"] == "token_limit_reached"
    assert set(response.json()) == {"code", "detail", "errors"}
    assert AuthToken.objects.filter(user=worker).count() == token_limit


def test_expired_and_revoked_tokens_free_their_place(token_limit, worker):
    tokens = [log_in().json()["token"] for _ in range(token_limit)]
    oldest = AuthToken.objects.filter(user=worker).order_by("created").first()
    AuthToken.objects.filter(pk=oldest.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert log_in().status_code == 200

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[-1]}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert log_in().status_code == 200
    assert log_in().status_code == 403


def test_the_limit_is_per_account(token_limit, worker, other_worker):
    for _ in range(token_limit):
        log_in()
    assert log_in("other-worker").status_code == 200
