"""Replay real crowd answers through the HTTP API: dynamic overlap beside fixed overlap.

    .venv/bin/python bench/replay.py                                  # bluebirds, rte, dog
    .venv/bin/python bench/replay.py --datasets rte --items 200 --seconds 300

For each data set (../shared/data/<name>/answers.csv and gold.csv) and each mode it creates a
project through the API (the requester uploads the items as JSONL), then simulated workers (the
data set's workers, one API token each) loop in random order: ask for the next task, submit the
data set's answer for that item, or skip it when they never answered it in the data set (so an
item's answers are limited to the workers who really answered it). Answers are only given when
the platform asks for them. Aggregation runs in a real django-q2 cluster (ORM broker).

- fixed: min_overlap = max_overlap = the most answers any item has (every answer is used);
- dynamic: min_overlap (default 2), the same maximum, target posterior (default 0.999) and
  vote lead (default 2): the platform's defaults.

Prints accuracy of the stored consensus against gold and answers used. Self-contained: its own
PostgreSQL database (dropped at the end unless --keep-db), schema built from the models (like
pytest --nomigrations, so it runs before the migrations exist), gunicorn and qcluster on
127.0.0.1, each phase bounded by --seconds.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _server import free_port, start_gunicorn, start_qcluster, stop

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HITLCROWD_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = "hitlcrowd_consensus_replay"


def main() -> None:
    args = parse_args()
    global DB
    DB += "_scale" if args.scale else ""
    os.environ.update(DATABASE_URL=f"{PG}/{DB}", SECRET_KEY="bench-secret", DEBUG="false")
    create_database()
    if args.scale:
        try:
            setup_django()
            for answers in args.scale:
                scale(answers, args.seed, args.updates)
        finally:
            if not args.keep_db:
                drop_database()
        return
    servers: list[subprocess.Popen] = []
    try:
        setup_django()
        args.port = args.port or free_port()
        servers = [
            start_gunicorn(port=args.port, workers=args.gunicorn_workers, threads=2),
            start_qcluster(),
        ]
        rows = []
        for name in args.datasets:
            data = Dataset.load(name, args.items, args.seed)
            for mode in ("fixed", "dynamic"):
                rows.append(replay(args, data, mode))
                print_row(rows[-1], flush=True)
        report(rows, args)
    finally:
        for server in servers:
            stop(server)
        if not args.keep_db:
            time.sleep(1)
            drop_database()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["bluebirds", "rte", "dog"])
    parser.add_argument("--items", type=int, default=150, help="Sample of items per data set.")
    parser.add_argument("--min-overlap", type=int, default=2)
    parser.add_argument("--target", type=float, default=0.999)
    parser.add_argument("--min-vote-lead", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=240, help="Bound per phase.")
    parser.add_argument("--threads", type=int, default=6, help="Simulated workers at once.")
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--scale",
        type=int,
        nargs="*",
        help="Instead: time the consensus service (DB read, aggregate, writes) on N answers.",
    )
    parser.add_argument(
        "--updates", type=int, default=1, help="With --scale: updates of 100 answers to time."
    )
    return parser.parse_args()


# --- Data --------------------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    answers: dict[tuple[str, str], str]  # (worker, task) -> label
    gold: dict[str, str]
    tasks: list[str]
    workers: list[str]
    labels: list[str]

    @classmethod
    def load(cls, name: str, items: int, seed: int) -> Dataset:
        with open(DATA / name / "gold.csv") as f:
            gold = {row["task"]: row["label"] for row in csv.DictReader(f)}
        with open(DATA / name / "answers.csv") as f:
            rows = [(r["worker"], r["task"], r["label"]) for r in csv.DictReader(f)]
        tasks = sorted({task for _, task, _ in rows if task in gold})
        tasks = random.Random(seed).sample(tasks, min(items, len(tasks)))
        keep = set(tasks)
        answers = {(w, t): label for w, t, label in rows if t in keep}
        labels = sorted({label for _, _, label in rows} | set(gold.values()))
        workers = sorted({w for w, _ in answers})
        return cls(name, answers, gold, tasks, workers, labels)

    @property
    def most_per_task(self) -> int:
        counts: dict[str, int] = defaultdict(int)
        for _, task in self.answers:
            counts[task] += 1
        return max(counts.values())


# --- Infrastructure ----------------------------------------------------------------------------


def admin_sql(sql: str) -> None:
    subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", sql], check=True)


def create_database() -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {DB}")
    admin_sql(f"CREATE DATABASE {DB}")


def drop_database() -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    import django
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # Tables from the models, as pytest --nomigrations does.
    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(self, method: str, url: str, body=None, headers=None) -> tuple[int, dict | None]:
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        self.conn.request(method, url, data, {**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None


def make_users(data: Dataset, mode: str) -> tuple[str, dict[str, str]]:
    from knox.models import AuthToken

    from apps.workers.models import User

    requester = User.objects.create(username=f"req-{data.name}-{mode}", role="requester")
    tokens = {}
    for worker in data.workers:
        user = User.objects.create(username=f"{data.name}-{mode}-{worker}"[:150], role="worker")
        tokens[worker] = AuthToken.objects.create(user)[1]
    return AuthToken.objects.create(requester)[1], tokens


# --- Replay ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    dataset: str
    mode: str
    items: int
    available: int
    answers: int = 0
    skips: int = 0
    requests: int = 0
    correct: int = 0
    unlabeled: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def accuracy(self) -> float:
        return self.correct / self.items


def replay(args: argparse.Namespace, data: Dataset, mode: str) -> Outcome:
    requester_token, tokens = make_users(data, mode)
    project = create_project(args, data, mode, requester_token)
    outcome = Outcome(data.name, mode, len(data.tasks), len(data.answers))
    started = time.monotonic()
    deadline = started + args.seconds
    while time.monotonic() < deadline:
        progressed = work_round(args, data, project, tokens, outcome, deadline)
        settle(project, deadline)
        if not progressed:
            break
    outcome.timed_out = time.monotonic() >= deadline
    settle(project, time.monotonic() + 60)
    outcome.seconds = time.monotonic() - started
    score(data, project, outcome)
    return outcome


def create_project(args, data: Dataset, mode: str, token: str) -> int:
    client = Client(args.port, token)
    most = min(data.most_per_task, 50)
    low = most if mode == "fixed" else min(args.min_overlap, most)
    status, body = client.call(
        "POST",
        "/api/v1/projects/",
        {
            "name": f"{data.name} {mode}",
            "labels": data.labels,
            "min_overlap": low,
            "max_overlap": most,
            "target_posterior": args.target,
            "min_vote_lead": args.min_vote_lead,
            "gold_share": 0,
            "confidence_threshold": 1.0,
        },
    )
    assert status == 201, body
    lines = "".join(json.dumps({"external_id": t, "text": t}) + "\n" for t in data.tasks)
    status, batch = client.call(
        "POST",
        f"/api/v1/projects/{body['id']}/batches/?format=jsonl",
        lines.encode(),
        {"Content-Type": "application/x-ndjson"},
    )
    assert status in (200, 201), batch
    return body["id"]


def work_round(args, data: Dataset, project: int, tokens, outcome: Outcome, deadline) -> bool:
    """Every worker, in random order, takes tasks until the platform has none for them."""
    queue = list(data.workers)
    random.shuffle(queue)
    lock = threading.Lock()
    progressed = [False]

    def run() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                worker = queue.pop()
            client = Client(args.port, tokens[worker])
            while time.monotonic() < deadline and take_one(
                client, data, worker, project, outcome, lock
            ):
                progressed[0] = True

    threads = [threading.Thread(target=run) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return progressed[0]


def take_one(client: Client, data: Dataset, worker: str, project: int, outcome, lock) -> bool:
    status, task = client.call("POST", "/api/v1/work/next/", {"project": project})
    with lock:
        outcome.requests += 1
    if status == 204:
        return False
    assert status == 200, (status, task)
    label = data.answers.get((worker, task["item"]["payload"]["text"]))
    assignment = task["assignment_id"]
    if label is None:
        status, _ = client.call("POST", f"/api/v1/work/assignments/{assignment}/skip/", {})
        with lock:
            outcome.skips += 1
            outcome.requests += 1
        return status == 200
    status, body = client.call(
        "POST",
        f"/api/v1/work/assignments/{assignment}/submit/",
        {"label": label, "seconds_spent": 1.0},
    )
    assert status in (200, 201), (status, body)
    with lock:
        outcome.requests += 1
    return True


def settle(project: int, deadline: float) -> None:
    """Wait until no consensus run is wanted or running for the project."""
    from apps.tasks.models import AggregationState

    while time.monotonic() < deadline:
        state = AggregationState.objects.filter(project_id=project).first()
        if state is None or (not state.pending and state.running_since is None):
            return
        time.sleep(0.3)


def score(data: Dataset, project: int, outcome: Outcome) -> None:
    from django.db.models import Count

    from apps.tasks.models import Answer, Item

    outcome.answers = Answer.objects.filter(project_id=project).count()
    rows = Item.objects.filter(project_id=project).values_list("external_id", "final_label")
    for external_id, label in rows:
        outcome.correct += label == data.gold[external_id]
        outcome.unlabeled += not label
    states = Item.objects.filter(project_id=project).values_list("state").annotate(n=Count("pk"))
    outcome.by_state = dict(states.order_by())


# --- Service at scale ---------------------------------------------------------------------------


@dataclass
class ScaleProject:
    """A synthetic project (10 classes, 80%-accurate workers) loaded with bulk_create."""

    project: Any
    items: list
    hits: list
    workers: list
    truth: Any
    labels: list[str]
    rng: Any
    load_seconds: float = 0.0

    @classmethod
    def build(cls, n_answers: int, seed: int, overlap: int = 5, n_workers: int = 1000):
        import numpy as np

        from apps.tasks.models import HIT, Item, Project
        from apps.workers.models import User

        rng = np.random.default_rng(seed)
        labels = [f"c{k}" for k in range(10)]
        n_items = n_answers // overlap
        owner = User.objects.create(username=f"scale-owner-{n_answers}", role="requester")
        project = Project.objects.create(owner=owner, name=f"scale {n_answers}", labels=labels,
                                         min_overlap=overlap, max_overlap=overlap + 2)  # fmt: skip
        workers = User.objects.bulk_create(
            [User(username=f"s{n_answers}-w{i}", role="worker") for i in range(n_workers)]
        )
        truth = rng.integers(0, 10, n_items)
        items = Item.objects.bulk_create(
            [Item(project=project, external_id=f"x{i}", payload={"text": "x"}, state="waiting")
             for i in range(n_items)], batch_size=5000)  # fmt: skip
        hits = HIT.objects.bulk_create(
            [HIT(item=item, project=project, answers_wanted=overlap, slots_taken=overlap,
                 state="done") for item in items], batch_size=5000)  # fmt: skip
        built = cls(project, items, hits, workers, truth, labels, rng)
        started = time.perf_counter()
        built.add_answers([(i, int(w)) for i in range(n_items)
                           for w in rng.choice(n_workers - 1, overlap, replace=False)])  # fmt: skip
        built.load_seconds = time.perf_counter() - started
        return built

    def add_answers(self, pairs: list[tuple[int, int]]) -> None:
        """(item index, worker index) pairs; the label is right 80% of the time."""
        from django.utils import timezone

        from apps.tasks.models import Answer, Assignment

        now, rng = timezone.now(), self.rng
        assignments = Assignment.objects.bulk_create(
            [Assignment(hit=self.hits[i], project=self.project, worker=self.workers[w],
                        state="submitted", lease_expires_at=now) for i, w in pairs],
            batch_size=5000)  # fmt: skip
        given = [self.truth[i] if rng.random() < 0.8 else rng.integers(0, 10) for i, _ in pairs]
        Answer.objects.bulk_create(
            [Answer(assignment=a, item=self.items[i], project=self.project,
                    worker=self.workers[w], label=self.labels[g], seconds_spent=3.0)
             for a, (i, w), g in zip(assignments, pairs, given, strict=True)],
            batch_size=5000)  # fmt: skip

    def add_update(self, n: int = 100) -> None:
        """n answers from the one worker who has none yet, on n random items."""
        chosen = self.rng.choice(len(self.items), n, replace=False)
        self.add_answers([(int(i), len(self.workers) - 1) for i in chosen])

    def accuracy(self) -> float:
        from apps.tasks.models import Item

        rows = Item.objects.filter(project=self.project).values_list("pk", "final_label")
        by_pk = {item.pk: i for i, item in enumerate(self.items)}
        return float(
            sum(self.labels[self.truth[by_pk[pk]]] == label for pk, label in rows) / len(by_pk)
        )


# The steps of `consensus_run` timed separately in the update's breakdown, in call order.
# Each is wrapped where it is looked up: in apps/tasks/services/consensus/run.py or store.py.
PHASES = [
    ("read answers", "run.project_answers"),
    ("read known labels", "run.project_true_labels"),
    ("read warm start", "run.warm_start"),
    ("aggregate", "run.aggregate"),
    ("read changed items", "store.stale_rows"),
    ("read overlap", "store.overlap_rows"),
    ("lock rows in id order", "store.lock_in_id_order"),
    ("write items and HITs", "store.update_rows"),
    ("worker stats", "store.worker_stats"),
    ("store worker stats", "store.worker_stats_store"),
    ("after commit (webhooks, retrain check)", "hooks._after_labels"),
]


@contextmanager
def phase_times():
    """Wall seconds per phase of `consensus_run`, by wrapping the functions it calls."""
    from apps.models.services import hooks
    from apps.tasks.services.consensus import run, store

    times: dict[str, float] = defaultdict(float)

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[name] += time.perf_counter() - started

        return wrapper

    modules = {"hooks": hooks, "run": run, "store": store}
    targets = []
    for name, attr in PHASES:
        module, _, attr = attr.rpartition(".")
        owner = modules[module]
        if hasattr(owner, attr):
            targets.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, timed(name, getattr(owner, attr)))
    try:
        yield times
    finally:
        for owner, attr, function in targets:
            setattr(owner, attr, function)


def scale(n_answers: int, seed: int, updates: int = 1) -> None:
    """A cold full run, a retried run (must write nothing), and an update after 100 new
    answers, with the update's time per phase; then `updates - 1` more updates."""
    from django.db import connection

    from apps.tasks.services.consensus.run import consensus_run
    from apps.workers.models import User

    built = ScaleProject.build(n_answers, seed)
    project = built.project.pk
    timings = []
    for label in ("cold full run", "retried run"):
        started = time.perf_counter()
        run = consensus_run(project_id=project, cold=label == "cold full run")
        timings.append((label, time.perf_counter() - started, run))
    built.add_update()
    with phase_times() as phases:
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), backend_cpu()
        run = consensus_run(project_id=project)
        cpu, db_cpu = time.process_time() - cpu, backend_cpu() - db_cpu
        timings.append(("update after 100 new answers", time.perf_counter() - started, run))
    print(f"\n{n_answers:,} answers, {len(built.items):,} items, {len(built.workers)} workers "
          f"(loaded in {built.load_seconds:.0f} s, {connection.vendor}); "
          f"accuracy {built.accuracy():.3f}; load average {loadavg()}")  # fmt: skip
    print("| step | seconds | iterations | items changed |\n|---|---|---|---|")
    for label, seconds, run in timings:
        print(f"| {label} | {seconds:.3f} | {run.iterations} | {run.items_changed:,} |")
    print(f"\nupdate: CPU {cpu:.3f} s in this process + {db_cpu:.3f} s in its PostgreSQL "
          f"backend\n| phase | seconds |\n|---|---|")  # fmt: skip
    total = timings[-1][1]
    for name, seconds in phases.items():
        print(f"| {name} | {seconds:.3f} |")
    print(f"| rest (run row, confusions, commit) | {total - sum(phases.values()):.3f} |")
    if updates > 1:
        print("\n| more updates | seconds | CPU Python + PostgreSQL |\n|---|---|---|")
    for number in range(2, updates + 1):
        built.workers.append(User.objects.create(username=f"s{n_answers}-u{number}", role="worker"))
        built.add_update()
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), backend_cpu()
        consensus_run(project_id=project)
        cpu, db_cpu = time.process_time() - cpu, backend_cpu() - db_cpu
        print(f"| {number} | {time.perf_counter() - started:.3f} | {cpu:.3f} + {db_cpu:.3f} |")
    print(f"load average {loadavg()}")


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine): with
    the process's own CPU time, a figure the shared machine's load does not inflate."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- Report ------------------------------------------------------------------------------------

HEADER = (
    "| data set | mode | items | answers used / available | accuracy | skips | requests "
    "| states | s |\n|---|---|---|---|---|---|---|---|---|"
)


def line(o: Outcome) -> str:
    states = ", ".join(f"{k} {v}" for k, v in sorted(o.by_state.items()))
    states += f"; unlabeled {o.unlabeled}" if o.unlabeled else ""
    flag = " (time bound hit)" if o.timed_out else ""
    return (
        f"| {o.dataset} | {o.mode} | {o.items} | {o.answers} / {o.available} | "
        f"{o.accuracy:.3f} | {o.skips} | {o.requests} | {states} | {o.seconds:.0f}{flag} |"
    )


def print_row(o: Outcome, flush: bool = False) -> None:
    print(line(o), file=sys.stderr, flush=flush)


def report(rows: list[Outcome], args: argparse.Namespace) -> None:
    print(
        f"\nmin_overlap {args.min_overlap} (dynamic), target {args.target}, "
        f"{args.items} items per data set, seed {args.seed}\n"
    )
    print(HEADER)
    for row in rows:
        print(line(row))
    print("\n| data set | accuracy change (points) | answers saved |\n|---|---|---|")
    by = {(r.dataset, r.mode): r for r in rows}
    for name in args.datasets:
        fixed, dynamic = by[(name, "fixed")], by[(name, "dynamic")]
        points = 100 * (dynamic.accuracy - fixed.accuracy)
        saved = 1 - dynamic.answers / fixed.answers if fixed.answers else 0.0
        print(f"| {name} | {points:+.1f} | {saved:.0%} |")


if __name__ == "__main__":
    main()
