"""API throttles by role: anonymous (by client address), worker, requester, admin (by account).

Rates come from the environment (`API_THROTTLE_*`, DRF's `N/period`). Counts are kept in
Django's default cache: Redis when `REDIS_URL` is set, so every web process shares them;
otherwise each process's memory, so with N processes a client gets up to N times the rate.

A fixed window (one counter per client and window) rather than DRF's `SimpleRateThrottle`:
that one stores the timestamp of every request in the window and reads and rewrites the whole
list on each request: at a worker's rate, 3,000 requests in the window cost 91 us of CPU per
request in memory (and a ~30 KB pickle to and from Redis). Here a request is one counter
increment: ~8 us in memory; on Redis one round trip (INCR; the window's first request also
sets the expiry), ~50 us of CPU.
The cost of the fixed window: a burst of up to twice the rate across a window boundary.
"""

from __future__ import annotations

import functools
import math
import time

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hitlcrowd.clientip import client_ip
from hitlcrowd.errors import TooMany

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`100/min` -> (100, 60): DRF's rate format (hitlcrowd.env.env_rate checks it)."""
    count, period = rate.split("/")
    return int(count), _SECONDS[period[0]]


def throttle_scope(request: Request) -> tuple[str, str]:
    """(role, who): `anon` by client address, otherwise the account's role and id."""
    user = request.user
    if not user or not user.is_authenticated:
        return "anon", client_ip(request)
    if user.is_staff:
        return "admin", str(user.pk)
    return user.role, str(user.pk)


class RoleRateThrottle(BaseThrottle):
    """429 (Retry-After: the seconds left in the window) past the role's rate."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: object) -> bool:
        role, who = throttle_scope(request)
        rate = settings.API_THROTTLE_RATES.get(role)
        if rate is None:
            return True
        self._wait = rate_exceeded(role, who, rate)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def rate_exceeded(scope: str, who: str, rate: str | None) -> float | None:
    """Count one request of `who` in `scope` (a fixed window, as above) against `rate`
    (`N/period`; None: no limit). None while within it, else the seconds left in the window.
    Also the limit of forms that send email (hitlcrowd/mail.py)."""
    if rate is None:
        return None
    limit, window = parse_rate(rate)
    now = time.time()
    window_number = int(now // window)
    count = _count_hit(f"throttle:{scope}:{who}:{window}:{window_number}", window)
    if count <= limit:
        return None
    return (window_number + 1) * window - now


def rate_limit(scope: str, who: str, rate: str | None, refusal: type[TooMany] = TooMany) -> None:
    """rate_exceeded, refused: raise `refusal` (429, with the seconds to wait) past `rate`."""
    wait = rate_exceeded(scope, who, rate)
    if wait is not None:
        raise refusal(retry_after=max(1, math.ceil(wait)))


def _count_hit(key: str, window: int) -> int:
    """Add one to the window's counter and return it; the counter expires with its window."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        client = _redis_client(settings.CACHES["default"]["LOCATION"])
        count = client.incr(full_key)
        if count == 1:
            # A key left without expiry (a process killed right here) is harmless: the
            # window number in the key is never used again.
            client.expire(full_key, window + 1)
        return count
    cache.add(key, 0, timeout=window + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return 1


@functools.cache
def _redis_client(url: str) -> redis.Redis:
    """One client per process (its pool reconnects after a fork): Django's cache builds a new
    client object for every operation, ~0.15 ms of CPU that would be most of this check."""
    return redis.Redis.from_url(url)
