"""Soak with a ledger: N simulated workers against gunicorn + qcluster on PostgreSQL, every
answer checked against the load generator's own record of what it sent and what was confirmed.

    .venv/bin/python bench/soak.py                          # 50 workers, 10 minutes
    .venv/bin/python bench/soak.py --workers 8 --seconds 40 # about what CI runs
    .venv/bin/python bench/soak.py --scale-out              # 2 gunicorns + 2 qclusters on Redis

Each worker loops next task -> answer, and now and then: skips, sends the same submit twice,
sends a submit and drops the connection before reading the response (then retries it on a
new one), tries to change a confirmed answer (409), or lets a lease expire and submits late
(410). The ledger keeps, per assignment, what was meant and which responses came back. At the
end, once the job queue is drained, the database must hold exactly the confirmed answers:

- 0 lost (a 200/201-confirmed answer missing or with another label), 0 doubled (two answers
  for one assignment, an answer for a skipped or expired lease, an answer nobody sent), 0
  duplicate (worker, item), 0 credits twice, 0 HITs with more answers than wanted;
- 0 server errors (5xx) and 0 unexpected statuses or dropped connections;
- every job done: no run left running, no failed run or django-q2 failure, the latest
  consensus run saw every answer, items and HITs agree (waiting <-> open), and no two
  consensus runs of the project overlapped in time.

Prints round trips/s and p50/p95/p99 per endpoint. Self-contained: its own database (created,
migrated, dropped at the end unless --keep-db), processes on 127.0.0.1. tests/live runs a
short version of the same code (`run_soak`) on the test database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from _server import free_port, kill, start_gunicorn, start_qcluster, stop

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
LABELS = ["cat", "dog", "bird"]
ACCURACY = 0.8  # a simulated worker's chance of the item's true label


@dataclass
class SoakConfig:
    workers: int = 50
    seconds: float = 600.0
    items: int = 50_000
    gold_share: float = 0.05  # of the uploaded items, gold (with a known label)
    lease_seconds: int = 30
    expirers: int = 3  # workers that each let one lease run out
    seed: int = 1
    scale_out: bool = False  # two gunicorns and two qclusters on Redis
    redis_url: str = "redis://127.0.0.1:6379/7"
    # The job queue's name and Redis key: this run's own, so that other runs sharing the Redis
    # database (other soaks, test suites) neither take its jobs nor give it theirs.
    queue: str = field(default_factory=lambda: f"hitlcrowd-soak-{os.getpid()}")
    gunicorn_workers: int = 4
    gunicorn_threads: int = 4
    q_workers: int = 2
    model: bool = True  # retraining on (the soak's labels cannot be learned: none promotes)
    settle_seconds: float = 300.0
    port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)


# --- The ledger ----------------------------------------------------------------------------


@dataclass
class Intent:
    """One task a simulated worker took and what it did with it."""

    worker: int
    assignment: int
    item: int  # the n of "soak item n"
    action: str  # submit, retry, drop, conflict, skip, expire
    label: str
    statuses: list[int] = field(default_factory=list)
    answer_ids: set[int] = field(default_factory=set)

    @property
    def confirmed(self) -> bool:
        return self.action not in ("skip", "expire") and bool({200, 201} & set(self.statuses))


@dataclass
class Ledger:
    intents: dict[int, Intent] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    unexpected: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    connection_errors: list[str] = field(default_factory=list)
    empty: int = 0
    late: int = 0  # normal submits answered 410 (a re-score cancelled the HIT under the lease)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, intent: Intent) -> None:
        with self.lock:
            self.intents[intent.assignment] = intent

    def time(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection per simulated worker; reconnects after an error."""

    def __init__(self, port: int, token: str, ledger: Ledger) -> None:
        self.port, self.ledger = port, ledger
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, endpoint: str, path: str, body: dict) -> tuple[int, Any]:
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, json.dumps(body), self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            with self.ledger.lock:
                self.ledger.connection_errors.append(f"{endpoint}: {exc!r}")
            return 0, None
        self.ledger.time(endpoint, time.perf_counter() - started)
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw[:200]
        if response.status >= 500:
            with self.ledger.lock:
                self.ledger.server_errors.append(f"{endpoint} {response.status} {data!r:.300}")
        return response.status, data

    def send_and_drop(self, path: str, body: dict) -> None:
        """Write a whole request on a fresh socket and close it without reading a byte."""
        payload = json.dumps(body).encode()
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        head += [f"{name}: {value}" for name, value in self.headers.items()]
        head.append(f"Content-Length: {len(payload)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(request)


def choose_action(rng: random.Random, taken: int, expirer: bool) -> str:
    if expirer and taken == 2:
        return "expire"
    roll = rng.random()
    for action, share in (("skip", 0.05), ("retry", 0.05), ("drop", 0.03), ("conflict", 0.02)):
        if roll < share:
            return action
        roll -= share
    return "submit"


def true_label(item_number: int) -> str:
    """The item's hidden true label: not in its text, so no model can learn it (no re-score
    auto-labels the open items away mid-soak)."""
    return LABELS[(item_number * 7919) % len(LABELS)]


def worker_loop(
    config: SoakConfig, project: int, port: int, token: str, index: int, stop_at: float, ledger
) -> None:
    client = Client(port, token, ledger)
    rng = random.Random(config.seed * 100_003 + index)
    taken = 0
    while time.monotonic() < stop_at:
        status, task = client.post("next", "/api/v1/work/next/", {"project": project})
        if status == 204:
            with ledger.lock:
                ledger.empty += 1
            time.sleep(0.2)
            continue
        if status != 200:
            expect(ledger, "next", status, {200, 204}, task)
            time.sleep(0.5)
            continue
        action = choose_action(rng, taken, index < config.expirers)
        taken += 1
        item = int(task["item"]["payload"]["text"].split()[2])  # workers never see item ids
        label = true_label(item) if rng.random() < ACCURACY else rng.choice(LABELS)
        intent = Intent(index, task["assignment_id"], item, action, label)
        ledger.record(intent)
        ACTIONS[action](client, intent, config, ledger)


def _submit(client: Client, intent: Intent, endpoint: str = "submit") -> tuple[int, Any]:
    path = f"/api/v1/work/assignments/{intent.assignment}/submit/"
    body = {"label": intent.label, "seconds_spent": 2.5}
    status, answer = client.post(endpoint, path, body)
    intent.statuses.append(status)
    if status in (200, 201):
        intent.answer_ids.add(answer["id"])
    return status, answer


def do_submit(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    status, body = _submit(client, intent)
    if status == 410:  # a re-score cancelled the HIT under this lease: not an error
        with ledger.lock:
            ledger.late += 1
        return
    expect(ledger, "submit", status, {201}, body)


def do_retry(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    first, body = _submit(client, intent)
    if first == 410:
        return
    expect(ledger, "submit", first, {201}, body)
    again, body = _submit(client, intent, "submit (same again)")
    expect(ledger, "submit (same again)", again, {200}, body)


def do_drop(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    path = f"/api/v1/work/assignments/{intent.assignment}/submit/"
    try:
        client.send_and_drop(path, {"label": intent.label, "seconds_spent": 2.5})
    except OSError as exc:
        with ledger.lock:
            ledger.connection_errors.append(f"drop: {exc!r}")
    status, body = _submit(client, intent, "submit (after a drop)")
    if status != 410:
        expect(ledger, "submit (after a drop)", status, {200, 201}, body)


def do_conflict(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    status, body = _submit(client, intent)
    if status == 410:
        return
    expect(ledger, "submit", status, {201}, body)
    other = next(label for label in LABELS if label != intent.label)
    path = f"/api/v1/work/assignments/{intent.assignment}/submit/"
    again, body = client.post("submit (changed)", path, {"label": other, "seconds_spent": 1})
    expect(ledger, "submit (changed)", again, {409}, body)


def do_skip(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    path = f"/api/v1/work/assignments/{intent.assignment}/skip/"
    status, body = client.post("skip", path, {"reason": "soak"})
    intent.statuses.append(status)
    if status != 410:
        expect(ledger, "skip", status, {200}, body)


def do_expire(client: Client, intent: Intent, config: SoakConfig, ledger: Ledger) -> None:
    time.sleep(config.lease_seconds + 1.5)
    # Idle past gunicorn's keep-alive (30 s): the server closed the connection; reconnect as
    # any HTTP client does after a long pause.
    client.conn.close()
    status, body = _submit(client, intent, "submit (late)")
    expect(ledger, "submit (late)", status, {410}, body)


ACTIONS: dict[str, Callable[[Client, Intent, SoakConfig, Ledger], None]] = {
    "submit": do_submit,
    "retry": do_retry,
    "drop": do_drop,
    "conflict": do_conflict,
    "skip": do_skip,
    "expire": do_expire,
}


def expect(ledger: Ledger, endpoint: str, status: int, wanted: set[int], body: Any) -> None:
    if status and status < 500 and status not in wanted:
        with ledger.lock:
            ledger.unexpected.append(f"{endpoint}: {status} {body!r:.300}")


def run_load(config: SoakConfig, project: int, ports: list[int], tokens: list[str]) -> Ledger:
    ledger = Ledger()
    stop_at = time.monotonic() + config.seconds
    threads = [
        threading.Thread(
            target=worker_loop,
            args=(config, project, ports[n % len(ports)], token, n, stop_at, ledger),
            daemon=True,
        )
        for n, token in enumerate(tokens)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.latencies["wall"] = [time.perf_counter() - started]
    return ledger


# --- Data ------------------------------------------------------------------------------------


def seed_project(config: SoakConfig) -> tuple[int, list[str]]:
    """A text project (overlap 2-5, gold, a published guideline, a reward per answer) and
    `config.workers` workers with a token each who acknowledged the guideline. Uses the
    services in this process (Django set up on the soak's database)."""
    import io

    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from apps.models.models import LearningSettings
    from apps.tasks.services.batches import batch_import
    from apps.tasks.services.guidelines import (
        guideline_acknowledge,
        guideline_draft_create,
        guideline_publish,
    )
    from apps.tasks.services.projects import project_create

    users = get_user_model()
    owner = users.objects.create_user("soak-owner", password=None, role="requester")
    project = project_create(
        owner=owner,
        name="soak",
        labels=LABELS,
        min_overlap=2,
        max_overlap=5,
        gold_share=0.1,
        reward_per_answer="0.0500",
        lease_seconds=max(config.lease_seconds, 30),
    )
    if config.lease_seconds < 30:  # below the field's minimum: a short soak's expiring leases
        type(project).objects.filter(pk=project.pk).update(lease_seconds=config.lease_seconds)
    LearningSettings.objects.update_or_create(
        project=project, defaults={"model_enabled": config.model, "retrain_after_labels": 200}
    )
    rng = random.Random(config.seed)
    lines = []
    for n in range(config.items):
        row = {"external_id": f"s{n}", "text": f"soak item {n} {rng.random():.6f}"}
        if rng.random() < config.gold_share:
            row["gold_label"] = true_label(n)  # gold agrees with the truth workers know
        lines.append(json.dumps(row))
    body = io.BytesIO(("\n".join(lines) + "\n").encode())
    batch_import(project=project, user=owner, stream=body, file_name="soak.jsonl")
    draft = guideline_draft_create(project=project, text="Pick the animal.", author=owner)
    number = guideline_publish(guideline=draft, by=owner).guideline.number
    tokens = []
    for n in range(config.workers):
        worker = users.objects.create_user(f"soak-w{n}", password=None, role="worker")
        guideline_acknowledge(worker=worker, project=project, number=number)
        tokens.append(AuthToken.objects.create(worker)[1])
    return project.pk, tokens


# --- Processes -------------------------------------------------------------------------------


def process_env(config: SoakConfig, dsn: str, data_dir: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": secret_key(),
        "DEBUG": "false",
        "SECURE_COOKIES": "false",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on 127.0.0.1, no proxy in front
        "API_THROTTLE_WORKER": "off",  # the soak measures the service; throttles have tests
        "LOG_LEVEL": "ERROR",
        "HITLCROWD_DATA_DIR": data_dir,
        "Q_WORKERS": str(config.q_workers),
        **config.extra_env,
    }
    env.pop("REDIS_URL", None)
    if config.scale_out:
        env["REDIS_URL"] = config.redis_url
        env["Q_CLUSTER_NAME"] = config.queue
    return env


def secret_key() -> str:
    """This process's key: jobs it queues are signed with it and the cluster must verify them."""
    from django.conf import settings

    return settings.SECRET_KEY


@contextmanager
def live_stack(config: SoakConfig, dsn: str) -> Iterator[list[int]]:
    """gunicorn(s) and qcluster(s) on `dsn`; yields the web ports. --scale-out: two of each,
    the job queue on Redis (emptied first: only this soak's jobs may be in it)."""
    copies = 2 if config.scale_out else 1
    if config.scale_out:
        redis_queue_clear(config)
    processes, clusters = [], []
    with tempfile.TemporaryDirectory(prefix="hitlcrowd-soak-") as data_dir:
        env = process_env(config, dsn, data_dir)
        try:
            ports = []
            for n in range(copies):
                port = (config.port + n) if config.port else free_port()
                processes.append(
                    start_gunicorn(
                        port=port,
                        workers=config.gunicorn_workers,
                        threads=config.gunicorn_threads,
                        env=env,
                    )
                )
                ports.append(port)
            clusters = [start_qcluster(env, quiet=False) for _ in range(copies)]
            if config.scale_out:
                redis_clusters_wait(config, copies)
            yield ports
        finally:
            for process in processes:
                stop(process)
            for cluster in clusters:  # checked before this point: no need to wait for it
                kill(cluster)


def redis_queue_clear(config: SoakConfig) -> None:
    import redis

    redis.Redis.from_url(config.redis_url).delete(f"django_q:{config.queue}:q")


def redis_clusters_wait(config: SoakConfig, copies: int, timeout: float = 180) -> None:
    """Until `copies` clusters of this soak's queue are up (each keeps a stat key with a 3 s
    lifetime in Redis while it runs): on a busy machine a cluster takes longer to start than
    the soak lasts, and one run at the end would prove nothing about sharing the work."""
    import redis

    connection = redis.Redis.from_url(config.redis_url)
    deadline = time.monotonic() + timeout
    while len(connection.keys(f"django_q:{config.queue}:cluster:*")) < copies:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{copies} qclusters did not start within {timeout:.0f} s")
        time.sleep(0.5)


def redis_queue_size(config: SoakConfig) -> int:
    import redis

    return redis.Redis.from_url(config.redis_url).llen(f"django_q:{config.queue}:q")


# --- The check against the database ----------------------------------------------------------


def settle(config: SoakConfig, dsn: str, project: int) -> float:
    """Wait until the queue is empty and the latest consensus run saw every answer. Returns
    the seconds waited."""
    started = time.monotonic()
    deadline = started + config.settle_seconds
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if _settled(conn, config, project):
                return time.monotonic() - started
            time.sleep(0.5)
    return time.monotonic() - started


def _settled(conn, config: SoakConfig, project: int) -> bool:
    queued = (
        redis_queue_size(config)
        if config.scale_out
        else conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]
    )
    row = conn.execute(_STATE_SQL, {"project": project}).fetchone()
    if row is None:
        return queued == 0
    pending, running, seen, answers, learning = row
    return queued == 0 and not pending and running is None and seen == answers and not learning


# A retrain or re-score being worked on is out of the queue (on Redis) but not done: wait for
# it too, so "training runs left running" counts only runs that really stopped.
_STATE_SQL = """
SELECT s.pending, s.running_since, r.answers,
       (SELECT count(*) FROM tasks_answer a
        WHERE a.project_id = %(project)s AND a.superseded_by_id IS NULL
        AND a.discarded_at IS NULL),
       EXISTS (SELECT 1 FROM mlmodels_trainingrun t
               WHERE t.project_id = %(project)s AND t.status = 'running')
       OR EXISTS (SELECT 1 FROM mlmodels_rescorerun c
                  WHERE c.project_id = %(project)s AND c.status = 'running')
FROM tasks_aggregationstate s LEFT JOIN tasks_aggregationrun r ON r.id = s.last_run_id
WHERE s.project_id = %(project)s
"""


def check(dsn: str, project: int, ledger: Ledger) -> dict[str, int]:
    """Every invariant as a count that must be 0 (plus `answers` and `confirmed`)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        answers = conn.execute(
            "SELECT assignment_id, id, label FROM tasks_answer WHERE project_id = %s", [project]
        ).fetchall()
        found = _ledger_against(answers, ledger)
        for name, sql in SQL.items():
            found[name] = conn.execute(sql, {"p": project}).fetchone()[0]
    found["server errors"] = len(ledger.server_errors)
    found["unexpected statuses"] = len(ledger.unexpected)
    found["connection errors"] = len(ledger.connection_errors)
    return found


def _ledger_against(answers: list[tuple[int, int, str]], ledger: Ledger) -> dict[str, int]:
    by_assignment: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for assignment, answer, label in answers:
        by_assignment[assignment].append((answer, label))
    intents = ledger.intents
    confirmed = [i for i in intents.values() if i.confirmed]
    lost = sum(
        1
        for i in confirmed
        if [(answer, label) for answer, label in by_assignment.get(i.assignment, [])]
        != [(answer, i.label) for answer in i.answer_ids]
    )
    refused = {i.assignment for i in intents.values() if i.action in ("skip", "expire")}
    return {
        "answers": len(answers),
        "confirmed": len(confirmed),
        "lost": lost,
        "doubled": sum(len(rows) - 1 for rows in by_assignment.values() if len(rows) > 1)
        + sum(1 for a in by_assignment if a in refused or a not in intents),
    }


SQL = {
    "duplicate (worker, item)": """
        SELECT count(*) FROM (SELECT 1 FROM tasks_answer WHERE project_id = %(p)s
                              GROUP BY worker_id, item_id HAVING count(*) > 1) d""",
    "credited twice": """
        SELECT count(*) FROM (SELECT 1 FROM workers_ledgerentry
                              WHERE project_id = %(p)s AND kind = 'credit'
                              GROUP BY answer_id HAVING count(*) > 1) d""",
    "answers without credit": """
        SELECT count(*) FROM tasks_answer a WHERE a.project_id = %(p)s AND NOT EXISTS (
            SELECT 1 FROM workers_ledgerentry l WHERE l.answer_id = a.id AND l.kind = 'credit')""",
    "HITs overfilled": """
        SELECT count(*) FROM tasks_hit h WHERE h.project_id = %(p)s AND NOT h.is_gold
        AND h.answers_wanted < (SELECT count(*) FROM tasks_assignment a
                                WHERE a.hit_id = h.id AND a.state = 'submitted')""",
    "runs left running": """
        SELECT count(*) FROM tasks_aggregationrun WHERE project_id = %(p)s
        AND status = 'running'""",
    "failed runs": """
        SELECT count(*) FROM tasks_aggregationrun WHERE project_id = %(p)s
        AND status = 'failed'""",
    "failed jobs": "SELECT count(*) FROM django_q_task WHERE NOT success",
    "training runs left running": """
        SELECT count(*) FROM mlmodels_trainingrun WHERE project_id = %(p)s
        AND status = 'running'""",
    "answers the last run missed": """
        SELECT (SELECT count(*) FROM tasks_answer WHERE project_id = %(p)s
                AND superseded_by_id IS NULL AND discarded_at IS NULL)
             - coalesce((SELECT r.answers FROM tasks_aggregationstate s
                         JOIN tasks_aggregationrun r ON r.id = s.last_run_id
                         WHERE s.project_id = %(p)s), 0)""",
    "answered items without consensus": """
        SELECT count(DISTINCT i.id) FROM tasks_item i JOIN tasks_answer a ON a.item_id = i.id
        WHERE i.project_id = %(p)s AND NOT i.is_gold AND i.label_source = ''
        AND i.aggregation_run_id IS NULL""",
    "items and HITs disagree": """
        SELECT count(*) FROM tasks_item i JOIN tasks_hit h ON h.item_id = i.id
        WHERE i.project_id = %(p)s AND NOT i.is_gold AND h.state <> 'cancelled'
        AND (i.state = 'waiting') <> (h.state = 'open')""",
    "runs": """
        SELECT count(*) FROM tasks_aggregationrun WHERE project_id = %(p)s""",
    "training runs": """
        SELECT count(*) FROM mlmodels_trainingrun WHERE project_id = %(p)s""",
    "overlapping consensus runs": """
        SELECT count(*) FROM tasks_aggregationrun a JOIN tasks_aggregationrun b
        ON a.project_id = b.project_id AND a.id < b.id
        WHERE a.project_id = %(p)s
        AND b.started_at < coalesce(a.finished_at, 'infinity')
        AND a.started_at < coalesce(b.finished_at, 'infinity')""",
}
COUNTED = {"runs", "training runs"}  # reported, not invariants
MUST_BE_ZERO = [name for name in (*SQL, "lost", "doubled") if name not in COUNTED] + [
    "server errors",
    "unexpected statuses",
    "connection errors",
]


# --- Running it ------------------------------------------------------------------------------


@dataclass
class SoakResult:
    ledger: Ledger
    found: dict[str, int]
    settle_seconds: float
    load_average: tuple[float, float, float]

    @property
    def broken(self) -> dict[str, int]:
        return {name: self.found[name] for name in MUST_BE_ZERO if self.found[name]}


def run_soak(config: SoakConfig, dsn: str, project: int, tokens: list[str]) -> SoakResult:
    """Load, drain, check: the whole soak on a seeded database (seed_project)."""
    with live_stack(config, dsn) as ports:
        ledger = run_load(config, project, ports, tokens)
        load = os.getloadavg()
        waited = settle(config, dsn, project)
        found = check(dsn, project, ledger)
    return SoakResult(ledger, found, waited, load)


def report(config: SoakConfig, result: SoakResult) -> str:
    ledger = result.ledger
    wall = ledger.latencies["wall"][0]
    lines = [
        f"{config.workers} workers, {config.seconds:.0f} s, gunicorn "
        + ("2 x " if config.scale_out else "")
        + f"{config.gunicorn_workers}x{config.gunicorn_threads} gthread, "
        + ("2 qclusters on Redis" if config.scale_out else "1 qcluster (ORM broker)")
        + f", Q_WORKERS={config.q_workers}",
        f"tasks taken: {len(ledger.intents):,} = {len(ledger.intents) / wall:.1f} round trips/s;"
        f" confirmed answers {result.found['confirmed']:,}; 204s {ledger.empty:,};"
        f" late 410s {ledger.late}",
        f"load average at the end of the load: {' '.join(f'{x:.1f}' for x in result.load_average)}"
        f"; queue, consensus and retrains done {result.settle_seconds:.1f} s later",
        f"consensus runs {result.found['runs']:,}, training runs {result.found['training runs']}",
        "",
        "| endpoint | requests | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, values in sorted(ledger.latencies.items()):
        if name == "wall":
            continue
        p50, p95, p99 = percentiles(values)
        lines.append(f"| {name} | {len(values):,} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    lines.append("")
    lines.append("ledger against the database (all must be 0):")
    lines += [f"  {name}: {result.found[name]}" for name in MUST_BE_ZERO]
    for title, items in (
        ("server errors", ledger.server_errors),
        ("unexpected", ledger.unexpected),
        ("connection errors", ledger.connection_errors),
    ):
        if items:
            lines.append(f"{title} (first 5): {items[:5]}")
    lines.append("RESULT: " + ("OK" if not result.broken else f"BROKEN {result.broken}"))
    return "\n".join(lines)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0] * 1000 if values else 0.0,) * 3
    cuts = statistics.quantiles(values, n=100)
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def parse_args() -> tuple[SoakConfig, argparse.Namespace]:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--items", type=int, default=defaults.items)
    parser.add_argument("--lease-seconds", type=int, default=defaults.lease_seconds)
    parser.add_argument("--expirers", type=int, default=defaults.expirers)
    parser.add_argument("--scale-out", action="store_true", help="2 gunicorns + 2 qclusters")
    parser.add_argument("--redis-url", default=defaults.redis_url)
    parser.add_argument("--gunicorn-workers", type=int, default=defaults.gunicorn_workers)
    parser.add_argument("--gunicorn-threads", type=int, default=defaults.gunicorn_threads)
    parser.add_argument("--q-workers", type=int, default=defaults.q_workers)
    parser.add_argument("--no-model", action="store_true", help="no retraining during the soak")
    parser.add_argument("--port", type=int, default=0, help="first web port; 0: free ports")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--db", default="hitlcrowd_soak")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    config = SoakConfig(
        workers=args.workers,
        seconds=args.seconds,
        items=args.items,
        lease_seconds=args.lease_seconds,
        expirers=args.expirers,
        scale_out=args.scale_out,
        redis_url=args.redis_url,
        gunicorn_workers=args.gunicorn_workers,
        gunicorn_threads=args.gunicorn_threads,
        q_workers=args.q_workers,
        model=not args.no_model,
        port=args.port,
        seed=args.seed,
    )
    return config, args


def admin_sql(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    config, args = parse_args()
    dsn = f"{PG}/{args.db}"
    os.environ.update(DATABASE_URL=dsn, SECRET_KEY="soak-secret", DEBUG="false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    sys.path.insert(0, str(ROOT))
    admin_sql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {args.db}")
    broken = True
    try:
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        project, tokens = seed_project(config)
        print(f"seeded {config.items:,} items in {time.perf_counter() - started:.0f} s", flush=True)
        connections.close_all()
        result = run_soak(config, dsn, project, tokens)
        print(report(config, result))
        broken = bool(result.broken)
    finally:
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
