"""Uploads through a real HTTP server: a chunked body (no Content-Length), a multipart form.

The test client never frames a body; these go over a socket, so a hang fails on the timeout.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from knox.models import AuthToken

from apps.tasks.models import HIT, Batch, Item
from tests.factories import ProjectFactory, RequesterFactory

ROOT = Path(__file__).resolve().parents[2]
ROWS = 300
CSV = b"external_id,text,prediction,confidence\n" + b"".join(
    b"c%d,row %d,cat,0.%d\n" % (n, n, n % 10) for n in range(ROWS)
)
AUTO_LABELED = sum(1 for n in range(ROWS) if n % 10 == 9)  # confidence 0.9, the threshold


def url(project) -> str:
    return f"/api/v1/projects/{project.id}/batches/"


def token_for(user) -> str:
    return AuthToken.objects.create(user)[1]


def in_pieces(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def send(base_url: str, path: str, body, headers: dict[str, str]) -> tuple[int, dict]:
    """POST over a real socket; an iterable body without Content-Length goes out chunked."""
    address = urlsplit(base_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def multipart(file_name: str, content: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "hitlcrowd-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"'
        f"\r\nContent-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_refused_with_411_by_a_server_that_does_not_decode_it(live_server):
    """Django's development server (live_server) passes a chunked body on undecoded: the view
    must say so, not import an empty file or read the raw chunk framing as rows."""
    owner = RequesterFactory(username="owner")
    project = ProjectFactory(owner=owner)
    headers = {"Authorization": f"Token {token_for(owner)}", "Content-Type": "text/csv"}

    status, body = send(live_server.url, url(project), in_pieces(CSV), headers)

    assert status == 411, body
    assert body["code"] == "length_required"
    assert "Content-Length" in body["detail"]
    assert not Item.objects.exists()
    assert not Batch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_multipart_file_over_http_is_imported(live_server):
    owner = RequesterFactory(username="owner")
    project = ProjectFactory(owner=owner)
    body, content_type = multipart("animals.csv", CSV, {"model_version": "m-9"})
    headers = {"Authorization": f"Token {token_for(owner)}", "Content-Type": content_type}

    status, result = send(live_server.url, url(project), body, headers)

    assert status == 201, result
    assert (result["file_name"], result["rows"], result["created"]) == ("animals.csv", ROWS, ROWS)
    assert result["auto_labeled"] == AUTO_LABELED
    assert HIT.objects.filter(project=project).count() == ROWS - AUTO_LABELED
    assert set(Item.objects.values_list("model_version", flat=True)) == {"m-9"}


@pytest.fixture
def gunicorn_url(transactional_db) -> Iterator[str]:
    """gunicorn (as deployed) on the test database: it decodes chunked bodies itself."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn runs in another process: needs PostgreSQL (DATABASE_URL)")
    db = connection.settings_dict
    dsn = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dsn, "SECRET_KEY": "test", "DEBUG": "false"}
    env["SECURE_COOKIES"] = "false"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "hitlcrowd.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "error"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_listening(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120  # gunicorn imports the whole project
    while time.monotonic() < deadline and server.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


@pytest.mark.postgres
def test_a_chunked_body_through_gunicorn_is_imported(gunicorn_url):
    owner = RequesterFactory(username="owner")
    project = ProjectFactory(owner=owner)
    headers = {"Authorization": f"Token {token_for(owner)}", "Content-Type": "text/csv"}

    status, result = send(gunicorn_url, url(project), in_pieces(CSV), headers)

    assert status == 201, result
    assert (result["rows"], result["created"]) == (ROWS, ROWS)
    assert Item.objects.filter(project=project).count() == ROWS
    assert HIT.objects.filter(project=project).count() == ROWS - AUTO_LABELED
