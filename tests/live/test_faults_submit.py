"""A submit whose connection drops: the client sent it and closed the socket before reading
the response (or mid-body). The retry of the same submit is safe: one answer, one credit, and
a replay answers 200 with the first answer."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import soak
from _server import free_port, start_gunicorn, stop

from apps.tasks.models import Answer
from apps.workers.models import LedgerEntry


@pytest.fixture
def served(live_dsn, tmp_path) -> Iterator[tuple[soak.Client, int]]:
    config = soak.SoakConfig(workers=1, items=20, model=False)
    project, (token,) = soak.seed_project(config)
    port = free_port()
    server = start_gunicorn(
        port=port, workers=1, threads=2, env=soak.process_env(config, live_dsn, str(tmp_path))
    )
    try:
        yield soak.Client(port, token, soak.Ledger()), project
    finally:
        stop(server)


def take_task(client: soak.Client, project: int) -> int:
    status, task = client.post("next", "/api/v1/work/next/", {"project": project})
    assert status == 200, task
    return task["assignment_id"]


def send_partly(client: soak.Client, path: str, body: dict, keep: int | None = None) -> None:
    """The request's bytes (the first `keep` of its body only), then close without reading."""
    payload = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    head += [f"{name}: {value}" for name, value in client.headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload[:keep]
    with socket.create_connection(("127.0.0.1", client.port), timeout=10) as sock:
        sock.sendall(request)


def wait_for_answer(assignment: int, seconds: float = 10) -> Answer | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = Answer.objects.filter(assignment_id=assignment).first()
        if answer is not None:
            return answer
        time.sleep(0.05)
    return None


@pytest.mark.postgres
def test_the_retry_of_a_submit_whose_response_was_never_read_is_a_replay(served):
    client, project = served
    assignment = take_task(client, project)
    path = f"/api/v1/work/assignments/{assignment}/submit/"
    body = {"label": "dog", "seconds_spent": 3}

    send_partly(client, path, body)
    stored = wait_for_answer(assignment)
    assert stored is not None, "the server did not finish the dropped request"
    status, answer = client.post("submit", path, body)

    assert status == 200, answer
    assert answer["id"] == stored.pk and answer["label"] == "dog"
    assert Answer.objects.filter(assignment_id=assignment).count() == 1
    assert LedgerEntry.objects.filter(answer=stored, kind="credit").count() == 1


@pytest.mark.postgres
def test_a_submit_cut_off_mid_body_stores_nothing_and_its_retry_is_the_answer(served):
    client, project = served
    assignment = take_task(client, project)
    path = f"/api/v1/work/assignments/{assignment}/submit/"
    body = {"label": "bird", "seconds_spent": 3}

    send_partly(client, path, body, keep=5)
    time.sleep(1)
    assert not Answer.objects.filter(assignment_id=assignment).exists()
    status, answer = client.post("submit", path, body)
    again, replay = client.post("submit", path, body)

    assert (status, again) == (201, 200), (answer, replay)
    assert replay["id"] == answer["id"]
    assert Answer.objects.filter(assignment_id=assignment).count() == 1
    assert LedgerEntry.objects.filter(answer_id=answer["id"], kind="credit").count() == 1
