"""The client's IP address, for login lockouts (django-axes) and API throttles (DRF).

`X-Forwarded-For` is written by whoever sends the request, so it is read only when the
deployment says how many proxies it trusts (`PROXY_COUNT`): with one proxy in front, the
last address in the header is the one that proxy saw; anything left of it may be forged.
With `PROXY_COUNT=0` (the default: gunicorn facing clients) the header is ignored, or an
attacker would pick a new address for every login attempt and never be locked out.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not proxies or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote_addr
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Not an address (a port suffix, garbage): the proxy's own view is all we can trust.
        return remote_addr
