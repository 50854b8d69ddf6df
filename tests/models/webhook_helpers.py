"""A fake DNS table and real local HTTP receivers for the webhook tests.

`socket.getaddrinfo` is the operating system's resolver: the tests replace it with a table so a
name can resolve to a public address at save and to 127.0.0.1 at send (DNS rebinding). Address
literals still go to the real function, since the sender connects by address.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in self.table:
            self.lookups.append(name)
            return [_info(address, port) for address in self.table[name]]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        except OSError:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not in the test's DNS") from None
        return REAL_GETADDRINFO(host, port, family, type, proto, flags)


def _info(address: str, port) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))


class Receiver(BaseHTTPRequestHandler):
    """Answers every request with `status` after `delay` seconds; records what came."""

    status = 200
    delay = 0.0
    location = ""
    received: list[tuple[str, str, Message, bytes]] = []
    arrivals: list[float] = []  # time.monotonic() of each request
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def _handle(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            cls.received.append((self.command, self.path, self.headers, body))
            cls.arrivals.append(time.monotonic())
            time.sleep(cls.delay)
            self.send_response(cls.status)
            if cls.location:
                self.send_header("Location", cls.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the sender hung up (its timeout)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    do_POST = _handle
    do_GET = _handle

    def log_message(self, *args) -> None:
        pass


@contextmanager
def receiver(**attributes) -> Iterator[tuple[int, type[Receiver]]]:
    """A real HTTP server on 127.0.0.1 (an ephemeral port) with its own handler class."""
    handler = type(
        "TestReceiver", (Receiver,), {"received": [], "arrivals": [], "lock": threading.Lock()}
    )
    for name, value in attributes.items():
        setattr(handler, name, value)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, handler
    finally:
        server.shutdown()
        server.server_close()


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The receiver's check from the README's own snippet, so the documentation stays true."""
    text = README.read_text()
    marker = text.index("<!-- receiver-snippet:")
    code = re.search(r"```python\n(.*?)```", text[marker:], re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md receiver snippet", "exec"), namespace)
    return namespace["verify"]
