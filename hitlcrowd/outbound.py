"""Outbound HTTP to URLs our users give us (callback URLs): which ones we refuse, and how we
connect so that the address we check is the address we talk to.

The audit's finding: a callback URL could be `http://localhost:6379/` (Redis got a POST),
`http://169.254.169.254/` (cloud metadata) or a name that resolves to either. The rules:

- `http` or `https` only; no `user:pass@` in the URL; port 80, 443 or 1024-65535 (ports below
  1024 are system services: SMTP, SSH, ...).
- Every address the host resolves to must be public (`address_is_public`): not loopback,
  private, link-local, multicast, reserved, unspecified, CGNAT 100.64/10, nor an IPv6 form that
  embeds one of those (IPv4-mapped `::ffff:127.0.0.1`, IPv4-compatible, 6to4, NAT64). Odd IPv4
  spellings (`2130706433`, `0x7f.1`, `017700000001`) are read the way the C resolver reads them.
- `WEBHOOK_ALLOWED_HOSTS` (hostnames or CIDR networks) lets on-premise receivers through: a
  listed hostname is trusted with whatever it resolves to; a listed network admits its
  addresses.

At save time (`callback_url_validate`, the Project field's validator) a name that does not
resolve is accepted: DNS may be down, and the send-time check decides. At send time
(`open_pinned`) the name is resolved once, every address is checked, and the connection goes
to the checked address while the Host header and TLS SNI/certificate check use the name: a
name that resolves to a public address at save and to 127.0.0.1 at send (DNS rebinding) is
refused, and a resolver answer that changes between the check and the connect cannot be used.
No proxy from the environment is used (http.client reads none).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
LOWEST_HIGH_PORT = 1024
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why, for the requester."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name as written (lowercase, no brackets): Host header and TLS SNI
    port: int
    path: str  # path and query, at least "/"
    allowed_by_name: bool


# --- Addresses --------------------------------------------------------------------------------


def address_is_public(address: Address) -> bool:
    """True only for a globally routable unicast address (Python's `is_global` is the base;
    the embedded IPv4 of IPv6 transition forms is judged on its own)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_is_public(embedded)
    if address in CGNAT:
        return False
    refused = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
    return address.is_global and not refused


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or int(address) >> 32 == 0:  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> Address | None:
    """The address a host names by itself, in any spelling the C resolver accepts
    (`127.1`, `2130706433`, `0x7f000001`), or None for a name that needs DNS."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


# --- The allow-list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[Network, ...]

    def admits(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def allow_list_parse(entries: list[str] | tuple[str, ...], *, variable: str) -> AllowList:
    """Hostnames and CIDR networks (a bare address is a /32 or /128); a bad entry stops
    start-up naming the variable."""
    hosts, networks = set(), []
    for entry in entries:
        text = entry.strip().lower()
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if "/" in text or ":" in text or not text or not _looks_like_hostname(text):
            raise ImproperlyConfigured(
                f"{variable}: {entry!r} is neither a hostname nor an address/network in CIDR form"
            )
        hosts.add(text.rstrip("."))
    return AllowList(frozenset(hosts), tuple(networks))


def _looks_like_hostname(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return all(label and len(label) <= 63 and _hostname_chars(label) for label in labels)


def _hostname_chars(label: str) -> bool:
    return all(c.isalnum() or c in "-_" for c in label) and label.isascii()


@lru_cache(maxsize=8)
def _allow_list(entries: tuple[str, ...]) -> AllowList:
    return allow_list_parse(entries, variable="WEBHOOK_ALLOWED_HOSTS")


def allow_list() -> AllowList:
    return _allow_list(tuple(settings.WEBHOOK_ALLOWED_HOSTS))


# --- URLs -------------------------------------------------------------------------------------


def target_of(url: str) -> Target:
    """Scheme, credentials, host and port rules (no DNS). Raises UnsafeUrl."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeUrl("Only http:// and https:// callback URLs are allowed.")
    if "@" in parts.netloc:
        raise UnsafeUrl("A callback URL may not carry credentials (user:password@).")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("The callback URL has no host.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeUrl("The callback URL's host is not a valid name.") from None
    port = DEFAULT_PORTS[scheme] if port is None else port
    if port not in DEFAULT_PORTS.values() and port < LOWEST_HIGH_PORT:
        raise UnsafeUrl(f"Port {port} is refused: use 80, 443 or a port from 1024 to 65535.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    named = host in allow_list().hosts
    return Target(scheme=scheme, host=host, port=port, path=path, allowed_by_name=named)


def addresses_check(target: Target, addresses: list[Address]) -> None:
    """Raises UnsafeUrl unless every address may be called."""
    if target.allowed_by_name:
        return
    allowed = allow_list()
    for address in addresses:
        if not (address_is_public(address) or allowed.admits(address)):
            raise UnsafeUrl(
                f"{target.host} is {address}, not a public address; callbacks go to public "
                "addresses only (an on-premise receiver must be in WEBHOOK_ALLOWED_HOSTS)."
            )


def resolve(target: Target) -> list[Address]:
    """All addresses of the host, from one resolver call. Raises OSError."""
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    found = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{target.host} has no address")
    return found


def callback_url_validate(value: str) -> None:
    """The Project.callback_url validator (API, requester form, admin and services all run
    it). A host that does not resolve now is accepted: the send-time check decides."""
    if not value:
        return
    try:
        target = target_of(value)
        is_localhost = target.host == "localhost" or target.host.endswith(".localhost")
        if is_localhost and not target.allowed_by_name:
            raise UnsafeUrl("localhost is not a public address.")
        try:
            addresses = resolve(target)
        except (OSError, UnicodeError):
            return
        addresses_check(target, addresses)
    except UnsafeUrl as exc:
        raise ValidationError(str(exc), code="unsafe_url") from None


# --- Sending ----------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address` while the Host header names the host."""

    def __init__(self, host: str, port: int, *, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to `address`; TLS sends the host as SNI and checks the certificate for it."""

    def __init__(self, host: str, port: int, *, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Reply:
    status: int
    location: str


def post_pinned(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Reply:
    """One POST to a checked address: no redirect is followed, no proxy is used, the response
    body is never read, and connect + send + the status line and headers take at most
    `timeout` seconds in all. Raises UnsafeUrl (refused), TimeoutError or OSError."""
    target = target_of(url)
    addresses = resolve(target)
    addresses_check(target, addresses)
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = kind(target.host, target.port, address=addresses[0], timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        conn.connect()
        with _cut_off_at(conn, deadline) as fired:
            try:
                conn.request("POST", target.path, body=body, headers=headers)
                response = conn.getresponse()
            except TimeoutError:  # the socket's own timeout: silent for `timeout` seconds
                raise TimeoutError(f"no answer within {timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                if fired.is_set():
                    raise TimeoutError(f"no answer within {timeout:g} s") from None
                raise OSError(f"{type(exc).__name__}: {exc}") from None
            if fired.is_set():  # cut off mid-headers: http.client takes the end as complete
                raise TimeoutError(f"no answer within {timeout:g} s")
            return Reply(status=response.status, location=response.getheader("Location", ""))
    finally:
        conn.close()


class _cut_off_at:
    """Shuts the socket down at `deadline`: a receiver trickling a byte a second cannot hold
    the sender past it (the socket timeout alone restarts with every byte)."""

    def __init__(self, conn: http.client.HTTPConnection, deadline: float) -> None:
        self.conn = conn
        self.fired = threading.Event()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no time left after connecting")
        self.timer = threading.Timer(remaining, self._shut)
        self.timer.daemon = True

    def _shut(self) -> None:
        self.fired.set()
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> threading.Event:
        self.timer.start()
        return self.fired

    def __exit__(self, *exc_info: object) -> None:
        self.timer.cancel()
