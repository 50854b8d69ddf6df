"""PostgreSQL restarted under load: requests fail cleanly (503 with Retry-After, never a 500 or
a hang) and the service recovers without restarting gunicorn; no confirmed answer is lost.

Never the shared cluster: the test creates a private one with Debian's postgresql-common
tooling (pg_createcluster, as root), copies the seeded test database into it, restarts it while
gunicorn serves workers, and drops it at the end. Skipped where the tooling is missing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import soak
from _server import free_port, start_gunicorn, stop

TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_dump", "psql")
OUTAGE_SECONDS = 3


def pg_version() -> str | None:
    versions = sorted(Path("/etc/postgresql").glob("[0-9]*"), key=lambda p: int(p.name))
    return versions[-1].name if versions else None


def pg(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture
def private_cluster() -> Iterator[tuple[str, str, int]]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or pg_version() is None:
        pytest.skip(f"needs Debian's postgresql-common tooling (missing: {missing or 'a version'})")
    if os.geteuid() != 0:
        pytest.skip("pg_createcluster needs root (it creates the cluster as the postgres user)")
    version, name, port = pg_version(), f"hcfault{os.getpid()}", free_port()
    pg(
        "pg_createcluster", version, name, "--port", str(port), "--start-conf=manual",
        "-o", "fsync=off", "-o", "shared_buffers=16MB", "-o", "max_connections=50",
        "--", "--auth=trust",
    )  # fmt: skip
    try:
        pg("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start")
        yield version, name, port
    finally:
        pg("pg_dropcluster", version, name, "--stop")


def copy_database(source_dsn: str, port: int) -> str:
    """The seeded test database, schema and rows, into the private cluster."""
    target = f"postgres://postgres@127.0.0.1:{port}/hcfault"
    with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True) as c:
        c.execute("CREATE DATABASE hcfault")
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", source_dsn],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", target],
        input=dump.stdout,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target


class Load:
    """Workers looping next task -> submit; every status and confirmed answer recorded."""

    def __init__(self, port: int, project: int, tokens: list[str]) -> None:
        self.port, self.project, self.tokens = port, project, tokens
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.confirmed: dict[int, tuple[int, str]] = {}  # assignment -> (answer id, label)
        self.bad: list[str] = []
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(t,)) for t in tokens]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=60)

    def loop(self, token: str) -> None:
        client = soak.Client(self.port, token, soak.Ledger())
        unanswered: list[int] = []  # submits that got a 503: sent again until confirmed
        while self.running:
            status, task = self.call(
                client, "next", "/api/v1/work/next/", {"project": self.project}
            )
            if status == 200:
                unanswered.append(task["assignment_id"])
            for assignment in list(unanswered):
                path = f"/api/v1/work/assignments/{assignment}/submit/"
                status, answer = self.call(
                    client, "submit", path, {"label": "cat", "seconds_spent": 1}
                )
                if status in (200, 201):
                    with self.lock:
                        self.confirmed[assignment] = (answer["id"], answer["label"])
                    unanswered.remove(assignment)
            if status in (0, 503):
                time.sleep(0.2)
        if client.ledger.connection_errors:
            self.bad += client.ledger.connection_errors

    def call(self, client: soak.Client, name: str, path: str, body: dict):
        status, data = client.post(name, path, body)
        with self.lock:
            self.statuses[(name, status)] += 1
            if status not in (200, 201, 204, 503):
                self.bad.append(f"{name} {status} {data!r:.300}")
            if status == 503 and (not isinstance(data, dict) or set(data) != ERROR_KEYS):
                self.bad.append(f"{name} 503 not in the error shape: {data!r:.300}")
        return status, data

    def successes(self) -> int:
        with self.lock:
            return self.statuses[("next", 200)] + self.statuses[("submit", 201)]


ERROR_KEYS = {"code", "detail", "errors"}


def get(port: int, path: str, token: str | None = None) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}"} if token else {}
    conn.request("POST" if path.startswith("/api/") else "GET", path, "{}", headers)
    response = conn.getresponse()
    raw = response.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"text": raw.decode(errors="replace")[:300]}
    return response.status, dict(response.getheaders()), body


def wait_for_status(port: int, path: str, wanted: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get(port, path)[0] == wanted:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
def test_a_postgresql_restart_under_load_gives_503s_and_the_service_recovers(
    live_dsn, private_cluster, tmp_path
):
    version, name, pg_port = private_cluster
    config = soak.SoakConfig(workers=4, items=400, model=False)
    project, tokens = soak.seed_project(config)
    dsn = copy_database(live_dsn, pg_port)
    env = {
        **soak.process_env(config, dsn, str(tmp_path)),
        "LOG_LEVEL": "CRITICAL",  # the 503s are logged as errors; the test counts them itself
    }
    web_port = free_port()
    server = start_gunicorn(port=web_port, workers=2, threads=4, env=env)
    try:
        with Load(web_port, project, tokens) as load:
            assert wait_until(lambda: load.successes() > 20, 20)
            pg("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop", "-m", "fast")
            down_at = time.monotonic()
            health = get(web_port, "/healthz")
            next_task = get(web_port, "/api/v1/work/next/", tokens[0])
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
            pg("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start")
            assert wait_for_status(web_port, "/healthz", 200, 20), "no recovery after the restart"
            before = load.successes()
            assert wait_until(lambda: load.successes() > before + 20, 20)
    finally:
        stop(server)

    assert health[0] == 503 and health[1].get("Retry-After") == "5"
    status, headers, body = next_task
    assert status == 503 and headers.get("Retry-After") == "5"
    assert body["code"] == "database_unavailable" and set(body) == ERROR_KEYS
    assert load.bad == []
    assert load.statuses[("next", 503)] + load.statuses[("submit", 503)] > 0
    with psycopg.connect(dsn) as conn:
        stored = {
            assignment: (answer, label)
            for assignment, answer, label in conn.execute(
                "SELECT assignment_id, id, label FROM tasks_answer WHERE project_id = %s",
                [project],
            )
        }
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM tasks_answer GROUP BY worker_id, item_id "
            "HAVING count(*) > 1) d"
        ).fetchone()[0]
    assert {a: stored.get(a) for a in load.confirmed} == load.confirmed  # none lost
    assert duplicates == 0


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
