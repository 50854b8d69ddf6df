"""MTurk API benchmark: boto3's real `mturk` client against gunicorn + PostgreSQL.

    .venv/bin/python bench/mturk.py                          # 10k CreateHIT, lists at 10k, 100k
    .venv/bin/python bench/mturk.py --concurrency 1 4 8 --create 2000
    .venv/bin/python bench/mturk.py --sizes 10000 100000 1000000 --keep-db
    .venv/bin/python bench/mturk.py --profile              # in-process: queries, CPU ms/call
    .venv/bin/python bench/mturk.py --create 50 --concurrency 4 --lists ListAssignmentsForHIT

Self-contained: creates its own database (hitlcrowd_mturk_bench, dropped at the end unless
--keep-db), a requester and an access key, starts gunicorn on 127.0.0.1 (bench/_server.py:
MTURK_RATE_PER_REQUESTER counts every request but refuses none unless --rate), then:

1. CreateHIT through boto3, `--create` HITs at each `--concurrency` (one client per thread):
   HITs/s, p50/p95/p99 per call, and CPU ms per HIT (gunicorn, PostgreSQL, this client).
2. For each of `--sizes` (the requester's HITs in all): the HITs missing are written with the
   ORM's bulk inserts (items, tasks.HITs, MturkHITs, one submitted assignment each by one of
   `--workers` workers), not with 100k HTTP calls; then through HTTP: ListHITs walked whole by
   boto3's paginator (pages of 100), then p50/p95 of one page at the start, middle and end of
   the walk (`--repeats` calls each, replaying the walk's NextTokens), GetHIT, and
   ListAssignmentsForHIT on a HIT with `--workers` submitted assignments, the same way.
   Keyset pagination should make every page cost the same, wherever it is and however many
   HITs there are.

An operation the server does not support yet is reported as such, not measured.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from _server import free_port, start_gunicorn, stop

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "hitlcrowd_mturk_bench"
QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://tasks.example.org/label?n={n}'
    "</ExternalURL><FrameHeight>600</FrameHeight></ExternalQuestion>"
)
ANSWER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?><QuestionFormAnswers '
    'xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/'
    'QuestionFormAnswers.xsd"><Answer><QuestionIdentifier>label</QuestionIdentifier>'
    "<FreeText>cat</FreeText></Answer></QuestionFormAnswers>"
)
HIT_TYPE = {
    "Title": "Label the animal in the picture",
    "Description": "One word: cat, dog or bird.",
    "Keywords": "image, label",
    "Reward": "0.05",
    "AssignmentDurationInSeconds": 600,
    "AutoApprovalDelayInSeconds": 3 * 24 * 3600,
}
LIFETIME = 7 * 24 * 3600
UNSUPPORTED = "AWS.MechanicalTurk.UnsupportedOperation"
LISTS = ("ListHITs", "ListAssignmentsForHIT")


@dataclass
class BenchConfig:
    create: int = 10_000
    concurrency: tuple[int, ...] = (8,)
    sizes: tuple[int, ...] = (10_000, 100_000)
    workers: int = 1_000  # assignments on the HIT whose assignments are listed
    page: int = 100
    repeats: int = 100
    gunicorn_workers: int = 2
    gunicorn_threads: int = 4
    rate: str | None = None  # MTURK_RATE_PER_REQUESTER for the server (None: never refuses)
    quiet: bool = False
    lists: tuple[str, ...] = LISTS  # the List* operations walked at each size
    port: int = 0  # gunicorn's (0: a free one)


@dataclass
class Report:
    create: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[dict[str, Any]] = field(default_factory=list)
    unsupported: set[str] = field(default_factory=set)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> str:
        lines = [f"load average at the end: {' '.join(f'{x:.2f}' for x in self.load)}"]
        lines.append("\nCreateHIT (boto3, one client per thread)")
        lines.append("  clients   HITs   HITs/s   p50 ms   p95 ms   p99 ms   CPU ms/HIT srv+pg+cli")
        for r in self.create:
            cpu = {k: "n/a" if v is None else f"{v:.1f}" for k, v in r["cpu"].items()}
            lines.append(
                f"  {r['concurrency']:7} {r['count']:6} {r['per_s']:8.1f} {r['p50']:8.1f} "
                f"{r['p95']:8.1f} {r['p99']:8.1f}   {cpu['server']} + {cpu['postgres']}"
                f" + {cpu['client']}"
            )
        for s in self.sizes:
            lines.append(f"\nAt {s['hits']:,} HITs (seeded {s['seeded']:,} in {s['seed_s']:.0f} s)")
            for name, walk in s["walks"].items():
                if walk is None:
                    lines.append(f"  {name}: not supported by this server")
                    continue
                lines.append(
                    f"  {name} walk: {walk['rows']:,} rows in {walk['pages']} pages, "
                    f"{walk['seconds']:.1f} s; per page p50 {walk['p50']:.1f} ms, "
                    f"p95 {walk['p95']:.1f} ms"
                )
                for where in ("start", "middle", "end"):
                    p = walk[where]
                    lines.append(
                        f"    {where:6} page ({walk['repeats']} calls): p50 {p['p50']:.1f} ms, "
                        f"p95 {p['p95']:.1f} ms"
                    )
            get = s.get("GetHIT")
            if get:
                lines.append(
                    f"  GetHIT ({get['n']} calls): p50 {get['p50']:.1f} ms, p95 {get['p95']:.1f} ms"
                )
        return "\n".join(lines)


def main() -> None:
    config, args = parse_args()
    dsn = f"{PG}/{DB}"
    os.environ.update(
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=dsn,
        SECRET_KEY="bench-secret",
        ENCRYPTION_KEY="bench-only-encryption-key-0123456789abcdef",
        DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    sys.path.insert(0, str(ROOT))
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {DB}")
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        if args.profile:
            profile_in_process(args.profile_rounds)
            return
        report = run_bench(config, dsn)
        print(report.summary())
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def parse_args() -> tuple[BenchConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--create", type=int, default=10_000, help="CreateHITs per concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=1_000, help="assignments on one HIT")
    parser.add_argument("--repeats", type=int, default=100, help="calls per page position")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--rate", help="MTURK_RATE_PER_REQUESTER for the server (e.g. 100/s)")
    parser.add_argument(
        "--lists", nargs="+", choices=LISTS, default=list(LISTS), help="List* walked at each size"
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn's (0: a free one)")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="queries and CPU ms per call, no HTTP"
    )
    parser.add_argument("--profile-rounds", type=int, default=300)
    args = parser.parse_args()
    config = BenchConfig(
        create=args.create,
        concurrency=tuple(args.concurrency),
        sizes=tuple(sorted(args.sizes)),
        workers=args.workers,
        repeats=args.repeats,
        gunicorn_workers=args.gunicorn_workers,
        gunicorn_threads=args.gunicorn_threads,
        rate=args.rate,
        lists=tuple(args.lists),
        port=args.port,
    )
    return config, args


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


# --- The run ---------------------------------------------------------------------------------


def run_bench(config: BenchConfig, dsn: str) -> Report:
    """The whole run on `dsn` (PostgreSQL; Django set up on it and migrated)."""
    from django.conf import settings
    from django.db import connections

    requester, key_id, secret = make_requester()
    connections.close_all()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": settings.SECRET_KEY,
        "ENCRYPTION_KEY": settings.ENCRYPTION_KEY,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # Connections kept for the whole run: a backend that closes mid-phase (after the
        # default 60 s) takes its CPU time with it, and the meter would undercount PostgreSQL.
        "DB_CONN_MAX_AGE": "3600",
    }
    env.pop("REDIS_URL", None)
    if config.rate:
        env["MTURK_RATE_PER_REQUESTER"] = config.rate
    port = config.port or free_port()
    server = start_gunicorn(
        port=port,
        workers=config.gunicorn_workers,
        threads=config.gunicorn_threads,
        env=env,
        quiet=config.quiet,
    )
    report = Report()
    try:
        url = f"http://127.0.0.1:{port}/mturk/"
        new_client = lambda: mturk_client(url, key_id, secret)  # noqa: E731
        numbers = itertools.count()
        for concurrency in config.concurrency:
            report.create.append(
                create_phase(new_client, numbers, config.create, concurrency, server.pid, dsn)
            )
        crowd = Crowd.make(requester, config.workers)
        for size in config.sizes:
            report.sizes.append(size_phase(new_client(), requester, crowd, size, config, report))
    finally:
        stop(server)
    report.load = os.getloadavg()
    return report


def make_requester() -> tuple[Any, str, str]:
    from apps.mturk.services.access_keys import access_key_create
    from apps.workers.ledger import MAX_DEPOSIT, ledger_deposit
    from apps.workers.models import User

    requester = User.objects.create_user("mturk-bench-requester", password=None, role="requester")
    # CreateHIT is refused past the available balance: paid in enough for every phase.
    ledger_deposit(requester=requester, amount=MAX_DEPOSIT, reason="bench", by=None)
    new = access_key_create(requester=requester, label="bench")
    return requester, new.key.access_key_id, new.secret


def mturk_client(url: str, key_id: str, secret: str):
    """The client a requester's script makes; no retries, so an error is seen, not hidden."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "mturk",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=2),
    )


def percentiles(seconds: list[float]) -> dict[str, float]:
    if len(seconds) < 2:
        only = seconds[0] * 1000 if seconds else 0.0
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


# --- CreateHIT -------------------------------------------------------------------------------


def create_phase(
    new_client: Callable[[], Any],
    numbers: itertools.count,
    count: int,
    concurrency: int,
    server_pid: int,
    dsn: str,
) -> dict[str, Any]:
    """`count` CreateHITs from `concurrency` threads, one client each (after one warm-up call
    per thread, not counted: a gunicorn thread's first request pays for its connection)."""
    clients = [new_client() for _ in range(concurrency)]
    for client in clients:
        create_hit(client, next(numbers))
    left = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def loop(client) -> None:
        while next(left) < count:
            try:
                _, took = timed(lambda: create_hit(client, next(numbers)))
            except Exception as exc:  # reported, and the phase goes on
                with lock:
                    errors.append(repr(exc)[:200])
                continue
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    with CpuMeter(server_pid, dsn) as cpu:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} CreateHITs failed, e.g. {errors[:3]}")
    for client in clients:
        client.close()
    return {
        "concurrency": concurrency,
        "count": len(latencies),
        "per_s": len(latencies) / wall,
        "cpu": cpu.per(len(latencies)),
        **percentiles(latencies),
    }


def create_hit(client, n: int) -> str:
    answer = client.create_hit(
        **HIT_TYPE,
        MaxAssignments=3,
        LifetimeInSeconds=LIFETIME,
        Question=QUESTION.format(n=n),
        RequesterAnnotation=f"bench {n}",
    )
    return answer["HIT"]["HITId"]


# --- Seeding ---------------------------------------------------------------------------------


@dataclass
class Crowd:
    """`workers` worker accounts, with their WorkerIds, and one HIT with a submitted
    assignment from each of them (the HIT ListAssignmentsForHIT walks)."""

    worker_ids: list[int]
    big_hit_id: str

    @classmethod
    def make(cls, requester, workers: int) -> Crowd:
        from apps.mturk.workers import worker_id_of
        from apps.workers.models import User

        users = [
            User(username=f"mturk-bench-w{n}", role=User.Role.WORKER, password="!")
            for n in range(workers)
        ]
        made = User.objects.bulk_create(users)
        for user in made:  # as their first assignment would have made it
            worker_id_of(user)
        ids = [u.pk for u in made]
        big = seed_hits(requester, 1, first=0, prefix="BIG", wanted=workers, taken=workers)[0]
        seed_assignments([(big, ids)])
        return cls(worker_ids=ids, big_hit_id=big.hit_id)


def seed_hits(
    requester, count: int, *, first: int, prefix: str = "SEED", wanted: int = 3, taken: int = 1
):
    """`count` HITs of the bench's HIT type written with bulk inserts, as CreateHIT writes them
    (apps/mturk/services/hits.py: an item, its tasks.HIT, the MturkHIT), `taken` of their
    `wanted` assignments already taken (seed_assignments writes them)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.mturk.models import HITType, MturkHIT
    from apps.tasks.models import HIT, Item

    hit_type = HITType.objects.select_related("project").get(requester=requester)
    project = hit_type.project
    now = timezone.now()
    expires = now + timedelta(seconds=LIFETIME)
    made = []
    for start in range(first, first + count, 5_000):
        numbers = range(start, min(start + 5_000, first + count))
        ids = [f"{prefix}{n:0{30 - len(prefix)}d}" for n in numbers]
        with transaction.atomic():
            items = Item.objects.bulk_create(
                Item(
                    project=project,
                    external_id=hit_id,
                    payload={"mturk_hit_id": hit_id},
                    state=Item.State.WAITING,
                )
                for hit_id in ids
            )
            hits = HIT.objects.bulk_create(
                HIT(
                    item=item,
                    project=project,
                    answers_wanted=wanted,
                    slots_taken=taken,
                    expires_at=expires,
                )
                for item in items
            )
            made += MturkHIT.objects.bulk_create(
                MturkHIT(
                    hit_id=hit_id,
                    requester=requester,
                    hit_type=hit_type,
                    task_hit=hit,
                    question=QUESTION.format(n=n),
                    question_kind=MturkHIT.QuestionKind.EXTERNAL,
                    requester_annotation=f"seed {n}",
                )
                for hit_id, hit, n in zip(ids, hits, numbers, strict=True)
            )
    return made


def seed_assignments(pairs) -> None:
    """A submitted assignment (tasks.Assignment + MturkAssignment) for each worker of each
    (MturkHIT, worker ids) pair, as a worker's submit leaves them (the HIT's slots_taken
    counted them already: seed_hits)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.mturk.models import MturkAssignment
    from apps.mturk.services.hit_types import mturk_id
    from apps.tasks.models import Assignment

    now = timezone.now()
    rows = [(hit, worker) for hit, workers in pairs for worker in workers]
    for start in range(0, len(rows), 5_000):
        chunk = rows[start : start + 5_000]
        with transaction.atomic():
            tasks = Assignment.objects.bulk_create(
                Assignment(
                    hit_id=hit.task_hit_id,
                    project_id=hit.hit_type.project_id,
                    worker_id=worker,
                    state=Assignment.State.SUBMITTED,
                    lease_expires_at=now,
                    finished_at=now,
                )
                for hit, worker in chunk
            )
            MturkAssignment.objects.bulk_create(
                MturkAssignment(
                    assignment_id=mturk_id(),
                    task_assignment=task,
                    mturk_hit=hit,
                    answer=ANSWER,
                    submitted_at=now,
                    auto_approval_at=now + timedelta(days=3),
                )
                for (hit, _), task in zip(chunk, tasks, strict=True)
            )


def seed_to(requester, crowd: Crowd, size: int) -> tuple[int, float]:
    """Top the requester's HITs up to `size`, each new one with one submitted assignment."""
    from django.db import connection

    from apps.mturk.models import MturkHIT

    started = time.perf_counter()
    have = MturkHIT.objects.filter(requester=requester).count()
    missing = max(0, size - have)
    if missing:
        hits = seed_hits(requester, missing, first=have)
        workers = crowd.worker_ids
        seed_assignments((hit, [workers[n % len(workers)]]) for n, hit in enumerate(hits))
    with connection.cursor() as cursor:
        # Fresh bulk rows: their first reads would set hint bits during the measurement.
        cursor.execute(
            "VACUUM (ANALYZE) tasks_item, tasks_hit, tasks_assignment, mturk_mturkhit, "
            "mturk_mturkassignment"
        )
    return missing, time.perf_counter() - started


# --- Lists -----------------------------------------------------------------------------------


def size_phase(client, requester, crowd: Crowd, size: int, config: BenchConfig, report: Report):
    from apps.mturk.models import MturkHIT

    seeded, seed_s = seed_to(requester, crowd, size)
    hits = MturkHIT.objects.filter(requester=requester).count()
    result: dict[str, Any] = {"hits": hits, "seeded": seeded, "seed_s": seed_s, "walks": {}}
    lists = {
        "ListHITs": ("list_hits", {}, "HITs"),
        "ListAssignmentsForHIT": (
            "list_assignments_for_hit",
            {"HITId": crowd.big_hit_id},
            "Assignments",
        ),
    }
    for operation, (method, params, key) in lists.items():
        if operation not in config.lists:
            continue
        if operation in report.unsupported:
            result["walks"][operation] = None
            continue
        try:
            result["walks"][operation] = walk(client, method, params, key, config)
        except client.exceptions.RequestError as exc:
            if exc.response.get("TurkErrorCode") != UNSUPPORTED:
                raise
            report.unsupported.add(operation)
            result["walks"][operation] = None
    every = max(1, hits // config.repeats)
    ids = MturkHIT.objects.filter(requester=requester).values_list("hit_id", flat=True)[::every]
    latencies = [timed(lambda h=h: client.get_hit(HITId=h))[1] for h in ids[: config.repeats]]
    result["GetHIT"] = {"n": len(latencies), **percentiles(latencies)}
    return result


def walk(client, method: str, params: dict, key: str, config: BenchConfig) -> dict[str, Any]:
    """The list walked whole by boto3's paginator, timing each page; then `repeats` calls of
    the first, the middle and the last page (their NextTokens kept from the walk)."""
    paginator = client.get_paginator(method)
    tokens: list[str | None] = [None]
    latencies: list[float] = []
    rows = 0
    pages = iter(paginator.paginate(**params, PaginationConfig={"PageSize": config.page}))
    started = time.perf_counter()
    while True:
        page, took = timed(lambda: next(pages, None))
        if page is None:
            break
        latencies.append(took)
        rows += len(page[key])
        if "NextToken" in page:
            tokens.append(page["NextToken"])
    seconds = time.perf_counter() - started
    call = getattr(client, method)
    out: dict[str, Any] = {
        "rows": rows,
        "pages": len(latencies),
        "seconds": seconds,
        "repeats": config.repeats,
        **percentiles(latencies),
    }
    for where, token in (
        ("start", tokens[0]),
        ("middle", tokens[len(tokens) // 2]),
        ("end", tokens[-1]),
    ):
        kwargs = {**params, "MaxResults": config.page, **({"NextToken": token} if token else {})}
        times = [timed(lambda k=kwargs: call(**k))[1] for _ in range(config.repeats)]
        out[where] = percentiles(times)
    return out


# --- In-process profile -----------------------------------------------------------------------


def profile_in_process(rounds: int) -> None:
    """Statements and CPU ms per call through the whole endpoint (signature, shape check,
    handler, rendering) with Django's test client and botocore's signer: no HTTP, no boto3
    parsing, and independent of the machine's load, unlike the HTTP figures."""
    import json

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from django.db import connection
    from django.test import Client

    _, key_id, secret = make_requester()
    client = Client()
    credentials = Credentials(key_id, secret)

    def post(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        headers = {
            "X-Amz-Target": f"MTurkRequesterServiceV20170117.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        }
        request = AWSRequest("POST", "http://127.0.0.1/mturk/", data=body, headers=headers)
        SigV4Auth(credentials, "mturk-requester", "us-east-1").add_auth(request)
        signed = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
        response = client.post(
            "/mturk/",
            body,
            content_type="application/x-amz-json-1.1",
            headers={**signed, "Host": "127.0.0.1"},
        )
        assert response.status_code in (200, 400), response.content[:300]
        return json.loads(response.content)

    def create(n: int) -> dict[str, Any]:
        return post(
            "CreateHIT",
            {
                **HIT_TYPE,
                "MaxAssignments": 3,
                "LifetimeInSeconds": LIFETIME,
                "Question": QUESTION.format(n=n),
            },
        )

    hit_id = create(0)["HIT"]["HITId"]  # warm up: imports, the type and its project
    calls = {
        "CreateHIT": lambda n: create(n),
        "GetHIT": lambda n: post("GetHIT", {"HITId": hit_id}),
        "ListHITs": lambda n: post("ListHITs", {"MaxResults": 100}),
    }
    for name, call in calls.items():
        statements: list[str] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            answer = call(1)
        if answer.get("TurkErrorCode") == UNSUPPORTED:
            print(f"\n{name}: not supported by this server")
            continue
        started = time.process_time()
        for n in range(rounds):
            call(n + 2)
        cpu = (time.process_time() - started) / rounds * 1000
        print(
            f"\n{name}: {cpu:.2f} ms CPU per call (this process, {rounds} calls), "
            f"{len(statements)} statements:"
        )
        for sql in statements:
            print("   ", " ".join(sql.split())[:140])


class CpuMeter:
    """CPU seconds spent during a phase by gunicorn (master and workers), the PostgreSQL
    backends of the database and this process (boto3 signs and parses: the client's share).
    A backend that exits during the phase is not counted (run_bench keeps connections)."""

    def __init__(self, server_pid: int, dsn: str) -> None:
        self.server_pid = server_pid
        self.dsn = dsn

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end = self._sample()

    def per(self, calls: int) -> dict[str, float | None]:
        """Milliseconds of CPU per call, per side; None for PostgreSQL when its backends are
        not processes of this machine's view (another PID namespace: a container)."""
        out: dict[str, float | None] = {}
        for side in ("server", "postgres", "client"):
            before, after = self.start[side], self.end[side]
            spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
            out[side] = spent / max(calls, 1) * 1000 if after else None
        return out

    def _sample(self) -> dict[str, dict[int, float]]:
        import psycopg
        from assign import children, proc_cpu

        server = {pid: proc_cpu(pid) for pid in [self.server_pid, *children(self.server_pid)]}
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            backends = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        times = os.times()
        return {
            "server": server,
            "postgres": {pid: proc_cpu(pid) for (pid,) in backends if _is_postgres(pid)},
            "client": {os.getpid(): times.user + times.system},
        }


def _is_postgres(pid: int) -> bool:
    """A backend's pid names a PostgreSQL process here only if PostgreSQL shares this PID
    namespace; in a container's, the same number may be any process of ours."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


if __name__ == "__main__":
    main()
