"""Batch upload throughput through the real HTTP API, against a plain COPY. Prints figures.

    .venv/bin/python bench/ingest.py                       # 100k and 1M rows, CSV
    .venv/bin/python bench/ingest.py --rows 200000 --format jsonl
    .venv/bin/python bench/ingest.py --rows 100000 --phases   # + where an import's time goes
    .venv/bin/python bench/ingest.py --rows 1000000 --cluster tuned   # own server, tuned

Self-contained: creates a scratch PostgreSQL database (PG_URL, default
postgres://postgres@127.0.0.1:5432; with --cluster, a throw-away server of its own started
with CLUSTER_SETTINGS[name] and deleted at the end), migrates it, starts gunicorn (one sync
worker) on a free 127.0.0.1 port, uploads each synthetic file to
POST /api/v1/projects/{id}/batches/ as a raw streamed body, samples the gunicorn worker's RSS
from /proc every 20 ms and the server's WAL, then loads the same rows with psycopg COPY into the
real tables and into a bare table. Everything is dropped and stopped at the end.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from _server import free_port

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LABELS = ["cat", "dog", "bird"]
THRESHOLD = 0.9
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "json": "application/json"}
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/local/bin"))

# PostgreSQL settings for a server that takes million-row uploads, sized for this machine
# (24 GiB RAM, 2 cores, one disk). `--cluster NAME` starts a throw-away server with them.
_TUNED = {
    # ~1/6 of RAM: a 1M-row import's new heap + index pages (~550 MB) stay in shared memory
    # until a checkpoint writes them once, instead of being evicted and re-read mid-import.
    "shared_buffers": "4GB",
    "effective_cache_size": "16GB",  # planner hint: what the OS page cache holds besides
    # A 1M-row import writes 1-1.6 GB of WAL: with the 1 GB default a checkpoint starts
    # mid-import and every page touched after it is logged again whole (full-page writes).
    "max_wal_size": "16GB",
    "min_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "checkpoint_completion_target": "0.9",
    "wal_compression": "lz4",  # the full-page images that remain, compressed
    "wal_buffers": "64MB",
    "maintenance_work_mem": "1GB",  # index builds and VACUUM after big imports
}
CLUSTER_SETTINGS: dict[str, dict[str, str]] = {
    "default": {},  # initdb's: shared_buffers 128MB, max_wal_size 1GB, checkpoint_timeout 5min
    "tuned": _TUNED,
    # Minimal WAL skips logging a table created or truncated in the same transaction; the
    # staging table is TEMPORARY, never WAL-logged anyway, so only this shows whether it helps.
    "tuned-minimal": {**_TUNED, "wal_level": "minimal", "max_wal_senders": "0"},
}


@dataclass
class Run:
    rows: int
    fmt: str
    size_mb: float
    api_seconds: float
    copy_seconds: float
    copy_real_seconds: float
    rss_base_mb: float
    rss_peak_mb: float
    created: int
    hits: int
    api_wal: Wal
    copy_real_wal: Wal
    api_cpu: Cpu
    copy_real_cpu: Cpu

    @property
    def api_rate(self) -> float:
        return self.rows / self.api_seconds

    @property
    def copy_rate(self) -> float:
        return self.rows / self.copy_seconds

    @property
    def copy_real_rate(self) -> float:
        return self.rows / self.copy_real_seconds

    def line(self) -> str:
        return (
            f"{self.rows:>9,} rows {self.fmt:<5} {self.size_mb:6.1f} MB | API "
            f"{self.api_seconds:6.2f} s {self.api_rate:>9,.0f} items/s | COPY into the real "
            f"tables {self.copy_real_seconds:6.2f} s {self.copy_real_rate:>8,.0f} rows/s, ratio "
            f"{self.api_rate / self.copy_real_rate:4.2f}x | COPY into a bare table "
            f"{self.copy_seconds:5.2f} s {self.copy_rate:>9,.0f} rows/s, ratio "
            f"{self.api_rate / self.copy_rate:4.2f}x | worker RSS {self.rss_base_mb:.0f} -> "
            f"peak {self.rss_peak_mb:.0f} MB (+{self.rss_peak_mb - self.rss_base_mb:.0f}) | "
            f"WAL API {self.api_wal} / COPY real {self.copy_real_wal} | "
            f"CPU API {self.api_cpu} / COPY real {self.copy_real_cpu} | "
            f"load {os.getloadavg()[0]:.1f}"
        )


@dataclass
class Wal:
    """WAL written and checkpoints started, server-wide, while one step ran."""

    mb: float
    checkpoints: int

    def __str__(self) -> str:
        return f"{self.mb:,.0f} MB, {self.checkpoints} ckpt"


class WalMeter:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def _now(self) -> tuple[str, int]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(
                "SELECT pg_current_wal_lsn()::text, checkpoints_timed + checkpoints_req "
                "FROM pg_stat_bgwriter"
            ).fetchone()

    def __enter__(self) -> Wal:
        self.lsn, self.checkpoints = self._now()
        self.wal = Wal(0.0, 0)
        return self.wal

    def __exit__(self, *exc: object) -> None:
        lsn, checkpoints = self._now()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            written = conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", [lsn, self.lsn]).fetchone()
        self.wal.mb = float(written[0]) / 1e6
        self.wal.checkpoints = checkpoints - self.checkpoints


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone (a backend that ended between listing and reading)
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(dsn: str) -> list[int]:
    """The postmaster and its children (backends, checkpointer, WAL writer, ...)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        status = Path(f"/proc/{conn.info.backend_pid}/status").read_text()  # while it lives
    postmaster = int(status.split("PPid:")[1].split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


@dataclass
class Cpu:
    """CPU seconds spent while one step ran: by our Python process (the gunicorn worker or
    none), by its PostgreSQL backend, and by the whole server (every process of the cluster:
    backends, checkpointer, WAL writer). Less sensitive to the shared box's load than wall
    time: compare these across runs."""

    python: float = 0.0
    backend: float = 0.0
    server: float = 0.0

    def __str__(self) -> str:
        return f"py {self.python:.1f} + pg {self.backend:.1f} s (server {self.server:.1f} s)"


class CpuMeter:
    def __init__(self, dsn: str, *, python_pid: int | None, backend_pid: int) -> None:
        self.dsn, self.python_pid, self.backend_pid = dsn, python_pid, backend_pid

    def _now(self) -> tuple[float, float, float]:
        python = cpu_seconds(self.python_pid) if self.python_pid else 0.0
        server = sum(cpu_seconds(pid) for pid in server_pids(self.dsn))
        return python, cpu_seconds(self.backend_pid), server

    def __enter__(self) -> Cpu:
        self.start = self._now()
        self.cpu = Cpu()
        return self.cpu

    def __exit__(self, *exc: object) -> None:
        python, backend, server = (b - a for a, b in zip(self.start, self._now(), strict=True))
        self.cpu.python, self.cpu.backend, self.cpu.server = python, backend, server


def worker_backend_pid(dsn: str) -> int:
    """The PostgreSQL backend of the gunicorn worker's persistent connection (the only other
    client of the scratch database once the warm-up is done)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    if row is None:
        raise RuntimeError("the gunicorn worker holds no connection (DB_CONN_MAX_AGE=0?)")
    return row[0]


class ThrowawayCluster:
    """A PostgreSQL server of the bench's own: initdb into a temp dir, start it on a free port
    with `settings`, stop and delete it on exit. Runs as `postgres` when the bench runs as root
    (initdb refuses root)."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-ingest-pg-"))
        self.data = self.dir / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_owner, *command], check=True, stdout=subprocess.DEVNULL)

    def __enter__(self) -> str:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                   f"-c unix_socket_directories={self.dir}"]  # fmt: skip
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", " ".join(options),
                  "-l", str(self.dir / "server.log"), "-w", "-t", "120", "start")  # fmt: skip
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


SHOWN_SETTINGS = ("shared_buffers", "max_wal_size", "checkpoint_timeout", "wal_level",
                  "wal_compression", "maintenance_work_mem")  # fmt: skip


def server_settings(url: str) -> str:
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            [list(SHOWN_SETTINGS)],
        ).fetchall()
    return ", ".join(f"{name}={value}" for name, value in sorted(rows))


def write_rows(path: Path, rows: int, fmt: str, seed: int) -> None:
    """Text items; confidence uniform in [0, 1), so about 10% land at or above 0.9."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        if fmt == "csv":
            out.write("external_id,text,prediction,confidence\n")
        elif fmt == "json":
            out.write("[\n")
        for n in range(rows):
            text = f"synthetic item {n} about a {rng.choice(LABELS)} in the garden"
            label, confidence = rng.choice(LABELS), round(rng.random(), 4)
            if fmt == "csv":
                out.write(f"ext-{n},{text},{label},{confidence}\n")
            else:
                row = {"external_id": f"ext-{n}", "text": text, "prediction": label,
                       "confidence": confidence}  # fmt: skip
                sep = ",\n" if fmt == "json" and n < rows - 1 else "\n"
                out.write(json.dumps(row) + sep)
        if fmt == "json":
            out.write("]\n")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)


def worker_pid(master: int, deadline: float) -> int:
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def django(env: dict[str, str], code: str) -> str:
    script = "import django; django.setup()\n" + code
    done = subprocess.run(
        [PYTHON, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


SETUP = """
from knox.models import AuthToken
from apps.tasks.models import Project
from apps.workers.models import User
user = User.objects.create(username="bench-{n}", role="requester")
project = Project.objects.create(owner=user, name="bench", item_kind="text",
    labels={labels}, confidence_threshold={threshold}, min_overlap=2, max_overlap=5)
print(project.id, AuthToken.objects.create(user)[1])
"""


# In-process, same database: where the time of one import goes (--phases).
PHASES = """
import io, time
from django.db import connection
from apps.tasks.models import Project
from apps.workers.models import User
import apps.tasks.services.batches as service
spent, cpu = {{}}, {{}}
def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0) + time.perf_counter() - started
            cpu[label] = cpu.get(label, 0) + time.process_time() - started_cpu
    setattr(owner, name, wrapper)
timed(service, "_stage_rows", "parse+validate+COPY to staging")
timed(service, "_cross_row_errors", "duplicate/conflict checks")
timed(service, "_insert_items_and_hits", "INSERT items+HITs")
timed(service, "_count_into", "counters")
if hasattr(service, "_ChunkWriter"):  # the pipelined import: parsing overlaps the INSERTs
    timed(service._ChunkWriter, "consume", "parse || COPY to staging + INSERT")
timed(connection, "commit", "commit (deferred FK checks)")
project = Project.objects.get(pk={project})
user = project.owner
with open({path!r}, "rb") as body:
    started, started_cpu = time.perf_counter(), time.process_time()
    service.batch_import(project=project, user=user, stream=body, file_name={path!r})
    total, total_cpu = time.perf_counter() - started, time.process_time() - started_cpu
print("  phases, in-process, wall (Python CPU):",
      ", ".join(f"{{k}} {{v:.2f}} s ({{cpu[k]:.2f}})" for k, v in spent.items()),
      f"| total {{total:.2f}} s ({{total_cpu:.2f}})")
"""


def upload(port: int, project: int, token: str, path: Path, fmt: str) -> dict:
    # http.client sends a file body 8 kB per send() by default; 1 MB blocks cost less.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900, blocksize=1 << 20)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Length": str(path.stat().st_size),
    }
    with path.open("rb") as body:
        conn.request("POST", f"/api/v1/projects/{project}/batches/", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
    if response.status != 201:
        raise RuntimeError(f"upload failed: {response.status} {payload[:500]!r}")
    return json.loads(payload)


def render_real_rows(src: Path, fmt: str, project: int, batch: int, first_id: int, out: Path):
    """The file's rows as the COPY text of their tasks_item rows and of their tasks_hit rows,
    routed as the import routes them (ids from first_id on). Done before the clock starts."""
    stamp = "2026-01-01 00:00:00+00"
    items, hits = out.with_suffix(".items"), out.with_suffix(".hits")
    with (
        src.open(encoding="utf-8", newline="") as rows,
        items.open("w") as iout,
        hits.open("w") as hout,
    ):
        if fmt == "csv":
            reader = csv.reader(rows)
            next(reader)
            parsed = ((e, {"text": t}, p, float(c)) for e, t, p, c in reader)
        else:
            objects = (json.loads(line.rstrip(",\n")) for line in rows if line[0] == "{")
            parsed = ((o["external_id"], {"text": o["text"]}, o["prediction"], o["confidence"])
                      for o in objects)  # fmt: skip
        for n, (external_id, payload, label, confidence) in enumerate(parsed):
            item_id = first_id + n
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            body = body.replace("\\", "\\\\")
            if confidence >= THRESHOLD:
                routed = f"auto_labeled\t{label}\tmodel\t{confidence}"
            else:
                routed = "waiting\t\t\t\\N"
                hout.write(f"{item_id}\t{project}\t2\t0\tf\topen\t0\t{stamp}\t{stamp}\t0\n")
            iout.write(
                f"{item_id}\t{project}\t{batch}\t{external_id}\t{body}\t{label}\t{confidence}"
                f"\t\t{routed}\tf\t\t\t{stamp}\t{stamp}\t\n"
            )
    return items, hits


REAL_ITEM_COLUMNS = (
    "id, project_id, batch_id, external_id, payload, prediction, confidence, model_version, "
    "state, final_label, label_source, final_confidence, is_gold, gold_label, consensus_method, "
    "created_at, updated_at, review_action"
)
REAL_HIT_COLUMNS = (
    "item_id, project_id, answers_wanted, priority, is_gold, state, slots_taken, created_at, "
    "updated_at, extra_answers"
)


def copy_real_baseline(
    env: dict[str, str], dsn: str, path: Path, fmt: str, rows: int
) -> tuple[float, Wal, Cpu]:
    """The same rows, already routed, COPYed into the real tasks_item and tasks_hit tables of a
    scratch project (every index, FK and check of the schema; one COPY each, then COMMIT):
    the fastest the database itself takes these rows in. Ids are reserved up front."""
    setup = SETUP.format(n=f"copy-{path.name}", labels=LABELS, threshold=THRESHOLD)
    project = int(django(env, setup).split()[0])
    with psycopg.connect(dsn) as conn:
        user = conn.execute("SELECT owner_id FROM tasks_project WHERE id = %s", [project])
        batch = conn.execute(
            "INSERT INTO tasks_batch (project_id, uploaded_by_id, created_at, file_name, format, "
            "status, content_sha256, row_count, created_count, auto_labeled_count, "
            "sent_to_people_count, error_count, errors) VALUES (%s, %s, now(), 'copy', %s, "
            "'imported', '', 0, 0, 0, 0, 0, '[]') RETURNING id",
            [project, user.fetchone()[0], fmt],
        ).fetchone()[0]
        first = conn.execute(
            "SELECT setval('tasks_item_id_seq', nextval('tasks_item_id_seq') + %s) - %s",
            [rows, rows],
        ).fetchone()[0]
        conn.commit()
        items, hits = render_real_rows(path, fmt, project, batch, first, path)
        meter = CpuMeter(dsn, python_pid=None, backend_pid=conn.info.backend_pid)
        with WalMeter(dsn) as wal, meter as cpu:
            started = time.perf_counter()
            with conn.cursor() as cur:
                for table, columns, source in (
                    ("tasks_item", REAL_ITEM_COLUMNS, items),
                    ("tasks_hit", REAL_HIT_COLUMNS, hits),
                ):
                    with (
                        source.open("rb") as body,
                        cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                    ):
                        while chunk := body.read(1 << 20):
                            copy.write(chunk)
            conn.commit()
            seconds = time.perf_counter() - started
    items.unlink()
    hits.unlink()
    return seconds, wal, cpu


def copy_baseline(dsn: str, path: Path, fmt: str) -> float:
    """The same file into a scratch table with one COPY: PostgreSQL's own speed on this box."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE scratch (external_id text, text text, prediction text, "
            "confidence double precision)"
            if fmt == "csv"
            else "CREATE TABLE scratch (row jsonb)"
        )
        conn.commit()
        sql = (
            "COPY scratch FROM STDIN (FORMAT csv, HEADER true)"
            if fmt == "csv"
            else "COPY scratch FROM STDIN (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
        )
        started = time.perf_counter()
        with path.open("rb") as body, cur.copy(sql) as copy:
            while chunk := body.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE scratch")
        conn.commit()
    return seconds


def measure(args, env, dsn, port, master, workdir: Path, rows: int, n: int) -> Run:
    path = workdir / f"rows-{rows}.{args.format}"
    write_rows(path, rows, args.format, seed=n)
    setup = SETUP.format(n=n, labels=LABELS, threshold=THRESHOLD)
    project, token = django(env, setup).split()
    pid = worker_pid(master, time.monotonic() + 30)
    warm_up(args, env, port, workdir, n)  # the first request imports the app: not per-row memory
    base = rss_mb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    backend = worker_backend_pid(dsn)
    with WalMeter(dsn) as api_wal, CpuMeter(dsn, python_pid=pid, backend_pid=backend) as api_cpu:
        started = time.perf_counter()
        body = upload(port, int(project), token, path, args.format)
        api_seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    with psycopg.connect(dsn) as conn:
        hits = conn.execute("SELECT count(*) FROM tasks_hit WHERE project_id = %s", [project])
        hit_count = hits.fetchone()[0]
    copy_seconds = copy_baseline(dsn, path, args.format)
    copy_real_seconds, copy_real_wal, copy_real_cpu = copy_real_baseline(
        env, dsn, path, args.format, rows
    )
    if args.phases:
        fresh, _ = django(
            env, SETUP.format(n=f"phases-{n}", labels=LABELS, threshold=THRESHOLD)
        ).split()
        print(django(env, PHASES.format(project=fresh, path=str(path))), flush=True)
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    return Run(rows, args.format, size_mb, api_seconds, copy_seconds, copy_real_seconds, base,
               sampler.peak, body["created"], hit_count, api_wal, copy_real_wal, api_cpu,
               copy_real_cpu)  # fmt: skip


def warm_up(args, env, port: int, workdir: Path, n: int) -> None:
    path = workdir / f"warm-up.{args.format}"
    write_rows(path, 100, args.format, seed=n)
    project, token = django(
        env, SETUP.format(n=f"warm-{n}", labels=LABELS, threshold=THRESHOLD)
    ).split()
    upload(port, int(project), token, path, args.format)
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--format", choices=sorted(CONTENT_TYPES), default="csv")
    parser.add_argument(
        "--pg", default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--phases", action="store_true", help="Also time each import phase.")
    parser.add_argument("--timeout", type=int, default=1800, help="Give up after this many s.")
    parser.add_argument(
        "--cluster",
        choices=sorted(CLUSTER_SETTINGS),
        help="Run against a throw-away PostgreSQL of its own with these settings (not --pg).",
    )
    args = parser.parse_args()
    signal.alarm(args.timeout)
    if args.cluster is None:
        run_against(args)
        return
    with ThrowawayCluster(CLUSTER_SETTINGS[args.cluster]) as url:
        args.pg = url
        run_against(args)


def run_against(args: argparse.Namespace) -> None:
    print(f"server: {args.cluster or args.pg}: {server_settings(args.pg)}", flush=True)
    db = f"hitlcrowd_bench_ingest_{secrets.token_hex(4)}"
    dsn = f"{args.pg}/{db}"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hitlcrowd.settings",
        "DATABASE_URL": dsn,
        "SECRET_KEY": "bench-only",
        "DEBUG": "false",
        "SECURE_COOKIES": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    server = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "hitlcrowd.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "1", "--timeout", "900", "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        wait_for_port(port, time.monotonic() + 60)
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            for n, rows in enumerate(args.rows):
                run = measure(args, env, dsn, port, server.pid, Path(tmp), rows, n)
                print(run.line(), flush=True)
                assert run.created == rows, run
                assert run.hits == rows - round(rows * 0.1) or run.hits > rows * 0.85, run
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


if __name__ == "__main__":
    main()
