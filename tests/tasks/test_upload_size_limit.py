"""UPLOAD_MAX_BYTES holds on every path into a batch import, before the body is read.

The requester upload page used to read and spool the whole body before its 413 (the CSRF
middleware reads a multipart form first); the API refused early. Over a real socket, a refusal
that comes before the body is read arrives while the client has sent only the head.
"""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.tasks.models import Batch, Item

pytestmark = pytest.mark.django_db

ROWS = b"external_id,text\n" + b"".join(b"r%d,row %d\n" % (n, n) for n in range(200))


def web_url(project) -> str:
    return f"/requester/projects/{project.id}/upload/"


def api_url(project) -> str:
    return f"/api/v1/projects/{project.id}/batches/"


def test_the_upload_page_refuses_a_file_over_the_limit_with_413(
    client, requester, project, settings
):
    settings.UPLOAD_MAX_BYTES = 1_000
    client.force_login(requester)
    file = SimpleUploadedFile("rows.csv", ROWS, content_type="text/csv")
    response = client.post(web_url(project), {"file": file})
    assert response.status_code == 413
    assert b"UPLOAD_MAX_BYTES" in response.content
    assert not Batch.objects.exists()


def test_the_upload_page_still_imports_a_file_under_the_limit(client, requester, project, settings):
    settings.UPLOAD_MAX_BYTES = len(ROWS) + 1_000  # the form's framing included
    client.force_login(requester)
    file = SimpleUploadedFile("rows.csv", ROWS, content_type="text/csv")
    response = client.post(web_url(project), {"file": file, "format": "", "model_version": ""})
    assert response.status_code == 302
    assert Item.objects.count() == 200


@pytest.mark.parametrize("path", ["api", "web"])
def test_any_body_declared_over_the_limit_gets_413_even_anonymous(client, project, settings, path):
    settings.UPLOAD_MAX_BYTES = 1_000
    target = api_url(project) if path == "api" else web_url(project)
    response = client.post(target, ROWS, content_type="text/csv")
    assert response.status_code == 413
    if path == "api":
        assert response.json()["code"] == "upload_too_large"


def head_only_refusal(base_url: str, path: str, headers: dict[str, str], length: int) -> int:
    """Send a request head declaring `length` bytes and one small piece of the body, then wait
    for the answer: it can only come before the body is read."""
    address = urlsplit(base_url)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + b"--b\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status


@pytest.mark.django_db(transaction=True)
def test_the_upload_page_refuses_before_reading_the_body(live_server, client, requester, project):
    client.force_login(requester)
    session = client.cookies["sessionid"].value
    headers = {
        "Cookie": f"sessionid={session}",
        "Content-Type": "multipart/form-data; boundary=b",
    }
    status = head_only_refusal(live_server.url, web_url(project), headers, 600 * 1024 * 1024)
    assert status == 413
    assert not Batch.objects.exists()
