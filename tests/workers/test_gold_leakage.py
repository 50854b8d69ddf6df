"""The attacker (issue 12): can a worker tell which answers were gold, or whether they were right?

A worker answers a mix of gold and other tasks, right and wrong, and after every answer takes
a snapshot of everything the worker API and pages show: the submit response, my stats,
history, earnings, the projects list with the qualification state, the next task, the
assignment, the guideline, me/, and the HTML pages (projects, task, history, earnings).

- Exact: a twin worker makes the same moves on a project without gold. With identities
  masked (ids, timestamps, user names, payloads, the labels the worker chose: all things the
  worker knows or supplied), every snapshot of the attacker equals the twin's. What a worker
  sees is then a function of what they did, whatever was gold and whatever was right.
- Statistical: `infer` reads the attacker's snapshots the way an attacker would (it inverts
  the Beta interval the old stats showed; otherwise it takes every number that moved as a
  candidate signal and is credited with the best one) and must score no better than chance.
- The qualification test: workers whose test answers are right at different steps see the
  same thing at every step; only the end says pass or fail.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from decimal import Decimal
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from django.test import Client
from scipy.stats import beta as beta_distribution

from apps.tasks.models import Answer
from tests import factories
from tests.helpers.crowd import aggregate_now, work

# Labels that no template or message contains, so masking them hides nothing else.
LABELS = ["alpha", "omega"]
STEPS = 60
GOLD_ITEMS = 30  # more than the attacker can be served in STEPS at GOLD_SHARE
GOLD_SHARE = 0.4
SECONDS = 4.0
# An attacker at chance has an AUC of 0.5; with ~24 gold of 60 answers its standard deviation
# is ~0.08 for membership and ~0.12 for right/wrong among the gold answers (Hanley-McNeil), so
# 0.85 is about 3 standard deviations for the weaker of the two (4 for membership, where the
# random order of item refs is the one score that is not constant). On main the Beta
# inversion scored 1.0 for both, and the order of item ids 1.0 for membership.
AUC_BOUND = 0.85
IDENTITY_KEYS = {"id", "assignment_id", "item_id", "project_id"}
TIME_KEYS = {"created_at", "lease_expires_at", "updated_at", "expiry"}
MASKED_KEYS = {
    "payload": "<payload>",
    "label": "<label>",
    "username": "<user>",
    "ref": "<ref>",  # an item as this worker sees it: a keyed hash, per worker
    "item_ref": "<ref>",
    "mturk_worker_id": "<worker_id>",  # the worker's own, as the username
}


@pytest.fixture(autouse=True)
def _seeded(sync_q) -> None:
    random.seed(1212)  # the claim's gold draw


def project_with(requester, name: str, gold_labels: Iterable[str | None], **options) -> Any:
    """A two-label project with a guideline whose items come in this order, gold where a label
    is given (gold rows mixed with the others, as a requester uploads them)."""
    project = factories.ProjectFactory(
        owner=requester,
        name=name,
        labels=LABELS,
        min_overlap=3,
        max_overlap=3,
        gold_share=GOLD_SHARE,
        reward_per_answer=Decimal("0.05"),
        # The attackers answer at random: the spam rule (on by default) would block them at
        # their 20th answer, before they have probed enough. Blocks have their own test below.
        **{"block_below_spam_score": 0, **options},
    )
    factories.GuidelineVersionFactory(project=project, number=1, text="Name the *animal*.")
    for index, gold in enumerate(gold_labels):
        item = factories.ItemFactory(
            project=project,
            external_id=f"x{index}",
            payload={"text": f"item {index}"},
            is_gold=gold is not None,
            gold_label=gold or "",
        )
        factories.HITFactory(item=item, answers_wanted=1 if gold else 3)
    return project


class Worker:
    """A worker with an API token and a browser session, and what they saw after each answer."""

    def __init__(self, user, project, api_client_for) -> None:
        self.user, self.project = acknowledged(user, project), project
        self.api = api_client_for(user)
        self.web = Client()
        self.web.force_login(user)
        self.task = None
        self.snapshots: list[dict[str, Any]] = []

    def next_task(self) -> tuple[int, Any]:
        response = self.api.post("/api/v1/work/next/", {"project": self.project.pk}, format="json")
        self.task = response.json() if response.status_code == 200 else None
        return response.status_code, _body(response)

    def answer(self, label: str, capture) -> tuple[int, Any]:
        url = f"/api/v1/work/assignments/{self.task['assignment_id']}/submit/"
        with capture(execute=True):  # the aggregation job runs as after a real commit
            response = self.api.post(url, {"label": label, "seconds_spent": SECONDS}, format="json")
        return response.status_code, _body(response)

    def snapshot(self, submitted: tuple[int, Any]) -> None:
        answered = self.task["assignment_id"]
        project = self.project.pk
        shot = {"submit": submitted}
        for name, url in {
            "stats": "/api/v1/work/me/stats/",
            "history": "/api/v1/work/history/",
            "earnings": "/api/v1/work/earnings/",
            "me": "/api/v1/me/",
            "assignment": f"/api/v1/work/assignments/{answered}/",
            "guideline": f"/api/v1/work/projects/{project}/guideline",
        }.items():
            response = self.api.get(url)
            shot[name] = (response.status_code, _body(response))
        projects = self.api.get("/api/v1/work/projects/").json()["results"]
        shot["projects"] = [row for row in projects if row["id"] == project]
        shot["next"] = self.next_task()
        for name, url in {
            "page_history": "/work/history/",
            "page_earnings": "/work/earnings/",
            "page_task": f"/work/projects/{project}/task/",
        }.items():
            response = self.web.get(url)
            shot[name] = (response.status_code, response.content.decode())
        page = self.web.get("/work/").content.decode()
        shot["page_projects"] = _project_card(page, project)
        self.snapshots.append(shot)

    def masked(self) -> list[Any]:
        return [mask(shot, self.user.username) for shot in self.snapshots]


def acknowledged(user, project):
    """The user, having read the project's guideline (else no task is served)."""
    guideline = project.guidelines.get()
    factories.GuidelineAcknowledgementFactory(guideline=guideline, worker=user)
    return user


def _body(response) -> Any:
    return response.json() if response.content else None


def _project_card(page: str, project_id: int) -> str:
    """The worker's own project's card on the projects page (the others list other tests'
    projects, each with this worker's state on it)."""
    found = re.search(rf'<section[^>]*data-project="{project_id}".*?</section>', page, re.S)
    return found.group(0) if found else ""


def mask(value: Any, username: str) -> Any:
    """What is left of a snapshot once the worker's own knowledge is taken out."""
    if isinstance(value, dict):
        return {key: _mask_field(key, item, username) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item, username) for item in value]
    if isinstance(value, str):
        return _mask_text(value, username)
    return value


def _mask_field(key: str, value: Any, username: str) -> Any:
    if key in IDENTITY_KEYS or (key == "project" and isinstance(value, int)):
        return "<id>"
    if key in TIME_KEYS:
        return "<time>"
    if key in MASKED_KEYS:
        return MASKED_KEYS[key]
    return mask(value, username)


def _mask_text(text: str, username: str) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "<csrf>", text)
    text = text.replace(username, "<user>")
    text = re.sub(r"\bA[A-Z0-9]{13}\b", "<worker_id>", text)  # the worker's own MTurk WorkerId
    text = re.sub(r"\b[0-9a-f]{16}\b", "<ref>", text)
    text = re.sub(r"\b(" + "|".join(LABELS) + r")\b", "<label>", text)
    return re.sub(r"\d+", "#", text)  # ids, dates, the lease countdown, page numbers


# --- The attacker's inference ------------------------------------------------------------------


def infer(snapshots: list[dict[str, Any]]) -> dict[str, list[list[float]]]:
    """Per answer after the first, candidate scores for "it was gold" and "it was right",
    read from how the snapshots moved."""
    gold: dict[str, list[float]] = {}
    right: dict[str, list[float]] = {}
    for step, (before, after) in enumerate(pairwise(snapshots)):
        counts = gold_counts(before), gold_counts(after)
        if None not in counts:
            (g0, c0), (g1, c1) = counts
            _add(gold, "beta gold answers", step, g1 - g0)
            _add(right, "beta gold correct", step, c1 - c0)
        numbers = numeric_leaves(after)
        for path, value in numeric_leaves(before).items():
            delta = numbers.get(path, value) - value
            _add(gold, path, step, delta)
            _add(right, path, step, delta)
    # The order of the items served: the gold queue and the other one each serve in their own
    # order, so where an item's identity ranks among all served, against when it came, says
    # which queue it came from if identities are ordered (item ids were).
    served = [_item_identity(shot) for shot in snapshots]
    rank = np.argsort(np.argsort(np.asarray(served, dtype=object)))
    gold["item order"] = [float(rank[answer] - answer) for answer in range(1, len(served))]
    steps = len(snapshots) - 1
    return {
        "gold": [scores + [0.0] * (steps - len(scores)) for scores in gold.values()],
        "right": [scores + [0.0] * (steps - len(scores)) for scores in right.values()],
    }


def _item_identity(snapshot: dict[str, Any]) -> Any:
    item = snapshot["assignment"][1]["item"]
    return item.get("id", item.get("ref"))


def _add(scores: dict[str, list[float]], name: str, step: int, value: float) -> None:
    scores.setdefault(name, [0.0] * step).append(float(value))


def gold_counts(snapshot: dict[str, Any]) -> tuple[int, int] | None:
    """(gold answers, gold correct) from a stats row that shows skill and its Beta interval:
    the parameters are 1 + gold correct + skill x other answers and 1 + gold wrong +
    (1 - skill) x other answers, and every (gold, correct) pair gives another interval."""
    rows = snapshot["stats"][1]["results"]
    if not rows or rows[0].get("skill_low") is None:
        return None
    row = rows[0]
    n, skill = row["answers"], row["skill"]
    g, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    other = 0 if skill is None else n - g
    skill = 0.0 if skill is None else skill
    a, b = 1 + c + skill * other, 1 + (g - c) + (1 - skill) * other
    with np.errstate(all="ignore"):
        low, high = beta_distribution.ppf([[[0.025]], [[0.975]]], a, b)
    error = np.abs(low - row["skill_low"]) + np.abs(high - row["skill_high"])
    error[c > g] = np.inf
    found = np.unravel_index(np.nanargmin(error), error.shape)
    return int(found[0]), int(found[1])


def numeric_leaves(value: Any, path: str = "") -> dict[str, float]:
    """Every number in a snapshot by its path, ids left out (they name things the worker
    already knows) and decimals as numbers."""
    if isinstance(value, dict):
        leaves = {}
        for key, item in value.items():
            if key not in IDENTITY_KEYS and key != "project":
                leaves |= numeric_leaves(item, f"{path}/{key}")
        return leaves
    if isinstance(value, list | tuple):
        leaves = {}
        for index, item in enumerate(value):
            leaves |= numeric_leaves(item, f"{path}/{index}")
        return leaves
    if isinstance(value, bool) or value is None:
        return {path: float(bool(value))}
    if isinstance(value, int | float):
        return {path: float(value)}
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value):
        return {path: float(value)}
    return {}


def auc(scores: list[float], truth: list[bool]) -> float:
    """Area under the ROC curve (ties count half), taken the better way round: an attacker
    may read a signal either way."""
    scores, truth = np.asarray(scores, dtype=float), np.asarray(truth, dtype=bool)
    positive, negative = scores[truth], scores[~truth]
    if not len(positive) or not len(negative):
        return 0.5
    wins = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    area = wins + ties / 2
    return max(area, 1 - area)


def best_auc(candidates: list[list[float]], truth: list[bool]) -> float:
    return max((auc(scores, truth) for scores in candidates), default=0.5)


# --- The tests -----------------------------------------------------------------------------------


def play(workers: list[Worker], labels: list[str], capture) -> None:
    """Each worker answers `labels` in turn, a snapshot after each answer."""
    for worker in workers:
        status, _ = worker.next_task()
        assert status == 200
    for label in labels:
        for worker in workers:
            if worker.task is None:
                continue
            worker.snapshot(worker.answer(label, capture))


def truth_of(worker: Worker) -> tuple[list[bool], list[bool]]:
    """Per answer, oldest first: was it on gold, and (on gold) was it right."""
    rows = (
        Answer.objects.filter(worker=worker.user, project=worker.project)
        .order_by("pk")
        .values_list("label", "item__is_gold", "item__gold_label")
    )
    return [gold for _, gold, _ in rows], [gold and label == known for label, gold, known in rows]


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            found = first_difference(a.get(key), b.get(key), f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}/{index}")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {str(a)[:300]!r} != {str(b)[:300]!r}"


@pytest.fixture
def peers(requester):
    """Two workers who answered every task first, so the attacker's answers meet a consensus."""

    def answer_all(project) -> None:
        for index in range(2):
            peer = acknowledged(
                factories.WorkerFactory(username=f"peer-{project.pk}-{index}"), project
            )
            work(peer, project, lambda item: LABELS[int(item.payload["text"].split()[1]) % 2])
        aggregate_now(project)

    return answer_all


def test_a_worker_cannot_tell_gold_answers_or_their_correctness_from_anything_they_see(
    requester, api_client_for, peers, django_capture_on_commit_callbacks
):
    rng = random.Random(12)
    golds = set(rng.sample(range(100), GOLD_ITEMS))
    gold_labels = [rng.choice(LABELS) if index in golds else None for index in range(100)]
    attacked = project_with(requester, "Animals", gold_labels)
    plain = project_with(requester, "Animals", [None] * 100)
    # Both sign up before the peers answer: an item every worker has answered goes to review.
    attacker_user = factories.WorkerFactory(username="attacker")
    twin_user = factories.WorkerFactory(username="twin")
    for project in (attacked, plain):
        peers(project)
    attacker = Worker(attacker_user, attacked, api_client_for)
    twin = Worker(twin_user, plain, api_client_for)
    choices = [rng.choice(LABELS) for _ in range(STEPS)]

    play([attacker, twin], choices, django_capture_on_commit_callbacks)

    is_gold, is_right = truth_of(attacker)
    assert len(is_gold) == STEPS and 15 <= sum(is_gold) <= 35
    right_among_gold = [right for gold, right in zip(is_gold, is_right, strict=True) if gold]
    assert 5 <= sum(right_among_gold) <= len(right_among_gold) - 5
    # Statistical: the best reading of the snapshots is no better than chance.
    scores = infer(attacker.snapshots)
    gold_steps, right_steps = is_gold[1:], is_right[1:]
    membership = best_auc(scores["gold"], gold_steps)
    on_gold = [step for step, gold in enumerate(gold_steps) if gold]
    candidates = [[values[step] for step in on_gold] for values in scores["right"]]
    correctness = best_auc(candidates, [right_steps[step] for step in on_gold])
    assert max(membership, correctness) <= AUC_BOUND, (membership, correctness)
    # Exact: after every answer the attacker sees what a worker on a project without gold sees.
    for step, (seen, control) in enumerate(zip(attacker.masked(), twin.masked(), strict=True)):
        assert seen == control, f"answer {step + 1}: {first_difference(seen, control)}"


def test_the_qualification_test_says_pass_or_fail_at_the_end_only(
    requester, api_client_for, django_capture_on_commit_callbacks
):
    size = 6
    options = {"qualification_size": size, "qualification_pass_rate": 0.6}
    # The workers all answer "alpha"; right at different steps, 5, 4 and 2 of 6 in all.
    tests = {
        "five": ["alpha", "alpha", "omega", "alpha", "alpha", "alpha"],
        "four": ["omega", "alpha", "alpha", "alpha", "omega", "alpha"],
        "two": ["omega", "omega", "alpha", "omega", "alpha", "omega"],
    }
    workers = {}
    for name, gold in tests.items():
        project = project_with(requester, "Animals", [*gold, None, None], **options)
        user = factories.WorkerFactory(username=f"tested-{name}")
        workers[name] = Worker(user, project, api_client_for)

    play(list(workers.values()), ["alpha"] * size, django_capture_on_commit_callbacks)

    seen = {name: worker.masked() for name, worker in workers.items()}
    for step in range(size - 1):
        for name in ("four", "two"):
            difference = first_difference(seen[name][step], seen["five"][step])
            assert difference is None, f"{name}, answer {step + 1}: {difference}"
    assert seen["four"][-1] == seen["five"][-1]  # both passed
    states = {
        name: worker.snapshots[-1]["projects"][0]["qualification"]["state"]
        for name, worker in workers.items()
    }
    assert states == {"five": "passed", "four": "passed", "two": "failed"}
    refused = workers["two"].snapshots[-1]["next"]
    assert refused[0] == 403 and not re.search(r"\b2\b", refused[1]["detail"])  # no score


def test_a_block_for_failing_gold_comes_at_a_checkpoint_and_says_nothing_more(
    requester, api_client_for, peers, django_capture_on_commit_callbacks, settings
):
    settings.BLOCK_CHECK_EVERY = 10
    rules = {"block_gold_accuracy": 0.9, "block_min_gold": 3}
    rng = random.Random(21)
    golds = set(rng.sample(range(60), 20))
    gold_labels = [rng.choice(LABELS) if index in golds else None for index in range(60)]
    attacked = project_with(requester, "Animals", gold_labels, **rules)
    plain = project_with(requester, "Animals", [None] * 60, **rules)
    # Both sign up before the peers answer: an item every worker has answered goes to review.
    attacker_user = factories.WorkerFactory(username="attacker")
    twin_user = factories.WorkerFactory(username="twin")
    for project in (attacked, plain):
        peers(project)
    attacker = Worker(attacker_user, attacked, api_client_for)
    twin = Worker(twin_user, plain, api_client_for)

    play(
        [attacker, twin],
        [rng.choice(LABELS) for _ in range(30)],
        django_capture_on_commit_callbacks,
    )

    seen, control = attacker.masked(), twin.masked()
    blocked_at = len(seen)  # the attacker stops when the next task is refused
    assert blocked_at in (10, 20, 30) and attacker.task is None
    for step in range(blocked_at - 1):
        assert seen[step] == control[step], (
            f"answer {step + 1}: {first_difference(seen[step], control[step])}"
        )
    last = attacker.snapshots[-1]
    assert last["stats"][1]["results"][0]["blocked"]
    status, body = last["next"]
    assert status == 403 and "did not meet its quality rules" in body["detail"]
    assert "gold" not in str(last).lower()
