"""A live MTurk crowd: a requester's boto3 script and a simulated crowd over HTTP, end to end.

    .venv/bin/python bench/mturk_crowd.py                    # 80 HITs of the dog data set
    .venv/bin/python bench/mturk_crowd.py --hits 200 --real-workers 10 --spammers 2

The requester, with boto3's `mturk` client against gunicorn (+ a qcluster) on PostgreSQL,
creates a HIT type (MaxAssignments 3, an HTMLQuestion whose form posts to MTurk's address, as
old HITs hard-code it), marks its answer field `breed` categorical through the REST API
(`PUT mturk/hit-types/{id}/label-field/`) and creates one HIT per image of a real data set
(../shared/data/dog: Zhou et al. 2012, 4 dog breeds, answers of real crowd workers and the
true breeds). The crowd works through the worker side exactly as a browser without scripts
would: log in, open the task page (its preview frame), Accept (the HIT previewed), load the
question in the frame, post its form to externalSubmit from the sandboxed frame (no cookie goes
with it), or Return the HIT. Each "real" worker is one of the data set's most active workers
and answers what that worker answered (a HIT whose image they never labeled is returned: it is
not offered to them again); a spammer answers at random. Then the requester reads the consensus
through the native REST API, reviews every assignment with ListAssignmentsForHIT,
GetAssignment, ApproveAssignment and RejectAssignment, and the report holds plain figures
(tests/live/test_mturk_crowd.py checks the invariants on them).

The truth is the data set's gold, never the server's: workers know the image from the
question's HTML, the requester's report maps HITIds to images from its own CreateHIT calls.
"""

from __future__ import annotations

import argparse
import csv
import html
import os
import random
import re
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HITLCROWD_SHARED_DATA", ROOT.parent / "shared" / "data"))
PASSWORD = "crowd-pass-123"
FIELD = "breed"
REWARD = "0.05"
NAMESPACE = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/"
QUESTION_FORM_ANSWERS = f"{{{NAMESPACE}QuestionFormAnswers.xsd}}"
NOTHING = "Nothing to do here right now"
HTML_QUESTION = """<!DOCTYPE html><html><body>
<p>Which breed is the dog in <span id="image" data-task="{task}">image {task}</span>?</p>
<form id="mturk_form" method="post" action="https://www.mturk.com/mturk/externalSubmit">
  <input type="hidden" name="assignmentId" id="assignmentId" value="">
  <select name="breed">{options}</select>
  <input type="submit" id="submitButton" value="Submit">
</form>
<script>
  document.getElementById("assignmentId").value =
    new URLSearchParams(location.search).get("assignmentId");
</script></body></html>"""


@dataclass
class CrowdConfig:
    dataset: str = "dog"  # a folder of ../shared/data (answers.csv, gold.csv)
    hits: int = 80
    real_workers: int = 8  # the data set's most active workers, replayed
    spammers: int = 1  # answer at random
    min_answered: int = 4  # keep images that at least this many of the real workers labeled
    max_assignments: int = 3
    seed: int = 1
    seconds: float = 150.0  # the crowd's time cap
    port: int = 0  # 0: a free one
    gunicorn_workers: int = 1
    gunicorn_threads: int = 8
    q_workers: int = 1


@dataclass
class Data:
    labels: list[str]
    tasks: list[str]  # the images made HITs
    gold: dict[str, str]  # image -> true label
    answers: dict[str, dict[str, str]]  # data set worker -> image -> label


@dataclass
class Submission:
    worker: str
    worker_id: str  # the WorkerId the frame's URL gave the worker
    hit_id: str
    assignment_id: str
    label: str


@dataclass
class CrowdWorker:
    name: str
    kind: str  # "real" or "spammer"
    source: str = ""  # the data set's worker id it replays
    worker_id: str = ""
    answers: int = 0
    returned: int = 0
    blocked: bool = False  # the task page refused it (403)
    refused_submits: int = 0


@dataclass
class Report:
    hits: int = 0
    project_id: int = 0
    stopped_by: str = ""
    crowd_seconds: float = 0.0
    settle_seconds: float = 0.0
    submissions: int = 0
    workers: list[dict[str, Any]] = field(default_factory=list)
    # HITs whose submitted assignments are not MaxAssignments distinct workers, with the HIT's
    # status (a HIT may be short only if it is finished: no worker left who may take it).
    short_hits: list[tuple[str, int, str]] = field(default_factory=list)
    duplicate_workers: list[str] = field(default_factory=list)  # HITs a worker did twice
    consensus_accuracy: float | None = None  # the REST API's final labels against gold
    consensus_items: int = 0
    majority_accuracy: float | None = None  # majority vote of the same non-spam answers
    states: dict[str, int] = field(default_factory=dict)
    answers_mismatched: list[str] = field(default_factory=list)  # XML != what was posted
    get_assignment_ok: bool = False
    approved: int = 0
    rejected: int = 0
    balance_before: dict[str, str] = field(default_factory=dict)
    balance_after: dict[str, str] = field(default_factory=dict)
    spend_before: str = ""
    spend_after: str = ""
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    invariants: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{self.hits} HITs, project {self.project_id}: crowd stopped by {self.stopped_by} "
            f"after {self.crowd_seconds:.1f} s, settled in {self.settle_seconds:.1f} s",
            f"submissions {self.submissions}; short HITs {self.short_hits[:5]}; "
            f"states {self.states}",
            f"consensus accuracy {_pct(self.consensus_accuracy)} on {self.consensus_items} "
            f"items (majority vote of the same answers without the spammers "
            f"{_pct(self.majority_accuracy)})",
            f"approved {self.approved}, rejected {self.rejected}; balance "
            f"{self.balance_before} -> {self.balance_after}; spend {self.spend_before} -> "
            f"{self.spend_after}",
            f"5xx {len(self.server_errors)}, unexpected {self.unexpected[:5]}, "
            f"invariants {self.invariants}",
        ]
        lines += [
            f"  {w['name']:<14} {w['kind']:<8} answers {w['answers']:3} right "
            f"{_pct(w['accuracy'])} returned "
            f"{w['returned']:3} blocked {w['blocked']} (page) / {w['blocked_in_db']} (db)"
            + (f"; on a recheck since {w['recheck_at']} answers" if w.get("recheck_at") else "")
            + (f": {w['block_reason']}" if w.get("block_reason") else "")
            for w in self.workers
        ]
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


# --- The data --------------------------------------------------------------------------------


def dataset_available(config: CrowdConfig) -> bool:
    folder = DATA / config.dataset
    return (folder / "answers.csv").is_file() and (folder / "gold.csv").is_file()


def read_replay_crowd(
    folder: Path, *, real_workers: int, min_answered: int
) -> tuple[dict[str, str], dict[str, dict[str, str]], list[str]]:
    """A data set's gold (image -> true label), its `real_workers` most active workers'
    answers on images with gold (worker -> image -> label), and the images at least
    `min_answered` of them labeled, sorted (bench/recheck.py replays the same crowd)."""
    with (folder / "gold.csv").open(newline="") as f:
        gold = {row["task"]: row["label"] for row in csv.DictReader(f)}
    by_worker: dict[str, dict[str, str]] = defaultdict(dict)
    with (folder / "answers.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["task"] in gold:
                by_worker[row["worker"]][row["task"]] = row["label"]
    chosen = sorted(by_worker, key=lambda w: (-len(by_worker[w]), w))[:real_workers]
    answers = {w: by_worker[w] for w in chosen}
    counts = Counter(task for w in chosen for task in answers[w])
    return gold, answers, sorted(t for t, n in counts.items() if n >= min_answered)


def load_data(config: CrowdConfig) -> Data:
    """The real workers' answers and the images to make HITs of: those at least
    `min_answered` of them labeled (so each HIT can get MaxAssignments answers), seeded."""
    gold, answers, eligible = read_replay_crowd(
        DATA / config.dataset, real_workers=config.real_workers, min_answered=config.min_answered
    )
    tasks = sorted(random.Random(config.seed).sample(eligible, min(config.hits, len(eligible))))
    labels = sorted(set(gold.values()))
    return Data(labels=labels, tasks=tasks, gold=gold, answers=answers)


# --- HTTP ------------------------------------------------------------------------------------


class Errors:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: list[str] = []
        self.unexpected: list[str] = []

    def check(self, response, what: str):
        if response.status_code >= 500:
            with self.lock:
                self.server.append(f"{what} {response.status_code} {response.text[:200]!r}")
        return response

    def add(self, entry: str) -> None:
        with self.lock:
            self.unexpected.append(entry)


def form_fields(page: str, form_id: str) -> dict[str, str]:
    """What a browser posts for the form `form_id`: its inputs' names and values (the CSRF
    token, the previewed HIT's id)."""
    found = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', page, re.S)
    if not found:
        raise RuntimeError(f"no form {form_id} on the page")
    fields = re.findall(r'<input [^>]*name="([^"]+)"[^>]*value="([^"]*)"', found.group(1))
    return {name: html.unescape(value) for name, value in fields}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def log_in(base_url: str, username: str, errors: Errors):
    """A browser's session: the login form, its CSRF token, the password."""
    import requests

    session = requests.Session()
    page = errors.check(session.get(f"{base_url}/accounts/login/"), "login page")
    response = errors.check(
        session.post(
            f"{base_url}/accounts/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": _csrf(page.text),
            },
        ),
        "login",
    )
    if "sessionid" not in session.cookies:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return session


# --- The crowd -------------------------------------------------------------------------------


class Crowd:
    def __init__(self, config: CrowdConfig, data: Data, base_url: str, project_id: int) -> None:
        self.config, self.data, self.base_url = config, data, base_url
        self.project_id = project_id
        self.errors = Errors()
        self.lock = threading.Lock()
        self.submissions: list[Submission] = []
        self.stop = threading.Event()
        self.workers = [
            CrowdWorker(name=f"crowd-real-{n}", kind="real", source=source)
            for n, source in enumerate(data.answers)
        ] + [CrowdWorker(name=f"crowd-spam-{n}", kind="spammer") for n in range(config.spammers)]

    def run(self, seconds: float, done) -> str:
        """Every worker in a thread until `done()` (polled each second) or the time cap."""
        threads = [
            threading.Thread(target=self._work, args=(w,), daemon=True, name=w.name)
            for w in self.workers
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + seconds
        stopped_by = "time cap"
        while time.monotonic() < deadline:
            if done():
                stopped_by = "done"
                break
            if not any(t.is_alive() for t in threads):
                stopped_by = "every worker stopped"
                break
            time.sleep(1.0)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        return stopped_by

    def _work(self, worker: CrowdWorker) -> None:
        rng = random.Random(f"{self.config.seed}:{worker.name}")
        try:
            session = log_in(self.base_url, worker.name, self.errors)
            while not self.stop.is_set():
                if not self._one_hit(worker, session, rng):
                    return
        except Exception as exc:  # reported: the test fails on it, the others go on
            self.errors.add(f"{worker.name}: {exc!r}")

    def _one_hit(self, worker: CrowdWorker, session, rng: random.Random) -> bool:
        """Preview, accept and answer (or return) one HIT; False when the worker stops."""
        task_url = f"{self.base_url}/work/projects/{self.project_id}/task/"
        page = self.errors.check(session.get(task_url), "task page")
        if page.status_code == 403:
            worker.blocked = True
            return False
        if NOTHING in page.text:
            self.stop.wait(0.5)  # another worker's returned HIT may come back
            return True
        if 'id="accept-form"' in page.text:
            self._frame(session, page.text)  # the preview, as the browser loads it
            accept = f"{self.base_url}/work/projects/{self.project_id}/accept/"
            page = self.errors.check(
                session.post(accept, data=form_fields(page.text, "accept-form")), "accept"
            )
            if page.status_code == 403:
                worker.blocked = True
                return False
        if 'id="lease"' not in page.text:
            return True  # taken by someone else in between, or nothing left: look again
        question_url, question = self._frame(session, page.text)
        query = parse_qs(urlsplit(question_url).query)
        assignment_id, worker.worker_id = query["assignmentId"][0], query["workerId"][0]
        task = re.search(r'data-task="([^"]+)"', question).group(1)
        label = self._answer(worker, task, rng)
        if label is None:
            self._return(session, page.text)
            worker.returned += 1
            return True
        hit_id = query["hitId"][0]
        sent = Submission(worker.name, worker.worker_id, hit_id, assignment_id, label)
        self._submit(worker, question, sent)
        return True

    def _frame(self, session, page: str) -> tuple[str, str]:
        src = html.unescape(re.search(r'<iframe id="question"[^>]* src="([^"]+)"', page).group(1))
        url = urljoin(self.base_url + "/", src)
        response = self.errors.check(session.get(url), "question")
        if response.status_code != 200:
            raise RuntimeError(f"the question answered {response.status_code}")
        return url, response.text

    def _answer(self, worker: CrowdWorker, task: str, rng: random.Random) -> str | None:
        if worker.kind == "spammer":
            return rng.choice(self.data.labels)
        return self.data.answers[worker.source].get(task)

    def _return(self, session, page: str) -> None:
        action = re.search(r'<form method="post" action="([^"]+)" id="return-form"', page)
        response = self.errors.check(
            session.post(
                urljoin(self.base_url + "/", html.unescape(action.group(1))),
                data=form_fields(page, "return-form"),
            ),
            "return",
        )
        if response.status_code != 200:
            self.errors.add(f"return answered {response.status_code}")

    def _submit(self, worker: CrowdWorker, question: str, sent: Submission) -> None:
        """The question's form, posted from the sandboxed frame: an opaque origin, so no cookie
        of ours goes with it (a fresh client, not the worker's session)."""
        import requests

        form = re.search(r'<form id="mturk_form" [^>]*action="([^"]+)"', question)
        action = html.unescape(form.group(1))
        response = self.errors.check(
            requests.post(action, data={"assignmentId": sent.assignment_id, FIELD: sent.label}),
            "externalSubmit",
        )
        if response.status_code == 403:
            worker.refused_submits += 1  # blocked while holding the lease
            return
        if response.status_code != 200:
            self.errors.add(f"externalSubmit {response.status_code} {response.text[:200]!r}")
            return
        worker.answers += 1
        with self.lock:
            self.submissions.append(sent)


# --- The requester ---------------------------------------------------------------------------


def make_accounts(config: CrowdConfig, names: list[str]) -> tuple[Any, str, str]:
    """The requester (with prepaid funds and an access key) and the crowd's accounts, as an
    admin makes them (there is no sign-up API); passwords with the server's own hasher."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from apps.mturk.services.access_keys import access_key_create
    from apps.workers.ledger import ledger_deposit
    from apps.workers.models import User

    hasher = PBKDF2PasswordHasher()
    hashed = hasher.encode(PASSWORD, hasher.salt())
    requester = User.objects.create(
        username=f"crowd-requester-{config.seed}", password=hashed, role="requester"
    )
    User.objects.bulk_create([User(username=n, password=hashed, role="worker") for n in names])
    ledger_deposit(requester=requester, amount=Decimal("100.00"), reason="crowd run", by=None)
    new = access_key_create(requester=requester, label="crowd run")
    return requester, new.key.access_key_id, new.secret


def rest_session(base_url: str, username: str, errors: Errors):
    import requests

    session = requests.Session()
    response = errors.check(
        session.post(
            f"{base_url}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}
        ),
        "token",
    )
    session.headers["Authorization"] = f"Token {response.json()['token']}"
    return session


def question_of(task: str, labels: list[str]) -> str:
    options = "".join(f'<option value="{label}">breed {label}</option>' for label in labels)
    content = HTML_QUESTION.format(task=task, options=options)
    return (
        '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
        f'2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[{content}]]></HTMLContent>'
        "<FrameHeight>450</FrameHeight></HTMLQuestion>"
    )


def setup_hits(config: CrowdConfig, data: Data, mturk, rest, base_url: str) -> tuple[int, dict]:
    """The requester's script: the HIT type, its categorical field, one HIT per image."""
    hit_type_id = mturk.create_hit_type(
        Title="Which dog breed is it?",
        Description="Pick the breed of the dog in the picture.",
        Keywords="image, dog, breed",
        Reward=REWARD,
        AssignmentDurationInSeconds=600,
        AutoApprovalDelayInSeconds=7 * 24 * 3600,  # the requester reviews: no auto-approval
    )["HITTypeId"]
    response = rest.put(
        f"{base_url}/api/v1/mturk/hit-types/{hit_type_id}/label-field/",
        json={"field": FIELD, "labels": data.labels},
    )
    if response.status_code != 200:
        raise RuntimeError(f"label-field: {response.status_code} {response.text[:300]}")
    project_id = response.json()["project"]
    task_of_hit = {}
    for task in data.tasks:
        hit = mturk.create_hit_with_hit_type(
            HITTypeId=hit_type_id,
            MaxAssignments=config.max_assignments,
            LifetimeInSeconds=24 * 3600,
            Question=question_of(task, data.labels),
            RequesterAnnotation=f"dog image {task}",
            UniqueRequestToken=f"crowd-{config.seed}-{task}",
        )["HIT"]
        task_of_hit[hit["HITId"]] = task
    return project_id, task_of_hit


def all_hits(mturk) -> list[dict[str, Any]]:
    pages = mturk.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": 100})
    return [hit for page in pages for hit in page["HITs"]]


def hits_done(mturk) -> bool:
    """Nothing pending and nothing available: every HIT is full (or expired)."""
    return all(
        hit["NumberOfAssignmentsAvailable"] == 0 and hit["NumberOfAssignmentsPending"] == 0
        for hit in all_hits(mturk)
    )


def assignments_of(mturk, hit_id: str) -> list[dict[str, Any]]:
    pages = mturk.get_paginator("list_assignments_for_hit").paginate(HITId=hit_id)
    return [a for page in pages for a in page["Assignments"]]


def answer_value(document: str, identifier: str) -> str | None:
    """The FreeText of `identifier` in a QuestionFormAnswers document, as a requester's script
    parses it (ElementTree, MTurk's namespace)."""
    root = ET.fromstring(document)
    for answer in root.findall(f"{QUESTION_FORM_ANSWERS}Answer"):
        if answer.findtext(f"{QUESTION_FORM_ANSWERS}QuestionIdentifier") == identifier:
            return answer.findtext(f"{QUESTION_FORM_ANSWERS}FreeText")
    return None


# --- The run ---------------------------------------------------------------------------------


@contextmanager
def live_server(config: CrowdConfig, dsn: str):
    """gunicorn + a qcluster on `dsn` (bench/soak.py's live_stack), SITE_URL its own address
    (turkSubmitTo, and where MTurk's submit address in an HTMLQuestion is rewritten to)."""
    import soak
    from _server import free_port
    from django.conf import settings

    port = config.port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    stack = soak.SoakConfig(
        gunicorn_workers=config.gunicorn_workers,
        gunicorn_threads=config.gunicorn_threads,
        q_workers=config.q_workers,
        port=port,
        extra_env={
            "SITE_URL": base_url,
            "ENCRYPTION_KEY": settings.ENCRYPTION_KEY,
            "LOG_LEVEL": "WARNING",
        },
    )
    with soak.live_stack(stack, dsn):
        yield base_url


def run_crowd(config: CrowdConfig, dsn: str) -> Report:
    """The whole run; Django set up on `dsn` (PostgreSQL, migrated, committed data)."""
    data = load_data(config)
    names = [f"crowd-real-{n}" for n in range(config.real_workers)]
    names += [f"crowd-spam-{n}" for n in range(config.spammers)]
    requester, key_id, secret = make_accounts(config, names)
    report = Report(hits=len(data.tasks))
    with live_server(config, dsn) as base_url:
        from mturk import mturk_client  # bench/mturk.py: the requester's script's client

        errors = Errors()
        mturk = mturk_client(f"{base_url}/mturk/", key_id, secret)
        rest = rest_session(base_url, requester.username, errors)
        project_id, task_of_hit = setup_hits(config, data, mturk, rest, base_url)
        report.project_id = project_id
        crowd = Crowd(config, data, base_url, project_id)
        started = time.monotonic()
        report.stopped_by = crowd.run(config.seconds, lambda: hits_done(mturk))
        report.crowd_seconds = time.monotonic() - started
        report.settle_seconds = _settle(dsn, project_id)
        _check_hits(report, mturk, crowd, config.max_assignments)
        _consensus(report, rest, base_url, data, task_of_hit, crowd)
        _review(report, mturk, rest, base_url, crowd)
        report.server_errors = errors.server + crowd.errors.server
        report.unexpected = errors.unexpected + crowd.errors.unexpected
    report.workers = _workers(crowd, project_id, data, task_of_hit)
    report.invariants = _invariants(project_id)
    return report


def _settle(dsn: str, project_id: int) -> float:
    import soak

    return soak.settle(soak.SoakConfig(settle_seconds=60), dsn, project_id)


def _check_hits(report: Report, mturk, crowd: Crowd, wanted: int) -> None:
    """Each HIT's assignments (ListAssignmentsForHIT) against what the crowd posted."""
    posted = {s.assignment_id: s for s in crowd.submissions}
    report.submissions = len(posted)
    for hit in all_hits(mturk):
        assignments = assignments_of(mturk, hit["HITId"])
        workers = [a["WorkerId"] for a in assignments]
        if len(set(workers)) != len(workers):
            report.duplicate_workers.append(hit["HITId"])
        if len(assignments) != wanted:
            report.short_hits.append((hit["HITId"], len(assignments), hit["HITStatus"]))
        for assignment in assignments:
            sent = posted.get(assignment["AssignmentId"])
            value = answer_value(assignment["Answer"], FIELD)
            if sent is None or value != sent.label or assignment["WorkerId"] != sent.worker_id:
                report.answers_mismatched.append(assignment["AssignmentId"])
    if crowd.submissions:
        one = crowd.submissions[0]
        got = mturk.get_assignment(AssignmentId=one.assignment_id)
        report.get_assignment_ok = (
            got["Assignment"]["WorkerId"] == one.worker_id
            and answer_value(got["Assignment"]["Answer"], FIELD) == one.label
            and got["HIT"]["HITId"] == got["Assignment"]["HITId"]
        )


def _consensus(report: Report, rest, base_url: str, data: Data, task_of_hit, crowd) -> None:
    """The final labels through the native REST API (GET projects/{id}/consensus/), against
    the data set's gold; beside them, the majority vote of the same answers without the
    spammers' (what a requester could have done alone with the XML)."""
    items, url = [], f"{base_url}/api/v1/projects/{report.project_id}/consensus/"
    while url:
        body = crowd.errors.check(rest.get(url), "consensus").json()
        items += body["results"]
        url = body["next"]
    report.states = dict(Counter(item["state"] for item in items))
    labeled = [i for i in items if i["final_label"]]
    report.consensus_items = len(labeled)
    if labeled:
        right = sum(i["final_label"] == data.gold[task_of_hit[i["external_id"]]] for i in labeled)
        report.consensus_accuracy = right / len(labeled)
    spam = {w.name for w in crowd.workers if w.kind == "spammer"}
    votes: dict[str, Counter] = defaultdict(Counter)
    for s in crowd.submissions:
        if s.worker not in spam:
            votes[task_of_hit[s.hit_id]][s.label] += 1
    if votes:
        right = sum(c.most_common(1)[0][0] == data.gold[t] for t, c in votes.items())
        report.majority_accuracy = right / len(votes)


def _review(report: Report, mturk, rest, base_url: str, crowd: Crowd) -> None:
    """Approve the real workers' assignments, reject the spammers'; the balance and the
    project's spend before and after."""
    report.balance_before = _balance(mturk)
    report.spend_before = _spend(rest, base_url, report.project_id, crowd.errors)
    spam = {w.name for w in crowd.workers if w.kind == "spammer"}
    for s in crowd.submissions:
        if s.worker in spam:
            mturk.reject_assignment(AssignmentId=s.assignment_id, RequesterFeedback="Random.")
            report.rejected += 1
        else:
            mturk.approve_assignment(AssignmentId=s.assignment_id)
            report.approved += 1
    report.balance_after = _balance(mturk)
    report.spend_after = _spend(rest, base_url, report.project_id, crowd.errors)


def _balance(mturk) -> dict[str, str]:
    balance = mturk.get_account_balance()
    return {k: balance[k] for k in ("AvailableBalance", "OnHoldBalance")}


def _spend(rest, base_url: str, project_id: int, errors: Errors) -> str:
    response = errors.check(rest.get(f"{base_url}/api/v1/projects/{project_id}/spend/"), "spend")
    return response.json()["totals"]["amount"]


def _workers(crowd: Crowd, project_id: int, data: Data, task_of_hit) -> list[dict[str, Any]]:
    """Each worker's record, with the share of its answers here that were right (gold)."""
    from apps.workers.models import Block, User, WorkerStats

    right: dict[str, list[bool]] = defaultdict(list)
    for s in crowd.submissions:
        right[s.worker].append(s.label == data.gold[task_of_hit[s.hit_id]])
    ids = dict(
        User.objects.filter(username__in=[w.name for w in crowd.workers]).values_list(
            "username", "pk"
        )
    )
    blocked = dict(
        Block.objects.filter(project_id=project_id, lifted_at__isnull=True).values_list(
            "worker_id", "reason"
        )
    )
    rechecks = dict(
        WorkerStats.objects.filter(project_id=project_id, recheck_at__isnull=False).values_list(
            "worker_id", "recheck_at"
        )
    )
    return [
        {
            "name": w.name,
            "kind": w.kind,
            "answers": w.answers,
            "accuracy": sum(right[w.name]) / len(right[w.name]) if right[w.name] else None,
            "returned": w.returned,
            "blocked": w.blocked,
            "blocked_in_db": ids.get(w.name) in blocked,
            "block_reason": blocked.get(ids.get(w.name)),
            "recheck_at": rechecks.get(ids.get(w.name)),
            "refused_submits": w.refused_submits,
        }
        for w in crowd.workers
    ]


def _invariants(project_id: int) -> dict[str, list[int]]:
    from apps.tasks.selectors.invariants import project_invariants_broken

    broken = project_invariants_broken(project_id=project_id)
    return {name: ids[:20] for name, ids in broken.items()}


# --- As a script -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="dog")
    parser.add_argument("--hits", type=int, default=80)
    parser.add_argument("--real-workers", type=int, default=8)
    parser.add_argument("--spammers", type=int, default=1)
    parser.add_argument("--min-answered", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's (0: a free one)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    config = CrowdConfig(
        dataset=args.dataset,
        hits=args.hits,
        real_workers=args.real_workers,
        spammers=args.spammers,
        min_answered=args.min_answered,
        seconds=args.seconds,
        seed=args.seed,
        port=args.port,
    )
    if not dataset_available(config):
        sys.exit(f"no data set at {DATA / config.dataset} (answers.csv, gold.csv)")
    import mturk as bench_mturk

    pg = bench_mturk.PG
    db = "hitlcrowd_mturk_crowd"
    dsn = f"{pg}/{db}"
    os.environ.update(
        DATABASE_URL=dsn,
        SECRET_KEY="bench-secret",
        ENCRYPTION_KEY="bench-only-encryption-key-0123456789abcdef",
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
    sys.path.insert(0, str(ROOT))
    bench_mturk.admin_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    bench_mturk.admin_sql(f"CREATE DATABASE {db}")
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        print(run_crowd(config, dsn).summary())
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            bench_mturk.admin_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
