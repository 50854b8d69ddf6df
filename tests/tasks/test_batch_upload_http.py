"""Uploads through a real HTTP server: a chunked body (no Content-Length), a multipart form,
bodies that fail (a lone surrogate, bad rows, a client gone mid-body).

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
THREADS = 2
MAX_ROWS = 5_000
SURROGATE_ROW = b'{"external_id":"s1","text":"\\ud800"}\n'  # 40 bytes


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
    # Plain HTTP on 127.0.0.1: no secure cookies, no redirect to HTTPS.
    env.update(SECURE_COOKIES="false", SECURE_SSL_REDIRECT="false", UPLOAD_MAX_ROWS=str(MAX_ROWS))
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # As deployed (README), with THREADS threads: requests that hang would use them all up.
    command = [gunicorn, "hitlcrowd.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    command += ["-k", "gthread", "--threads", str(THREADS), "--log-level", "critical"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_until_listening(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a thread that hangs keeps gunicorn from stopping
            server.kill()
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


def jsonl_rows(count: int, start: int = 0) -> bytes:
    return b"".join(
        b'{"external_id":"r%d","text":"row %d"}\n' % (n, n) for n in range(start, count)
    )


def stuck_backends() -> list[tuple]:
    """Other sessions on the test database inside a COPY or a transaction left open."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (state LIKE 'idle in transaction%%' "
            "     OR (state = 'active' AND query ILIKE 'COPY%%'))"
        )
        return cursor.fetchall()


def assert_no_stuck_backends() -> None:
    deadline = time.monotonic() + 10
    while stuck_backends() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stuck_backends() == []


def send_then_hang_up(base_url: str, head: bytes, body_part: bytes) -> tuple[int, dict]:
    """Send the head and part of the body, close our sending side (a client gone mid-body),
    and read what the server answers."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(head + body_part)
        sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read() or b"{}")


def request_head(project, token: str, extra: str) -> bytes:
    return (
        f"POST {url(project)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/x-ndjson\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode()


@pytest.mark.postgres
def test_lone_surrogate_uploads_answer_400_promptly_and_do_not_use_up_the_server(gunicorn_url):
    """Each used to hang its thread and connection forever in an unfinished COPY."""
    owner = RequesterFactory(username="owner")
    project = ProjectFactory(owner=owner)
    headers = {"Authorization": f"Token {token_for(owner)}", "Content-Type": "application/x-ndjson"}

    for _ in range(THREADS * 5):
        started = time.monotonic()
        status, body = send(gunicorn_url, url(project), SURROGATE_ROW, headers)
        assert (status, body["code"]) == (400, "invalid_rows"), body
        assert "surrogate" in body["errors"][0]["message"]
        assert time.monotonic() - started < 5

    status, body = send(gunicorn_url, url(project), CSV, {**headers, "Content-Type": "text/csv"})
    assert status == 201, body
    assert_no_stuck_backends()


@pytest.mark.postgres
def test_failed_uploads_leave_no_backend_in_copy_or_idle_in_transaction(gunicorn_url):
    owner = RequesterFactory(username="owner")
    project = ProjectFactory(owner=owner)
    token = token_for(owner)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/x-ndjson"}
    good = jsonl_rows(3_000)  # more than one COPY block before anything fails

    # Bad rows after a COPY block was written; too many rows (raised inside the COPY).
    status, body = send(gunicorn_url, url(project), good + b"{oops\n", headers)
    assert (status, body["code"]) == (400, "invalid_rows"), body
    status, body = send(gunicorn_url, url(project), jsonl_rows(MAX_ROWS + 10), headers)
    assert (status, body["code"]) == (413, "too_many_rows"), body

    # The client goes away mid-body: a Content-Length body cut at a line boundary (it must not
    # be imported as a shorter file), then a chunked one.
    head = request_head(project, token, f"Content-Length: {len(good) * 2}\r\n")
    status, body = send_then_hang_up(gunicorn_url, head, good)
    assert (status, body["code"]) == (400, "unreadable_body"), body
    head = request_head(project, token, "Transfer-Encoding: chunked\r\n")
    status, body = send_then_hang_up(gunicorn_url, head, b"%x\r\n%s\r\n" % (len(good), good))
    assert (status, body["code"]) == (400, "unreadable_body"), body

    assert_no_stuck_backends()
    assert not Batch.objects.filter(status=Batch.Status.IMPORTED).exists()
    assert not Item.objects.exists()
    status, body = send(gunicorn_url, url(project), good, headers)
    assert (status, body["created"]) == (201, 3_000), body
