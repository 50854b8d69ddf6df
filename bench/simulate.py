"""A crowd simulator over HTTP: the end-to-end benchmark of the loop and the live check of its
invariants (tests/live/test_simulate.py runs a small one in CI).

    .venv/bin/python bench/simulate.py --dataset digits --workers 30          # the digits demo
    .venv/bin/python bench/simulate.py --dataset text --workers 30            # 1,000 texts
    .venv/bin/python bench/simulate.py --url http://127.0.0.1:8000 --demo     # make demo-loop
    .venv/bin/python bench/simulate.py --table bench/out/simulate/*.json     # markdown table

A requester creates the project, uploads the batch (JSON lines, gold rows included) and sets
the learning settings over the API; seeded workers, each a real HTTP client with its own token,
log in, acknowledge the guideline, take tasks, skip now and then and answer from their own
confusion matrix: reliable, noisy, random, constant (the majority class), colluders who give
one another's answer, drifting (good, then random), slow (some leases run out). They arrive
over the first minute, some take breaks or leave. Accounts are made in this process (there is
no sign-up API) and the guideline is published as the admin would; everything else is HTTP.

The truth comes from the data set, never from the server: workers find an item's true label
from its payload (they never see ids), the requester's report from the external id it uploaded.
The run stops when no item outside gold is waiting and no job is left that could send work
back (a re-score returns auto-labels to people), when nothing moved for `stall_seconds`
(what is still waiting then is stranded), or at the time cap. The report: consensus accuracy on
the items the crowd finalized, system accuracy over every final label (auto-labels too), human
answers (gold and seed labels included) against fixed overlap 3 on every item, answers per
item, spend, each bad worker's answers before its block, reliable workers blocked, answers
accepted after a block, items stranded and in review, server errors, time; curves (PNG) and a
JSON report under bench/out/simulate/.

Without --url it starts gunicorn + a qcluster on its own PostgreSQL database (bench/_server.py
and bench/soak.py's live_stack, created, migrated and dropped unless --keep-db).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "simulate"
PASSWORD = "sim-pass-123"
GUIDELINE = "Pick the label that fits the item best; skip it if you cannot tell."

# Kinds of worker. A bad one gives answers that carry no information about the truth: quality
# control must block it. `slow` is reliable but lets some leases run out.
RELIABLE_KINDS = ("reliable", "slow")  # noisy ones are reported apart (NOISY_KINDS)
NOISY_KINDS = ("noisy",)
BAD_KINDS = ("random", "constant", "colluder", "drifting")


@dataclass
class SimConfig:
    dataset: str = "digits"  # digits (the demo's rows) or text (seeded, synthetic)
    items: int = 0  # items outside gold; 0: the whole set (digits 1,747, text 950)
    gold: int = 0  # text only (digits keeps the demo's 30); 0: 50
    workers: int = 30
    random_workers: int = 3
    constant_workers: int = 1
    noisy_workers: int = 7
    colluders: int = 0
    drifting_workers: int = 0
    slow_workers: int = 0
    seed: int = 1
    seconds: float = 1800.0  # time cap
    stall_seconds: float = 60.0  # nothing moved this long: what still waits is stranded
    think_seconds: float = 0.3  # a worker's mean pause before answering
    skip_share: float = 0.03
    arrive_seconds: float = 20.0  # workers arrive over this long
    break_share: float = 0.2  # workers who take a break after some answers
    leave_share: float = 0.1  # reliable workers who leave for good after some answers
    lease_seconds: int = 30
    # Project fields sent on create (blocking rules, overlap, threshold...); None: defaults.
    project: dict[str, Any] = field(default_factory=dict)
    learning: dict[str, Any] = field(default_factory=dict)  # PATCH learning-settings
    # Project fields an admin sets in the Django admin (where the API has none), before upload.
    admin_set: dict[str, Any] = field(default_factory=dict)
    # An existing server (make demo-loop); None: start gunicorn + qcluster on `dsn`.
    base_url: str | None = None
    project_id: int | None = None  # an existing project on that server (the demo's)
    requester: str = ""  # its owner's username, password `requester_password`
    requester_password: str = PASSWORD
    gunicorn_workers: int = 2
    gunicorn_threads: int = 8
    q_workers: int = 2
    out_dir: Path | None = OUT
    progress: bool = False  # a progress bar on stderr
    sample_seconds: float = 3.0


# --- Data sets --------------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    kind: str  # the project's item_kind
    labels: list[str]
    rows: list[dict[str, Any]]  # upload rows (gold rows carry gold_label)
    truth: dict[str, str]  # external_id -> true label: the requester's knowledge
    by_payload: dict[Any, str]  # payload key -> true label: what a worker can tell
    human_labels: int  # labels people gave outside the crowd (seed set, gold)
    model_version: str = ""

    def truth_of(self, payload: dict[str, Any]) -> str | None:
        return self.by_payload.get(payload_key(payload))


def payload_key(payload: dict[str, Any]) -> Any:
    if "pixels" in payload:
        return tuple(payload["pixels"])
    return payload.get("text")


def digits_dataset(items: int = 0, seed: int = 1) -> Dataset:
    """The demo's rows (manage.py demo_load): 30 gold, the rest predicted by the seed model
    trained on 50 labeled digits. `items` > 0 keeps that many non-gold rows (seeded)."""
    from sklearn.datasets import load_digits

    from apps.tasks.management.commands import demo_load

    digits = load_digits()
    truth = {f"digit-{i}": str(t) for i, t in enumerate(digits.target)}
    rows = demo_load.digit_rows()
    if items:
        gold = [r for r in rows if "gold_label" in r]
        rest = [r for r in rows if "gold_label" not in r]
        rows = gold + sorted(random.Random(seed).sample(rest, min(items, len(rest))), key=_num)
    by_payload = {
        tuple(p.astype(int).tolist()): str(t)
        for p, t in zip(digits.data, digits.target, strict=True)
    }
    return Dataset(
        name="digits",
        kind="image",
        labels=[str(d) for d in range(10)],
        rows=rows,
        truth=truth,
        by_payload=by_payload,
        human_labels=demo_load.SEED_SIZE,
        model_version=demo_load.MODEL_VERSION,
    )


def _num(row: dict[str, Any]) -> int:
    return int(row["external_id"].split("-")[1])


TOPICS = ["sport", "politics", "science", "arts"]
TOPIC_PRIOR = [0.55, 0.2, 0.15, 0.1]  # unbalanced: a constant worker is right 55% of the time
FILLER = 400  # shared words with no signal


def text_dataset(items: int = 0, gold: int = 0, seed: int = 1) -> Dataset:
    """Seeded synthetic texts with a learnable signal: 12 words, each a topic word with
    probability 0.3 (30 per topic, a few shared by two topics), else one of 400 fillers; about
    1% of texts carry no topic word at all. No item carries its label in plain sight."""
    rng = random.Random(seed)
    items, gold = items or 950, gold or 50
    vocab = {t: [f"{t[:3]}{n:02d}" for n in range(30)] for t in TOPICS}
    for a, b in zip(TOPICS, TOPICS[1:] + TOPICS[:1], strict=True):
        vocab[a] += vocab[b][:4]  # confusable pairs
    filler = [f"w{n:03d}" for n in range(FILLER)]
    rows, truth, by_payload = [], {}, {}
    n = 0
    while len(rows) < items + gold:
        topic = rng.choices(TOPICS, TOPIC_PRIOR)[0]
        words = [rng.choice(vocab[topic]) if rng.random() < 0.3 else rng.choice(filler)
                 for _ in range(12)]  # fmt: skip
        text = " ".join(words)
        if text in by_payload:
            continue
        external_id = f"text-{n}"
        n += 1
        row: dict[str, Any] = {"external_id": external_id, "text": text}
        if len(rows) < gold:
            row["gold_label"] = topic
        rows.append(row)
        truth[external_id] = topic
        by_payload[text] = topic
    return Dataset("text", "text", list(TOPICS), rows, truth, by_payload, human_labels=gold)


# --- The crowd --------------------------------------------------------------------------------


@dataclass
class WorkerSpec:
    name: str
    kind: str
    accuracy: float  # expected accuracy under the data's class prior
    confusion: list[list[float]]  # true x given
    arrive_at: float
    think: float
    break_after: int | None  # answers, then a pause of 10-30 s
    leave_after: int | None  # answers, then gone for good
    drift_after: int = 40


def crowd(config: SimConfig, labels: list[str], prior: np.ndarray, prefix: str) -> list:
    """`config.workers` workers: the bad kinds and noisy ones as asked, the rest reliable."""
    rng = np.random.default_rng(config.seed)
    kinds = (
        ["random"] * config.random_workers
        + ["constant"] * config.constant_workers
        + ["colluder"] * config.colluders
        + ["drifting"] * config.drifting_workers
        + ["slow"] * config.slow_workers
        + ["noisy"] * config.noisy_workers
    )
    kinds = ["reliable"] * max(0, config.workers - len(kinds)) + kinds
    order = np.arange(len(kinds))
    rng.shuffle(order[1:])  # the first to arrive is reliable: someone answers gold early
    specs = []
    k = len(labels)
    majority = int(np.argmax(prior))
    for position, index in enumerate(order):
        kind = kinds[index]
        confusion = _confusion(kind, k, majority, rng)
        accuracy = float(np.dot(prior, np.diag(confusion)))
        specs.append(
            WorkerSpec(
                name=f"{prefix}{index:02d}-{kind}",
                kind=kind,
                accuracy=round(accuracy, 3),
                confusion=confusion.round(4).tolist(),
                arrive_at=0.0 if position == 0 else float(rng.uniform(0, config.arrive_seconds)),
                think=float(rng.uniform(0.5, 1.5) * config.think_seconds),
                break_after=int(rng.integers(20, 80))
                if rng.random() < config.break_share
                else None,
                leave_after=(
                    int(rng.integers(30, 120))
                    if kind == "reliable" and rng.random() < config.leave_share
                    else None
                ),
            )
        )
    return specs


def _confusion(kind: str, k: int, majority: int, rng: np.random.Generator) -> np.ndarray:
    if kind in ("random", "colluder"):
        return np.full((k, k), 1 / k)
    if kind == "constant":
        matrix = np.zeros((k, k))
        matrix[:, majority] = 1
        return matrix
    low, high = (0.55, 0.75) if kind == "noisy" else (0.85, 0.97)
    accuracy = rng.uniform(low, high)
    matrix = np.zeros((k, k))
    for true in range(k):
        right = float(np.clip(accuracy + rng.normal(0, 0.03), 0.3, 0.995))
        # Errors fall mostly on one or two look-alike classes, as people's do.
        wrong = rng.dirichlet(np.full(k - 1, 0.3)) * (1 - right)
        matrix[true] = np.insert(wrong, true, right)
    return matrix


# --- HTTP ------------------------------------------------------------------------------------


class Http:
    """One keep-alive connection; every 5xx and dropped connection is counted."""

    def __init__(self, base_url: str, stats: Stats, token: str = "") -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.stats, self.token = stats, token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def call(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, **headers: str
    ) -> tuple[int, Any]:
        head = {"Content-Type": "application/json", **headers}
        if self.token:
            head["Authorization"] = f"Token {self.token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        for attempt in range(3):
            try:
                self.conn.request(method, "/api/v1/" + path, data, head)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                # A keep-alive connection the server closed fails once, as in any HTTP client:
                # retried (next-task and submit are idempotent); counted when retrying fails.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    self.stats.add("connection_errors", f"{method} {path}: {exc!r}")
                    return 0, None
                time.sleep(0.2 * (attempt + 1))
        if response.status >= 500:
            self.stats.add("server_errors", f"{method} {path} {response.status} {payload[:200]!r}")
        if not (response.getheader("Content-Type") or "").startswith("application/json"):
            return response.status, payload
        return response.status, json.loads(payload) if payload else None


def login(base_url: str, stats: Stats, username: str, password: str) -> str:
    status, body = Http(base_url, stats).call(
        "POST", "auth/token/", {"username": username, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"login of {username} failed: {status} {body}")
    return body["token"]


# --- The run's record -------------------------------------------------------------------------


@dataclass
class WorkerRecord:
    spec: WorkerSpec
    answers: int = 0  # accepted (201)
    gold_answers: int = 0
    correct: int = 0
    skips: int = 0
    expired: int = 0  # leases let run out (slow workers)
    late: int = 0  # 410 on a normal submit: the HIT went away under the lease
    refused: int = 0  # 403 on submit: blocked while holding the lease
    idle: int = 0  # 204s
    blocked_at: float | None = None  # seconds into the run, when next-task said not_qualified
    answers_at_block: int | None = None
    left: bool = False


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists: dict[str, list[str]] = defaultdict(list)
        self.last_real_answer = time.monotonic()
        self.answer_times: list[tuple[float, bool]] = []  # (seconds, gold)

    def add(self, name: str, entry: str) -> None:
        with self.lock:
            self.lists[name].append(entry)


# --- Workers ---------------------------------------------------------------------------------


class Worker(threading.Thread):
    def __init__(self, sim: Simulation, spec: WorkerSpec, token: str) -> None:
        super().__init__(daemon=True, name=spec.name)
        self.sim, self.spec, self.token = sim, spec, token
        self.record = WorkerRecord(spec)
        self.rng = random.Random(f"{sim.config.seed}:{spec.name}")

    def run(self) -> None:
        sim, spec = self.sim, self.spec
        if sim.stop.wait(spec.arrive_at):
            return
        self.http = Http(sim.base_url, sim.stats, self.token)
        self.acknowledge()
        taken, rested = 0, False
        while not sim.stop.is_set():
            if spec.leave_after and self.record.answers >= spec.leave_after:
                self.record.left = True
                return
            if spec.break_after and taken == spec.break_after and not rested:
                rested = True
                if sim.stop.wait(self.rng.uniform(10, 30)):
                    return
            status, task = self.http.call("POST", "work/next/", {"project": sim.project_id})
            if status == 200:
                taken += 1
                self.work_on(task)
            elif status == 204:
                self.record.idle += 1
                sim.stop.wait(1.0)
            elif status == 403 and (task or {}).get("code") == "not_qualified":
                self.blocked()
                return
            elif status == 409 and (task or {}).get("code") == "guideline_not_acknowledged":
                self.acknowledge()
            else:
                sim.stats.add("unexpected", f"next {status} {str(task)[:200]}")
                sim.stop.wait(2.0)

    def acknowledge(self) -> None:
        path = f"work/projects/{self.sim.project_id}/guideline"
        status, guideline = self.http.call("GET", path)
        if status == 200 and not guideline["acknowledged"]:
            self.http.call("POST", path + "/acknowledge", {"version": guideline["number"]})

    def blocked(self) -> None:
        self.record.blocked_at = time.monotonic() - self.sim.started
        self.record.answers_at_block = self.record.answers

    def work_on(self, task: dict[str, Any]) -> None:
        sim, record = self.sim, self.record
        truth = sim.dataset.truth_of(task["item"]["payload"])
        path = f"work/assignments/{task['assignment_id']}/"
        if truth is None:
            sim.stats.add("unexpected", f"an item not in the data set: {str(task)[:200]}")
            self.http.call("POST", path + "skip/", {"reason": "not in the data set"})
            return
        if self.rng.random() < sim.config.skip_share:
            record.skips += 1
            self.http.call("POST", path + "skip/", {"reason": "unsure"})
            return
        if self.spec.kind == "slow" and self.rng.random() < 0.2:
            record.expired += 1
            if sim.stop.wait(sim.config.lease_seconds + 2):
                return
            self.http.conn.close()  # idle past the keep-alive: reconnect as a client would
        else:
            sim.stop.wait(self.rng.expovariate(1 / self.spec.think) if self.spec.think else 0)
        label = self.answer(truth, payload_key(task["item"]["payload"]))
        seconds = round(self.rng.uniform(2, 9), 1)
        status, body = self.http.call(
            "POST", path + "submit/", {"label": label, "seconds_spent": seconds}
        )
        is_gold = sim.is_gold(task["item"]["payload"])
        if status == 201:
            record.answers += 1
            record.gold_answers += is_gold
            record.correct += label == truth
            with sim.stats.lock:
                now = time.monotonic()
                sim.stats.answer_times.append((now - sim.started, is_gold))
                if not is_gold:
                    sim.stats.last_real_answer = now
        elif status == 410:
            if self.spec.kind != "slow" or record.expired == 0:
                record.late += 1
        elif status == 403:
            record.refused += 1
        else:
            sim.stats.add("unexpected", f"submit {status} {str(body)[:200]}")

    def answer(self, truth: str, key: Any) -> str:
        labels, spec = self.sim.dataset.labels, self.spec
        if spec.kind == "colluder":
            # The ring's first member to see an item picks at random; the others copy it.
            with self.sim.stats.lock:
                return self.sim.collusion.setdefault(key, self.rng.choice(labels))
        row = spec.confusion[labels.index(truth)]
        if spec.kind == "drifting" and self.record.answers >= spec.drift_after:
            row = [1 / len(labels)] * len(labels)
        return self.rng.choices(labels, row)[0]


# --- The run ---------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    states: dict[str, int]
    answers: int
    gold_answers: int
    blocked: int
    system_accuracy: float | None
    consensus_accuracy: float | None
    human_share: float | None  # of final labels, the share people gave (crowd)


class Simulation:
    def __init__(self, config: SimConfig, base_url: str, dataset: Dataset) -> None:
        self.config, self.base_url, self.dataset = config, base_url, dataset
        self.stats = Stats()
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.project_id: int = 0
        self.collusion: dict[Any, str] = {}
        self.gold_keys = {
            payload_key(_payload(r)) for r in dataset.rows if r.get("gold_label") is not None
        }
        self.samples: list[Sample] = []
        self.workers: list[Worker] = []
        self.dsn: str | None = None  # the server's database, when this run started it

    def is_gold(self, payload: dict[str, Any]) -> bool:
        return payload_key(payload) in self.gold_keys


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    if "payload" in row:
        return row["payload"]
    return {k: v for k, v in row.items() if k not in ("external_id", "gold_label")}


def run_simulation(config: SimConfig, dsn: str | None = None) -> Report:
    """The whole run. Django must be set up on the server's database (accounts and the
    guideline are made here, and the block times read at the end). Without `config.base_url`,
    gunicorn + a qcluster are started on `dsn` (PostgreSQL) for the run."""
    dataset = load_dataset(config)
    with _server(config, dsn) as base_url:
        sim = Simulation(config, base_url, dataset)
        sim.dsn = None if config.base_url else dsn
        requester = _requester(config, sim)
        tokens = _crowd_accounts(config, sim)
        sim.started = time.monotonic()
        stopped_by = _drive(sim, requester, tokens)
        settled = _settle(sim, requester, dsn)
        return _report(sim, requester, stopped_by, settled)


def load_dataset(config: SimConfig) -> Dataset:
    if config.dataset == "digits":
        return digits_dataset(config.items, config.seed)
    if config.dataset == "text":
        return text_dataset(config.items, config.gold, config.seed)
    raise ValueError(f"unknown data set {config.dataset!r}: digits or text")


@contextmanager
def _server(config: SimConfig, dsn: str | None) -> Iterator[str]:
    if config.base_url:
        yield config.base_url.rstrip("/")
        return
    import soak

    stack = soak.SoakConfig(
        gunicorn_workers=config.gunicorn_workers,
        gunicorn_threads=config.gunicorn_threads,
        q_workers=config.q_workers,
    )
    if dsn is None:
        raise ValueError("run_simulation needs a PostgreSQL dsn or config.base_url")
    with soak.live_stack(stack, dsn) as ports:
        yield f"http://127.0.0.1:{ports[0]}"


def _requester(config: SimConfig, sim: Simulation) -> Http:
    """Log in as the requester; create and fill the project unless it exists (the demo's)."""
    name = config.requester or f"sim-requester-{config.seed}"
    if not config.requester:
        _accounts([name], role="requester")
    http = Http(sim.base_url, sim.stats, login(sim.base_url, sim.stats, name, _password(config)))
    if config.project_id:
        sim.project_id = config.project_id
        _learning_settings(config, sim, http)
        return http
    fields = {
        "name": f"simulated {config.dataset} {config.seed}",
        "item_kind": sim.dataset.kind,
        "labels": sim.dataset.labels,
        "reward_per_answer": "0.0200",
        "lease_seconds": config.lease_seconds,
        **config.project,
    }
    if config.dataset == "digits":
        fields.setdefault("confidence_threshold", 0.9)
    status, project = http.call("POST", "projects/", fields)
    if status != 201:
        raise RuntimeError(f"project create: {status} {project}")
    sim.project_id = project["id"]
    dropped = sorted(k for k in fields if k not in project)
    if dropped:
        sim.stats.add("fields the project API dropped", ", ".join(dropped))
    _learning_settings(config, sim, http)
    _admin_set(sim.project_id, config.admin_set)
    _publish_guideline(sim.project_id)
    lines = "".join(json.dumps(row) + "\n" for row in sim.dataset.rows).encode()
    query = urllib.parse.urlencode({"format": "jsonl", "model_version": sim.dataset.model_version})
    status, batch = http.call(
        "POST",
        f"projects/{sim.project_id}/batches/?{query}",
        raw=lines,
        **{"Content-Type": "application/x-ndjson", "Idempotency-Key": f"sim-{config.seed}"},
    )
    if status != 201:
        raise RuntimeError(f"upload: {status} {str(batch)[:500]}")
    return http


def _learning_settings(config: SimConfig, sim: Simulation, http: Http) -> None:
    learning = config.learning
    if config.dataset == "digits":
        from apps.tasks.management.commands import demo_load

        learning = {**demo_load.DEMO_LEARNING, **learning}  # the demo project's, as make run
    if learning:
        path = f"projects/{sim.project_id}/learning-settings"
        status, body = http.call("PATCH", path, learning)
        if status != 200:
            raise RuntimeError(f"learning settings: {status} {body}")


def _password(config: SimConfig) -> str:
    return config.requester_password if config.requester else PASSWORD


def _admin_set(project_id: int, fields: dict[str, Any]) -> None:
    """As an admin saving the project in the Django admin: for settings the API lacks."""
    from apps.tasks.models import Project

    if fields:
        project = Project.objects.get(pk=project_id)
        for name, value in fields.items():
            setattr(project, name, value)
        project.full_clean()
        project.save(update_fields=[*fields, "updated_at"])


def _publish_guideline(project_id: int) -> None:
    """As the admin: guidelines are written and published in the admin, not over the API."""
    from apps.tasks.models import Project
    from apps.tasks.services.guidelines import guideline_draft_create, guideline_publish

    project = Project.objects.get(pk=project_id)
    draft = guideline_draft_create(project=project, text=GUIDELINE, author=project.owner)
    guideline_publish(guideline=draft, by=project.owner)


def _accounts(names: list[str], role: str) -> None:
    """Accounts as an admin makes them (no sign-up API); one password hash for all of them
    (a hash costs ~240 ms of CPU), made with Django's default hasher as the server checks it
    (the test settings hash with MD5, which the server does not accept)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    users = get_user_model()
    taken = set(users.objects.filter(username__in=names).values_list("username", flat=True))
    hasher = PBKDF2PasswordHasher()
    hashed = hasher.encode(PASSWORD, hasher.salt())
    users.objects.bulk_create(
        [users(username=n, password=hashed, role=role) for n in names if n not in taken]
    )


def _crowd_accounts(config: SimConfig, sim: Simulation) -> list[tuple[WorkerSpec, str]]:
    prior = np.array(
        [sum(1 for v in sim.dataset.truth.values() if v == label) for label in sim.dataset.labels],
        dtype=float,
    )
    prefix = f"sim{config.seed}-p{sim.project_id}-"
    specs = crowd(config, sim.dataset.labels, prior / prior.sum(), prefix)
    _accounts([s.name for s in specs], role="worker")
    return [(s, login(sim.base_url, sim.stats, s.name, PASSWORD)) for s in specs]


def _drive(sim: Simulation, requester: Http, tokens: list[tuple[WorkerSpec, str]]) -> str:
    sim.workers = [Worker(sim, spec, token) for spec, token in tokens]
    for worker in sim.workers:
        worker.start()
    config = sim.config
    deadline = sim.started + config.seconds
    last_states: dict[str, int] = {}
    moved = time.monotonic()
    stopped_by = "time cap"
    try:
        while time.monotonic() < deadline:
            time.sleep(config.sample_seconds)
            sample = _sample(sim, requester)
            if sample.states != last_states:
                last_states, moved = sample.states, time.monotonic()
            _progress(sim, sample)
            if sample.states.get("waiting", 0) == 0 and _jobs_idle(sim):
                stopped_by = "done"
                break
            quiet = time.monotonic() - max(moved, sim.stats.last_real_answer)
            if quiet > config.stall_seconds:
                stopped_by = "stalled"
                break
            if all(not w.is_alive() for w in sim.workers):
                stopped_by = "no workers left"
                break
    finally:
        sim.stop.set()
        for worker in sim.workers:
            worker.join(timeout=config.lease_seconds + 30)
        if config.progress:
            print(file=sys.stderr)
    return stopped_by


def _export(sim: Simulation, requester: Http) -> list[dict[str, Any]]:
    status, body = requester.call("GET", f"projects/{sim.project_id}/export?format=jsonl")
    if status != 200:
        raise RuntimeError(f"export: {status} {str(body)[:300]}")
    text = body.decode() if isinstance(body, bytes) else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _sample(sim: Simulation, requester: Http) -> Sample:
    records = [r for r in _export(sim, requester) if not r["is_gold"]]
    states = Counter(r["state"] for r in records)
    system, consensus, human = _accuracies(sim.dataset, records)
    with sim.stats.lock:
        times = list(sim.stats.answer_times)
    sample = Sample(
        t=round(time.monotonic() - sim.started, 1),
        states=dict(states),
        answers=len(times),
        gold_answers=sum(1 for _, gold in times if gold),
        blocked=sum(1 for w in sim.workers if w.record.blocked_at is not None),
        system_accuracy=system,
        consensus_accuracy=consensus,
        human_share=human,
    )
    sim.samples.append(sample)
    return sample


FINAL_STATES = ("auto_labeled", "consensus", "resolved")  # needs_review is not final yet


def _accuracies(dataset: Dataset, records: list[dict[str, Any]]) -> tuple:
    final = [r for r in records if r["state"] in FINAL_STATES]
    crowd_final = [r for r in final if r["label_source"] == "crowd" and r["state"] == "consensus"]
    return (
        _accuracy(dataset, final),
        _accuracy(dataset, crowd_final),
        round(sum(1 for r in final if r["label_source"] != "model") / len(final), 4)
        if final
        else None,
    )


def _accuracy(dataset: Dataset, records: list[dict[str, Any]]) -> float | None:
    if not records:
        return None
    right = sum(1 for r in records if r["final_label"] == dataset.truth[r["external_id"]])
    return round(right / len(records), 4)


def _progress(sim: Simulation, sample: Sample) -> None:
    if not sim.config.progress:
        return
    total = sum(sample.states.values()) or 1
    waiting = sample.states.get("waiting", 0)
    width = 30
    done = int(width * (total - waiting) / total)
    line = (
        f"\r[{'#' * done}{'.' * (width - done)}] {total - waiting}/{total} labeled"
        f" ({sample.states.get('auto_labeled', 0)} by the model)"
        f" | {sample.answers} answers | {sample.blocked} blocked"
        f" | accuracy {_pct(sample.system_accuracy)} | {sample.t:.0f} s "
    )
    print(line, end="", file=sys.stderr, flush=True)


def _jobs_idle(sim: Simulation) -> bool:
    """Nothing waiting is done only once no job can send work back: a re-score after the
    last promotion returns auto-labels the new version doubts to people (on a server this
    run did not start, the queue is not visible: taken as idle)."""
    if not sim.dsn:
        return True
    import psycopg
    import soak

    with psycopg.connect(sim.dsn, autocommit=True) as conn:
        return soak._settled(conn, soak.SoakConfig(), sim.project_id)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _settle(sim: Simulation, requester: Http, dsn: str | None) -> float:
    """Wait for the job queue: consensus runs, retrains and re-scores queued by the last
    answers. On PostgreSQL soak.settle watches the queue; elsewhere the item states must hold
    still for 10 s."""
    started = time.monotonic()
    if dsn and not sim.config.base_url:
        import soak

        return soak.settle(soak.SoakConfig(settle_seconds=300), dsn, sim.project_id)
    last, still = None, time.monotonic()
    while time.monotonic() - started < 120:
        states = Counter(r["state"] for r in _export(sim, requester))
        if states != last:
            last, still = states, time.monotonic()
        elif time.monotonic() - still > 10:
            break
        time.sleep(2)
    return time.monotonic() - started


# --- The report ------------------------------------------------------------------------------


@dataclass
class Report:
    dataset: str
    stopped_by: str
    seconds: float
    settle_seconds: float
    items: int  # outside gold
    gold_items: int
    states: dict[str, int]
    consensus_accuracy: float | None  # items the crowd finalized (state consensus)
    system_accuracy: float | None  # every final label outside gold, auto-labels included
    auto_label_accuracy: float | None
    auto_labeled: int
    crowd_answers: int  # accepted answers, gold included
    gold_answers: int
    gold_answers_after_real_work: int
    human_answers: int  # crowd answers + labels given outside the crowd (seed, gold)
    overlap3_answers: int  # fixed overlap 3 on every uploaded item
    fewer_answers_than_overlap3: float
    answers_per_item: float  # crowd answers on items outside gold / items people answered
    spend: str | None  # paid: the ledger's credits + bonuses - reversals
    # Of it, paid for answers discarded at a block and not rejected (they count for nothing)
    spend_discarded: str | None
    stranded: int  # waiting at the end of a run that stalled (nobody could answer them)
    unfinished: int  # waiting when the time cap stopped the run
    in_review: int
    review_share: float
    blocked: dict[str, int]  # kind -> workers blocked
    bad_workers: list[dict[str, Any]]  # each with its answers before the block
    reliable_blocked: list[str]
    noisy_blocked: list[str]  # noisy but better than chance: a block loses useful answers
    answers_after_block: int
    refused_after_block: int  # 403 on submit (the fix for #5)
    late_410: int  # answers thrown away by a cancelled HIT under a live lease
    server_errors: int
    unexpected: list[str]
    invariants: dict[str, list[int]] | str  # the broken ones: {} when all hold
    model_versions: list[dict[str, Any]]
    notes: dict[str, list[str]]
    workers: list[dict[str, Any]]
    samples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        bad = ", ".join(
            f"{w['name']}: {w['answers_before_block']} ({w['real_answers_before_block']} real)"
            if w["blocked"]
            else f"{w['name']}: never"
            for w in self.bad_workers
        )
        lines = [
            f"{self.dataset}: {self.items:,} items + {self.gold_items} gold, stopped: "
            f"{self.stopped_by} after {self.seconds:.0f} s"
            f" (+{self.settle_seconds:.0f} s to settle)",
            f"states: {self.states}",
            f"consensus accuracy (crowd-finalized): {_f(self.consensus_accuracy)}; system "
            f"accuracy (all final labels): {_f(self.system_accuracy)}; auto-labels: "
            f"{self.auto_labeled} at {_f(self.auto_label_accuracy)}",
            f"human answers {self.human_answers:,} (crowd {self.crowd_answers:,}, of which gold "
            f"{self.gold_answers:,}, {self.gold_answers_after_real_work:,} after the real work); "
            f"overlap 3: {self.overlap3_answers:,} = {self.fewer_answers_than_overlap3:.2f}x more",
            f"answers per answered item {self.answers_per_item:.2f}; spend (paid) {self.spend}, "
            f"of which {self.spend_discarded} for answers discarded at a block, not rejected",
            f"stranded {self.stranded}; unfinished at the time cap {self.unfinished}; in review"
            f" {self.in_review} ({self.review_share:.1%})",
            f"blocked by kind {self.blocked}; reliable blocked {self.reliable_blocked or 0};"
            f" noisy blocked {self.noisy_blocked or 0}",
            f"bad workers' answers before their block: {bad}",
            "gold checks: "
            + (
                "; ".join(
                    f"{w['name']} {', '.join(w['gold_checks'])}"
                    for w in self.workers
                    if w.get("gold_checks")
                )
                or "none"
            ),
            f"answers accepted after a block {self.answers_after_block}; submits refused after "
            f"a block {self.refused_after_block}; late 410s {self.late_410}",
            f"server errors {self.server_errors}; unexpected {len(self.unexpected)}"
            + (f" (first: {self.unexpected[:3]})" if self.unexpected else ""),
            f"invariants: {self.invariants}",
            "model versions: "
            + "; ".join(
                f"v{m.get('number')} acc {_f(m.get('accuracy'))}"
                + (" active" if m.get("is_active") else "")
                for m in self.model_versions
            ),
        ]
        lines += [f"{name}: {entries[:5]}" for name, entries in self.notes.items()]
        return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _report(sim: Simulation, requester: Http, stopped_by: str, settled: float) -> Report:
    seconds = time.monotonic() - sim.started - settled
    dataset = sim.dataset
    records = _export(sim, requester)
    outside = [r for r in records if not r["is_gold"]]
    states = Counter(r["state"] for r in outside)
    auto = [r for r in outside if r["state"] == "auto_labeled"]
    system, consensus, _ = _accuracies(dataset, outside)
    blocks, after_block, per_worker_answers = _blocks_from_database(sim.project_id)
    answered_items = _answered_items(sim.project_id)
    with sim.stats.lock:
        times = list(sim.stats.answer_times)
    last_real = max((t for t, gold in times if not gold), default=0.0)
    gold_answers = sum(1 for _, gold in times if gold)
    crowd_answers = sum(per_worker_answers.values()) or len(times)
    human = crowd_answers + dataset.human_labels
    overlap3 = 3 * len(records)
    workers = [_worker_row(w, blocks, per_worker_answers) for w in sim.workers]
    gold_checks = _gold_checks(sim.project_id)
    for row in workers:
        row["gold_checks"] = gold_checks.get(row["name"], [])
    bad = [w for w in workers if w["kind"] in BAD_KINDS]
    report = Report(
        dataset=dataset.name,
        stopped_by=stopped_by,
        seconds=round(seconds, 1),
        settle_seconds=round(settled, 1),
        items=len(outside),
        gold_items=len(records) - len(outside),
        states=dict(states),
        consensus_accuracy=consensus,
        system_accuracy=system,
        auto_label_accuracy=_accuracy(dataset, auto),
        auto_labeled=len(auto),
        crowd_answers=crowd_answers,
        gold_answers=gold_answers,
        gold_answers_after_real_work=sum(1 for t, gold in times if gold and t > last_real),
        human_answers=human,
        overlap3_answers=overlap3,
        fewer_answers_than_overlap3=round(overlap3 / human, 2) if human else 0.0,
        answers_per_item=round((crowd_answers - gold_answers) / answered_items, 2)
        if answered_items
        else 0.0,
        spend=_spend(sim, requester),
        spend_discarded=_spend_discarded(sim.project_id),
        stranded=states.get("waiting", 0) if stopped_by != "time cap" else 0,
        unfinished=states.get("waiting", 0) if stopped_by == "time cap" else 0,
        in_review=states.get("needs_review", 0),
        review_share=round(states.get("needs_review", 0) / len(outside), 4) if outside else 0,
        blocked=dict(Counter(w["kind"] for w in workers if w["blocked"])),
        bad_workers=bad,
        reliable_blocked=[
            w["name"] for w in workers if w["blocked"] and w["kind"] in RELIABLE_KINDS
        ],
        noisy_blocked=[w["name"] for w in workers if w["blocked"] and w["kind"] in NOISY_KINDS],
        answers_after_block=after_block,
        refused_after_block=sum(w.record.refused for w in sim.workers),
        late_410=sum(w.record.late for w in sim.workers),
        server_errors=len(sim.stats.lists["server_errors"]),
        unexpected=sim.stats.lists["unexpected"][:20],
        invariants=_invariants(sim.project_id),
        model_versions=_model_versions(sim, requester),
        notes={k: v[:20] for k, v in sim.stats.lists.items() if v and k != "unexpected"},
        workers=workers,
        samples=[asdict(s) for s in sim.samples],
    )
    if sim.config.out_dir:
        save(report, sim.config.out_dir)
    return report


def _worker_row(worker: Worker, blocks: dict[str, Any], answers: dict[str, int]) -> dict:
    spec, record = worker.spec, worker.record
    block = blocks.get(spec.name)
    return {
        "name": spec.name,
        "kind": spec.kind,
        "accuracy": spec.accuracy,
        "answers": answers.get(spec.name, record.answers),
        "gold_answers": record.gold_answers,
        "observed_accuracy": round(record.correct / record.answers, 3) if record.answers else None,
        "blocked": block is not None,
        "answers_before_block": block["answers_before"] if block else None,
        "real_answers_before_block": block["real_answers_before"] if block else None,
        "block_reason": block["reason"] if block else None,
        "skips": record.skips,
        "late_410": record.late,
        "refused_after_block": record.refused,
        "left": record.left,
    }


def _gold_checks(project_id: int) -> dict[str, list[str]]:
    """Per worker, the gold checks started and cleared, in order (the audit trail)."""
    from apps.tasks.models import AuditEvent
    from apps.workers.models import User

    events = AuditEvent.objects.filter(
        project_id=project_id, action__in=["worker_gold_check", "worker_gold_check_clear"]
    ).order_by("id")
    names = dict(User.objects.values_list("pk", "username"))
    out: dict[str, list[str]] = {}
    for event in events:
        step = "cleared" if event.action.endswith("clear") else "started"
        out.setdefault(names[event.changes["worker"]], []).append(
            f"{step} at {event.changes['answers']}"
        )
    return out


def _blocks_from_database(project_id: int) -> tuple[dict[str, Any], int, dict[str, int]]:
    """Blocks with the answers each worker gave before it, answers created after it, and
    answers per worker: from the database (the API shows a requester no block times)."""
    from django.db.models import Count

    from apps.tasks.models import Answer
    from apps.workers.models import Block

    per_worker = dict(
        Answer.objects.filter(project_id=project_id)
        .values_list("worker__username")
        .annotate(n=Count("id"))
        .values_list("worker__username", "n")
    )
    blocks, after = {}, 0
    for block in Block.objects.filter(project_id=project_id).select_related("worker"):
        answers = Answer.objects.filter(project_id=project_id, worker_id=block.worker_id)
        before = answers.filter(created_at__lte=block.created_at)
        real_before = before.filter(item__is_gold=False).count()
        before = before.count()
        late = answers.filter(created_at__gt=block.created_at)
        if block.lifted_at:
            late = late.filter(created_at__lt=block.lifted_at)
        after += late.count()
        blocks[block.worker.username] = {
            "answers_before": before,
            "real_answers_before": real_before,  # the others are gold (the gold check)
            "reason": block.reason,
            "automatic": block.automatic,
        }
    return blocks, after, per_worker


def _answered_items(project_id: int) -> int:
    from apps.tasks.models import Answer

    answers = Answer.objects.filter(project_id=project_id, item__is_gold=False)
    return answers.values("item").distinct().count()


def _invariants(project_id: int) -> dict[str, list[int]] | str:
    """The state owner's invariants (apps/tasks/selectors/invariants.py, docs/state.md): the
    ones broken, with the ids of (at most 20 of) the rows breaking each; {} when all hold."""
    try:
        from apps.tasks.selectors.invariants import project_invariants_broken
    except ImportError:
        return "n/a (apps/tasks/selectors/invariants.py not on this main)"
    broken = project_invariants_broken(project_id=project_id)
    return {name: ids[:20] for name, ids in broken.items()}


def _spend(sim: Simulation, requester: Http) -> str | None:
    status, body = requester.call("GET", f"projects/{sim.project_id}/spend/")
    if status != 200 or not isinstance(body, dict):
        return None
    return str(body["totals"]["amount"])


def _spend_discarded(project_id: int) -> str:
    """What the ledger still pays for answers that no longer count: a block discards them
    but pays on, until an admin rejects them (a reversal each)."""
    from apps.tasks.models import Project
    from apps.workers.selectors import spend_on_discarded

    return str(spend_on_discarded(project=Project.objects.get(pk=project_id)))


def _model_versions(sim: Simulation, requester: Http) -> list[dict[str, Any]]:
    status, body = requester.call("GET", f"projects/{sim.project_id}/models/")
    if status != 200:
        return []
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    keep = ("number", "accuracy", "is_active", "n_train", "n_holdout", "promotion_reason")
    return [{k: row[k] for k in keep if k in row} for row in rows or []]


def save(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / f"simulate-{report.dataset}.json"
    data.write_text(json.dumps(asdict(report), indent=1, default=str))
    image = out_dir / f"simulate-{report.dataset}.png"
    try:
        plot(report, image)
    except Exception as exc:  # the figures are in the JSON; a missing plot must not lose them
        print(f"no curves ({exc!r}); the report is in {data}", file=sys.stderr)
    return data, image


def plot(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report.samples
    if not samples:
        return
    t = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    total = max(sum(s["states"].values()) for s in samples) or 1
    auto = [s["states"].get("auto_labeled", 0) / total for s in samples]
    people = [
        (s["states"].get("consensus", 0) + s["states"].get("resolved", 0)) / total for s in samples
    ]
    axes[0].stackplot(t, auto, people, labels=["labeled by the model", "labeled by people"])
    ax2 = axes[0].twinx()
    ax2.plot(t, [s["answers"] for s in samples], color="black", label="human answers")
    ax2.set_ylabel("human answers")
    axes[0].set(title="Who labels the items", xlabel="minutes", ylabel="share of items")
    axes[0].legend(loc="upper left", fontsize=8)
    for key, name in (("system_accuracy", "system"), ("consensus_accuracy", "crowd consensus")):
        axes[1].plot(t, [s[key] for s in samples], label=name)
    axes[1].axhline(0.99, color="grey", linestyle=":", linewidth=1)
    axes[1].set(title="Accuracy of the final labels vs truth", xlabel="minutes", ylim=(0.8, 1.005))
    axes[1].legend(fontsize=8)
    axes[2].step(t, [s["blocked"] for s in samples], where="post", label="workers blocked")
    axes[2].plot(t, [s["gold_answers"] for s in samples], label="gold answers")
    axes[2].set(title="Quality control", xlabel="minutes")
    axes[2].legend(fontsize=8)
    fig.suptitle(
        f"{report.dataset}: {report.items} items, {len(report.workers)} workers; "
        f"{report.human_answers} human answers ({report.fewer_answers_than_overlap3}x fewer than "
        f"overlap 3), system accuracy {_f(report.system_accuracy)}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


TABLE_ROWS = [
    ("consensus accuracy, crowd-finalized items", lambda r: _f(r["consensus_accuracy"])),
    ("system accuracy, every final label", lambda r: _f(r["system_accuracy"])),
    ("auto-labels (accuracy)", lambda r: f"{r['auto_labeled']} ({_f(r['auto_label_accuracy'])})"),
    ("items in review", lambda r: f"{r['in_review']} ({r['review_share']:.1%})"),
    ("items stranded", lambda r: str(r["stranded"])),
    ("human answers (gold, seed included)", lambda r: f"{r['human_answers']:,}"),
    ("fixed overlap 3 / human answers", lambda r: f"{r['fewer_answers_than_overlap3']}x"),
    ("gold answers (after the real work)",
     lambda r: f"{r['gold_answers']} ({r['gold_answers_after_real_work']})"),
    ("answers per answered item", lambda r: str(r["answers_per_item"])),
    ("spend, paid (of it for discarded answers)",
     lambda r: f"{r['spend']} ({r.get('spend_discarded', '-')})"),
    ("random/constant workers blocked (answers before the block)", lambda r: ", ".join(
        f"{w['kind']} {w['answers_before_block'] if w['blocked'] else 'never'}"
        for w in r["bad_workers"] if w["kind"] in ("random", "constant"))),
    ("reliable / noisy workers blocked",
     lambda r: f"{len(r['reliable_blocked'])} / {len(r['noisy_blocked'])}"),
    ("answers accepted after a block", lambda r: str(r["answers_after_block"])),
    ("answers refused (410) under a live lease", lambda r: str(r["late_410"])),
    ("server errors (5xx)", lambda r: str(r["server_errors"])),
    ("broken invariants at rest", lambda r: str(
        {k: len(v) for k, v in r["invariants"].items()} if isinstance(r["invariants"], dict)
        else r["invariants"])),
    ("time to finish", lambda r: f"{r['seconds']:.0f} s ({r['stopped_by']})"),
]  # fmt: skip


def markdown_table(reports: list[dict[str, Any]]) -> str:
    """The figures of saved reports (JSON) side by side, for docs/benchmarks-simulate.md."""
    head = "| | " + " | ".join(r["dataset"] for r in reports) + " |"
    lines = [head, "|---" * (len(reports) + 1) + "|"]
    for title, cell in TABLE_ROWS:
        lines.append(f"| {title} | " + " | ".join(cell(r) for r in reports) + " |")
    return "\n".join(lines)


# --- Command line ----------------------------------------------------------------------------


def _key_values(pairs: list[str]) -> dict[str, Any]:
    values = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


def parse_args() -> tuple[SimConfig, argparse.Namespace]:
    d = SimConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["digits", "text"], default=d.dataset)
    parser.add_argument("--items", type=int, default=d.items, help="0: the whole set")
    parser.add_argument("--workers", type=int, default=d.workers)
    for name in ("random", "constant", "noisy"):
        parser.add_argument(f"--{name}", type=int, default=getattr(d, f"{name}_workers"))
    parser.add_argument("--colluders", type=int, default=d.colluders)
    parser.add_argument("--drifting", type=int, default=d.drifting_workers)
    parser.add_argument("--slow", type=int, default=d.slow_workers)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--seconds", type=float, default=d.seconds, help="time cap")
    parser.add_argument("--think", type=float, default=d.think_seconds)
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="a project field"
    )
    parser.add_argument(
        "--learning", action="append", default=[], metavar="FIELD=VALUE", help="learning setting"
    )
    parser.add_argument(
        "--admin-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a project field set as an admin would in the Django admin (not over the API)",
    )
    parser.add_argument("--url", help="a running server (its DATABASE_URL in the environment)")
    parser.add_argument("--demo", action="store_true", help="the demo project of that server")
    parser.add_argument("--project", type=int, help="an existing project of that server")
    parser.add_argument("--db", default="hitlcrowd_sim")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    config = SimConfig(
        dataset=args.dataset,
        items=args.items,
        workers=args.workers,
        random_workers=args.random,
        constant_workers=args.constant,
        noisy_workers=args.noisy,
        colluders=args.colluders,
        drifting_workers=args.drifting,
        slow_workers=args.slow,
        seed=args.seed,
        seconds=args.seconds,
        think_seconds=args.think,
        project=_key_values(args.set),
        learning=_key_values(args.learning),
        admin_set=_key_values(args.admin_set),
        base_url=args.url,
        project_id=args.project,
        out_dir=args.out,
        progress=sys.stderr.isatty() or bool(args.url),
    )
    return config, args


def main() -> None:
    if sys.argv[1:2] == ["--table"]:  # --table REPORT.json...: the saved figures as markdown
        print(markdown_table([json.loads(Path(p).read_text()) for p in sys.argv[2:]]))
        return
    config, args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    dsn = None
    if not config.base_url:
        import soak

        dsn = f"{soak.PG}/{args.db}"
        os.environ.update(DATABASE_URL=dsn, SECRET_KEY="simulate-secret", DEBUG="false")
        soak.admin_sql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
        soak.admin_sql(f"CREATE DATABASE {args.db}")
    import django

    django.setup()
    try:
        if not config.base_url:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        if args.demo:
            _use_demo_project(config)
            print(
                f"  The model dashboard: {config.base_url}/requester/projects/"
                f"{config.project_id}/models/?refresh=10\n",
                flush=True,
            )
        from django.db import connections

        connections.close_all()
        report = run_simulation(config, dsn)
        print(report.summary())
        if config.out_dir:
            print(f"report and curves: {config.out_dir}/simulate-{report.dataset}.{{json,png}}")
    finally:
        if dsn and not args.keep_db:
            soak.admin_sql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")


def _use_demo_project(config: SimConfig) -> None:
    from apps.tasks.management.commands import demo_load
    from apps.tasks.models import Project

    project = Project.objects.filter(name=demo_load.PROJECT_NAME).order_by("pk").first()
    if project is None:
        sys.exit("No demo project: run `manage.py demo_load` first (make run does).")
    config.project_id = project.pk
    config.requester = project.owner.username
    config.requester_password = demo_load.PASSWORD
    config.dataset = "digits"


if __name__ == "__main__":
    main()
