"""Assignment benchmark: N workers loop next-task + submit over real HTTP (gunicorn + PostgreSQL).

    .venv/bin/python bench/assign.py                      # 16 workers, 10k and 1M projects
    .venv/bin/python bench/assign.py --big-items 100000   # quicker, smaller "big" project
    .venv/bin/python bench/assign.py --explain-only       # build data, print the claim's plan
    .venv/bin/python bench/assign.py --profile            # in-process: queries, CPU ms/request

Self-contained: creates its own database (hitlcrowd_assign_bench, dropped at the end unless
--keep-db), loads data with COPY, starts gunicorn on 127.0.0.1, runs each phase for a fixed
time, stops gunicorn. Prints round trips/s, p50/p95/p99 per endpoint, duplicate (worker, HIT)
pairs and overfilled HITs (both must be 0), and a raw-SQL claim+submit loop as the ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from _server import free_port, start_gunicorn, stop

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DB = "hitlcrowd_assign_bench"
LABELS = ["cat", "dog", "bird"]
HISTORY_WORKERS = 1000

SUBMIT_SQL = """
WITH done AS (
    UPDATE tasks_assignment SET state = 'submitted', finished_at = now()
    WHERE id = %(a)s AND state = 'leased' RETURNING hit_id, project_id, worker_id
), answer AS (
    INSERT INTO tasks_answer (assignment_id, item_id, project_id, worker_id, label,
                              seconds_spent, suggestion_shown, created_at)
    SELECT %(a)s, h.item_id, done.project_id, done.worker_id, 'cat', 1.0, false, now()
    FROM done JOIN tasks_hit h ON h.id = done.hit_id
)
UPDATE tasks_hit h SET state = 'done'
FROM done WHERE h.id = done.hit_id AND h.answers_wanted <= 1 + (
    SELECT count(*) FROM tasks_assignment a WHERE a.hit_id = h.id AND a.state = 'submitted')
"""


def main() -> None:
    args = parse_args()
    os.environ.update(
        DATABASE_URL=f"{PG}/{DB}",
        SECRET_KEY="bench-secret",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        SECURE_SSL_REDIRECT="false",  # --profile's test client speaks plain HTTP
    )
    sys.path.insert(0, str(ROOT))
    create_database()
    server = None
    try:
        setup_django()
        tokens, worker_ids = make_users(args.workers * 2)
        small = make_project("bench-10k", args.small_items, history=0)
        # The raw loop is ~10x faster: with 3 answers per HIT it ran out of work mid-phase.
        raw_small = make_project("raw-10k", args.small_items, history=0, wanted=args.workers)
        if args.profile:
            profile_in_process(
                small,
                tokens[: args.workers],
                args.profile_rounds,
                args.cprofile,
                args.cprofile_sort,
            )
            return
        big = make_project("bench-1M", args.big_items, history=args.big_items)
        plan = explain_claim(big, worker_ids[0])
        print("\nEXPLAIN (ANALYZE) of the claim on the big project:\n" + plan)
        if args.explain_only:
            return
        args.port = args.port or free_port()
        server = start_gunicorn(
            port=args.port, workers=args.gunicorn_workers, threads=args.gunicorn_threads
        )
        results = {}
        for name, project in (("10k", small), ("1M", big)):
            run_http(args.port, project, tokens[: args.workers], seconds=2)  # warm up
            with CpuMeter(server.pid) as cpu:
                results[name] = run_http(args.port, project, tokens[: args.workers], args.seconds)
            results[name]["cpu"] = cpu.per(results[name]["round_trips"])
        with CpuMeter(None) as cpu:
            raw = run_raw(raw_small, worker_ids[args.workers :], args.seconds)
        raw["cpu"] = cpu.per(raw["round_trips"], closed_backends=raw["closed_backend_cpu"])
        report(args, results, raw, plan)
    finally:
        if server is not None:
            stop(server)
        if not args.keep_db:
            drop_database()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16, help="concurrent workers")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--small-items", type=int, default=10_000)
    parser.add_argument("--big-items", type=int, default=1_000_000)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--explain-only", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="queries and CPU ms per request, no HTTP"
    )
    parser.add_argument("--profile-rounds", type=int, default=400)
    parser.add_argument("--cprofile", action="store_true", help="with --profile: top functions")
    parser.add_argument(
        "--cprofile-sort", default="cumulative", help="pstats sort key, e.g. tottime"
    )
    return parser.parse_args()


# --- Database and data -----------------------------------------------------------------------


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def create_database() -> None:
    drop_database()
    admin_sql(f"CREATE DATABASE {DB}")


def drop_database() -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def setup_django() -> None:
    import django
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    django.setup()
    call_command("migrate", verbosity=0)


def make_users(count: int) -> tuple[list[str], list[int]]:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    users = get_user_model()
    users.objects.create_user("bench-owner", password="x", role="requester")
    tokens, ids = [], []
    for n in range(count):
        user = users.objects.create_user(f"bench-worker-{n}", password="x", role="worker")
        tokens.append(AuthToken.objects.create(user)[1])
        ids.append(user.pk)
    historical = [users(username=f"past-{n}", role="worker") for n in range(HISTORY_WORKERS)]
    users.objects.bulk_create(historical)
    return tokens, ids


def connect():
    import psycopg

    return psycopg.connect(f"{PG}/{DB}", autocommit=True)


def make_project(name: str, items: int, history: int, wanted: int = 3) -> int:
    """A project of `items` waiting items with a HIT each (`wanted` answers); the first
    `history` HITs already hold one submitted assignment of a past worker."""
    from apps.tasks.models import Project
    from apps.workers.models import User

    owner = User.objects.get(username="bench-owner")
    project = Project.objects.create(owner=owner, name=name, labels=LABELS, gold_share=0)
    past = list(User.objects.filter(username__startswith="past-").values_list("pk", flat=True))
    started = time.perf_counter()
    with connect() as conn:
        first_item = copy_rows(
            conn,
            "tasks_item (project_id, external_id, payload, prediction, model_version, state, "
            "final_label, label_source, is_gold, gold_label, consensus_method, created_at, "
            "updated_at, review_action, review_reason)",
            (
                f'{project.pk}\t{name}-{n}\t{{"text": "item {n}"}}\t\t\twaiting\t\t\tf\t\t\t'
                "now\tnow\t\t\n"
                for n in range(items)
            ),
            "tasks_item",
            project.pk,
        )
        first_hit = copy_rows(
            conn,
            "tasks_hit (item_id, project_id, answers_wanted, priority, is_gold, state, "
            "slots_taken, created_at, updated_at, extra_answers, held)",
            (
                f"{first_item + n}\t{project.pk}\t{wanted}\t0\tf\topen\t{1 if n < history else 0}\t"
                "now\tnow\t0\tf\n"
                for n in range(items)
            ),
            "tasks_hit",
            project.pk,
        )
        if history:
            copy_rows(
                conn,
                "tasks_assignment (hit_id, project_id, worker_id, state, leased_at, "
                "lease_expires_at, finished_at, skip_reason)",
                (
                    f"{first_hit + n}\t{project.pk}\t{past[n % len(past)]}\tsubmitted\tnow\t"
                    "now\tnow\t\n"
                    for n in range(history)
                ),
                None,
                None,
            )
        # A project this big has long been vacuumed in production; fresh from COPY, its first
        # reads write hint bits and the insert-triggered autovacuum runs during the phase.
        conn.execute("VACUUM (ANALYZE) tasks_item, tasks_hit, tasks_assignment")
    took = time.perf_counter() - started
    print(f"project {name}: {items:,} items/HITs, {history:,} assignments in {took:.0f}s")
    return project.pk


def copy_rows(conn, target: str, lines, table: str | None, project_id: int | None) -> int:
    """COPY the lines in chunks; returns the first new id of `table` in this project."""
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    if table is None:
        return 0
    row = conn.execute(f"SELECT min(id) FROM {table} WHERE project_id = %s", [project_id])
    return row.fetchone()[0]


def explain_claim(project_id: int, worker_id: int) -> str:
    from django.utils import timezone

    from apps.tasks.services.assignments.claim import claim_sql

    now = timezone.now()
    params = {
        "project": project_id,
        "gold": False,
        "worker": worker_id,
        "guideline": None,
        "now": now,
        "expires": now,
    }
    with connect() as conn:
        conn.execute("BEGIN")
        rows = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + claim_sql(), params)
        plan = "\n".join(r[0] for r in rows.fetchall())
        conn.execute("ROLLBACK")
    return plan


# --- HTTP phase ------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    round_trips: int = 0
    empty: int = 0
    errors: list[str] = field(default_factory=list)
    # CPU seconds of PostgreSQL backends that close before the phase's last sample (raw loop).
    closed_backend_cpu: list[float] = field(default_factory=list)


def worker_loop(port: int, token: str, project: int, stop: float, stats: Stats) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    next_body = json.dumps({"project": project})
    while time.monotonic() < stop:
        status, task, took = call(conn, "/api/v1/work/next/", next_body, headers)
        stats.latencies["next"].append(took)
        if status == 204:
            stats.empty += 1
            continue
        if status != 200:
            stats.errors.append(f"next {status} {task}")
            return
        url = f"/api/v1/work/assignments/{task['assignment_id']}/submit/"
        body = json.dumps({"label": task["labels"][0], "seconds_spent": 1.5})
        status, answer, took = call(conn, url, body, headers)
        stats.latencies["submit"].append(took)
        if status != 201:
            stats.errors.append(f"submit {status} {answer}")
            return
        stats.round_trips += 1


def call(conn: http.client.HTTPConnection, url: str, body: str, headers: dict):
    started = time.perf_counter()
    conn.request("POST", url, body, headers)
    response = conn.getresponse()
    data = response.read()
    took = time.perf_counter() - started
    return response.status, json.loads(data) if data else None, took


def run_workers(target, args_for, count: int, seconds: float) -> tuple[Stats, float]:
    stats = Stats()
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=target, args=(*args_for(n), stop, stats)) for n in range(count)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - started


def run_http(port: int, project: int, tokens: list[str], seconds: float) -> dict:
    stats, took = run_workers(
        worker_loop, lambda n: (port, tokens[n], project), len(tokens), seconds
    )
    return summarize(stats, took, project)


def summarize(stats: Stats, took: float, project: int) -> dict:
    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0

    result = {
        "round_trips_per_s": stats.round_trips / took,
        "round_trips": stats.round_trips,
        "empty": stats.empty,
        "errors": stats.errors[:5],
        "duplicates": 0,
        "overfilled": 0,
    }
    for name, values in stats.latencies.items():
        result[name] = {q: pct(values, q) for q in (50, 95, 99)}
    result["duplicates"], result["overfilled"] = integrity(project)
    return result


class CpuMeter:
    """CPU seconds (user + system) spent during a phase by the gunicorn processes, the
    PostgreSQL backends of the bench database and this client process: the cost of a round
    trip in CPU, which the load of other programs on the machine does not change much (unlike
    round trips/s). Backends that exit during the phase are not counted."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end = self._sample()

    def per(self, round_trips: int, closed_backends: float = 0.0) -> dict[str, float]:
        """Milliseconds of CPU per round trip, per side."""
        out = {}
        for side in ("server", "postgres", "client"):
            before, after = self.start[side], self.end[side]
            spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
            if side == "postgres":
                spent += closed_backends
            out[side] = spent / max(round_trips, 1) * 1000
        return out

    def _sample(self) -> dict[str, dict[int, float]]:
        server = {}
        if self.server_pid is not None:
            server = {pid: proc_cpu(pid) for pid in [self.server_pid, *children(self.server_pid)]}
        with connect() as conn:
            backends = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [DB],
            ).fetchall()
        times = os.times()
        return {
            "server": server,
            "postgres": {pid: proc_cpu(pid) for (pid,) in backends},
            "client": {os.getpid(): times.user + times.system},
        }


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def integrity(project: int) -> tuple[int, int]:
    with connect() as conn:
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT hit_id, worker_id FROM tasks_assignment "
            "WHERE project_id = %s GROUP BY 1, 2 HAVING count(*) > 1) d",
            [project],
        ).fetchone()[0]
        overfilled = conn.execute(
            "SELECT count(*) FROM tasks_hit h WHERE h.project_id = %s AND NOT h.is_gold AND "
            "h.answers_wanted < (SELECT count(*) FROM tasks_assignment a WHERE a.hit_id = h.id "
            "AND a.state IN ('leased', 'submitted'))",
            [project],
        ).fetchone()[0]
    return duplicates, overfilled


# --- In-process profile -----------------------------------------------------------------------


def profile_in_process(
    project: int, tokens: list[str], rounds: int, cprofile: bool, sort: str = "cumulative"
) -> None:
    """Queries per endpoint and CPU ms per request, through the whole Django stack (middleware,
    knox, DRF) with the test client: independent of machine load, unlike the HTTP figures."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = [Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {t}") for t in tokens]
    body = json.dumps({"project": project})

    def round_trip(client: Client, cpu: dict[str, float]) -> None:
        started = time.process_time()
        task = client.post("/api/v1/work/next/", body, content_type="application/json")
        cpu["next"] += time.process_time() - started
        assert task.status_code == 200, task.content
        url = f"/api/v1/work/assignments/{task.json()['assignment_id']}/submit/"
        started = time.process_time()
        answer = client.post(
            url,
            json.dumps({"label": LABELS[0], "seconds_spent": 1.5}),
            content_type="application/json",
        )
        cpu["submit"] += time.process_time() - started
        assert answer.status_code == 201, answer.content

    cpu = defaultdict(float)
    for client in clients:  # warm up: imports, url resolver, first token refresh
        round_trip(client, cpu)
    for endpoint in ("next", "submit"):
        with CaptureQueriesContext(connection) as queries:
            client = clients[0]
            if endpoint == "next":
                response = client.post("/api/v1/work/next/", body, content_type="application/json")
                assignment = response.json()["assignment_id"]
            else:
                client.post(
                    f"/api/v1/work/assignments/{assignment}/submit/",
                    json.dumps({"label": LABELS[0], "seconds_spent": 1.5}),
                    content_type="application/json",
                )
        print(f"\n{endpoint}: {len(queries)} queries")
        for query in queries.captured_queries:
            print("   ", " ".join(query["sql"].split())[:150])
    cpu = defaultdict(float)
    profiler = cProfile.Profile(time.process_time) if cprofile else None
    wall = time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(rounds):
        round_trip(clients[n % len(clients)], cpu)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - wall
    print(
        f"\nCPU per request (this process, {rounds} round trips): next "
        f"{cpu['next'] / rounds * 1000:.2f} ms, submit {cpu['submit'] / rounds * 1000:.2f} ms; "
        f"wall per round trip {wall / rounds * 1000:.2f} ms (includes PostgreSQL)"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(sort).print_stats(40)
        by_package: dict[str, float] = defaultdict(float)
        for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
            parts = filename.split("site-packages/")
            key = parts[1].split("/")[0] if len(parts) > 1 else filename.split("/")[-2:][0]
            by_package[key] += tottime
        total = sum(by_package.values())
        for key, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
            print(f"{key:24} {seconds / total:6.1%}")


# --- Raw SQL ceiling -------------------------------------------------------------------------


def raw_loop(worker_id: int, project: int, stop: float, stats: Stats) -> None:
    from datetime import UTC, datetime, timedelta

    from apps.tasks.services.assignments.claim import claim_sql

    claim = claim_sql()  # the platform's statement, with the joins its task needs
    with connect() as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        backend_cpu = proc_cpu(backend)
        while time.monotonic() < stop:
            started = time.perf_counter()
            now = datetime.now(UTC)
            params = {
                "project": project,
                "gold": False,
                "worker": worker_id,
                "guideline": None,
                "now": now,
                "expires": now + timedelta(minutes=10),
            }
            with conn.transaction():
                row = conn.execute(claim, params).fetchone()
            stats.latencies["next"].append(time.perf_counter() - started)
            if row is None:
                stats.empty += 1
                continue
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(SUBMIT_SQL, {"a": row[0]})
            stats.latencies["submit"].append(time.perf_counter() - started)
            stats.round_trips += 1
        stats.closed_backend_cpu.append(proc_cpu(backend) - backend_cpu)


def run_raw(project: int, worker_ids: list[int], seconds: float) -> dict:
    stats, took = run_workers(
        raw_loop, lambda n: (worker_ids[n], project), len(worker_ids), seconds
    )
    result = summarize(stats, took, project)
    result["closed_backend_cpu"] = sum(stats.closed_backend_cpu)
    return result


# --- Report ----------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: dict, raw: dict, plan: str) -> None:
    print(
        f"\n{args.workers} workers, {args.seconds:.0f}s per phase, gunicorn "
        f"{args.gunicorn_workers}x{args.gunicorn_threads} gthread\n"
    )
    print(
        "| phase | round trips/s | next p50/p95/p99 ms | submit p50/p95/p99 ms | "
        "204s | duplicates | overfilled | CPU ms per round trip: server + postgres + client |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in [*results.items(), ("raw SQL 10k", raw)]:
        cpu = r["cpu"]
        total = sum(cpu.values())
        print(
            f"| {name} | {r['round_trips_per_s']:.0f} | {fmt(r.get('next'))} | "
            f"{fmt(r.get('submit'))} | {r['empty']} | {r['duplicates']} | {r['overfilled']} | "
            f"{cpu['server']:.2f} + {cpu['postgres']:.2f} + {cpu['client']:.2f} = {total:.2f} |"
        )
        if r["errors"]:
            print(f"  errors: {r['errors']}")
    small, big = results["10k"], results["1M"]
    ratio_p95 = (big["next"][95] + big["submit"][95]) / (small["next"][95] + small["submit"][95])
    print(f"\np95 (next+submit) 1M / 10k: {ratio_p95:.2f}x (goal <= 1.2x)")
    print(
        f"HTTP 10k / raw SQL: {small['round_trips_per_s'] / raw['round_trips_per_s']:.2f}x "
        "(goal >= 0.3x)"
    )
    print(f"HTTP 10k round trips/s: {small['round_trips_per_s']:.0f} (goal >= 200)")
    cores = os.cpu_count() or 1
    for name, r in [("10k", small), ("raw SQL 10k", raw)]:
        total = sum(r["cpu"].values())
        print(
            f"CPU ceiling {name}: {cores} cores / {total:.2f} ms per round trip = "
            f"{cores * 1000 / total:.0f} round trips/s if nothing else ran on the machine"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    bad = sum(r["duplicates"] + r["overfilled"] for r in [*results.values(), raw])
    print(f"integrity: {'OK' if bad == 0 else 'BROKEN'} (duplicates + overfilled = {bad})")


def fmt(p: dict | None) -> str:
    return "-" if not p else f"{p[50]:.1f} / {p[95]:.1f} / {p[99]:.1f}"


if __name__ == "__main__":
    main()
