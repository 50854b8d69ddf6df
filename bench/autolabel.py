"""Auto-labels at the accuracy asked for, on the digits demo, offline. Prints a table.

    .venv/bin/python bench/autolabel.py                     # targets 0.95 0.97 0.99, 3 seeds
    .venv/bin/python bench/autolabel.py --targets 0.99 --seeds 1 --human-accuracy 1.0

Replays the platform's learning loop on scikit-learn's bundled digits (no downloads) with the
demo's import (demo_load: 30 gold items, 1,747 items predicted by a seed model trained on 50
digits) and the decision rules of apps.models.evidence:
- the import's model is the incumbent; nothing auto-labels until a model's evidence (its
  holdout plus audited items, which never train a model) gives a confidence threshold whose
  lower bound meets the target;
- while the evidence is short, a share of the waiting items the model is sure about is audited
  (people label them first); once auto-labeling, AUDIT_SHARE of the auto-labels are audited too;
- people label `--batch` items per retrain (audits first, then the most uncertain, margin); a
  candidate is promoted by the platform's rule (evidence.promotion_verdict: a paired test
  against the incumbent; a successor trained on more labels only must not be clearly worse).
People's labels come from the truth, right with probability --human-accuracy; an item they label
costs --answers-per-item answers, gold adds --gold-share of all answers, and the 50 seed labels
count. Fixed overlap 3 on the 1,777 items costs 5,331 answers.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.models import evidence, learning

LABELS = tuple(str(d) for d in range(10))
SEED_SIZE, GOLD_SIZE, SEED_C = 50, 30, 100.0  # as demo_load
AUDIT_SHARE = 0.05  # LearningSettings.audit_share
# While the evidence is short, audits are drawn among waiting items at least --audit-floor
# sure, up to evidence.audits_needed(target) times AUDIT_MARGIN above the threshold.
AUDIT_MARGIN = 1.5
HOLDOUT = 0.2


@dataclass
class Outcome:
    target: float
    seed: int
    auto: int
    auto_accuracy: float
    people_items: int
    audits: int
    answers: float
    system_accuracy: float
    versions: int
    promoted: int
    promoted_at: list[int]  # training labels at each promotion


def demo_import() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixels and truth of the project's items, which are gold, and the seed model's
    prediction and confidence (demo_load.digit_rows)."""
    digits = load_digits()
    pixels, target = digits.data, digits.target.astype(str)
    by_class = [np.flatnonzero(target == d) for d in LABELS]
    seed = np.concatenate([ids[: SEED_SIZE // 10] for ids in by_class])
    gold = np.concatenate([ids[: GOLD_SIZE // 10] for ids in by_class])
    items = np.sort(np.concatenate([gold, np.setdiff1d(np.arange(len(target)), seed)]))
    model = LogisticRegression(C=SEED_C, max_iter=2000).fit(pixels[seed] / 16, target[seed])
    proba = model.predict_proba(pixels[items] / 16)
    prediction = model.classes_[proba.argmax(1)]
    return pixels[items], target[items], np.isin(items, gold), prediction, proba.max(1)


def run(target: float, seed: int, args: argparse.Namespace) -> Outcome:
    X, truth, gold, prediction, confidence = demo_import()
    n = len(truth)
    rng = np.random.default_rng(seed)
    # What people would answer for each item (consensus), drawn once.
    wrong = rng.random(n) > args.human_accuracy
    noise = (truth.astype(int) + rng.integers(1, 10, n)) % 10
    people = np.where(wrong, noise.astype(str), truth)
    final = np.full(n, "", dtype=object)
    final[gold] = truth[gold]
    by_people = np.zeros(n, bool)
    auto = np.zeros(n, bool)
    verdict = np.zeros(n, bool)  # people's label is known (labeled by people, or audited)
    audit = np.zeros(n, bool)  # flagged: people label it without seeing the model
    audit_label = np.full(n, "", dtype=object)  # the model's label when drawn
    audit_conf = np.zeros(n)
    extra_audits = 0  # audits of items already auto-labeled: answers, no new final label
    active = None  # (model, its holdout); None: the import's model is the incumbent
    versions = promoted = 0
    promoted_at: list[int] = []
    labels_at_version = 0
    while True:
        pred, conf = _scores(active, X, prediction, confidence)
        audited = audit & verdict
        ev_conf, ev_ok = _evidence(active, pred, conf, people, audited, audit_label,
                                   audit_conf, gold, truth, args.audits_train)  # fmt: skip
        threshold = evidence.threshold_for_accuracy(ev_conf, ev_ok, target).value
        waiting = (final == "") & ~gold
        if threshold is not None:  # route: auto-label the sure ones, audit a share of them
            sure = waiting & (conf >= threshold) & ~audit
            final[sure], auto[sure] = pred[sure], True
            sampled = sure & (rng.random(n) < AUDIT_SHARE)
            audit[sampled], audit_label[sampled], audit_conf[sampled] = (
                True, pred[sampled], conf[sampled]
            )  # fmt: skip
            verdict[sampled] = True
            extra_audits += int(sampled.sum())
        open_ids = np.flatnonzero((final == "") & ~gold)
        if not len(open_ids):
            break
        # People label a batch: while the evidence is short, audits of sure waiting items
        # (at random) fill up to half of it (all with --audits-first); the rest are the least
        # sure (margin).
        bar = threshold if threshold is not None else args.audit_floor
        short = evidence.audits_needed(target) * AUDIT_MARGIN - int((ev_conf >= bar).sum())
        batch: list[int] = []
        if short > 0:
            pool = open_ids[(conf[open_ids] >= args.audit_floor) & ~audit[open_ids]]
            most = args.batch if args.audits_first else args.batch // 2
            take = min(len(pool), most, int(short))
            picked = rng.choice(pool, take, replace=False) if take else np.array([], int)
            audit[picked], audit_label[picked], audit_conf[picked] = (
                True, pred[picked], conf[picked]
            )  # fmt: skip
            batch += list(picked)
        rest = [i for i in open_ids[np.argsort(conf[open_ids], kind="stable")] if i not in batch]
        batch = np.asarray(batch + rest[: args.batch - len(batch)])
        final[batch], by_people[batch], verdict[batch] = people[batch], True, True
        train_mask = by_people | gold
        if not args.audits_train:
            train_mask &= ~audit | gold
        if train_mask.sum() - labels_at_version >= args.batch:
            labels_at_version = int(train_mask.sum())
            versions += 1
            candidate, judged = _judge(active, X, people, truth, train_mask, audit & verdict,
                                       gold, prediction, audit_label, audit_conf,
                                       args.audits_train)  # fmt: skip
            if judged.promote:
                active, promoted = candidate, promoted + 1
                promoted_at.append(labels_at_version)
    ok = final == truth
    human_items = int(by_people.sum())
    real_answers = (human_items + extra_audits) * args.answers_per_item
    answers = real_answers / (1 - args.gold_share) + SEED_SIZE
    return Outcome(
        target=target,
        seed=seed,
        auto=int(auto.sum()),
        auto_accuracy=float(ok[auto].mean()) if auto.any() else float("nan"),
        people_items=human_items,
        audits=int(audit.sum()),
        answers=answers,
        system_accuracy=float(ok.mean()),
        versions=versions,
        promoted=promoted,
        promoted_at=promoted_at,
    )


def _scores(active, X, prediction, confidence) -> tuple[np.ndarray, np.ndarray]:
    if active is None:
        return prediction, confidence
    proba = learning.predict_proba(active[0], X)
    labels, conf = learning.top_labels(proba, LABELS)
    return np.asarray(labels, dtype=object), conf


def _evidence(active, pred, conf, people, audited, audit_label, audit_conf, gold, truth,
              audits_train):  # fmt: skip
    """(confidence, correct) judged against people's label. Held-out audits: the active
    model's own scores on the audited items and its holdout. Audits that train: every audit as
    scored when drawn (by the model active then), which no model had trained on yet."""
    if active is None or audits_train:
        return audit_conf[audited], audit_label[audited] == people[audited]
    idx = np.flatnonzero(audited | active[1])
    judge = np.where(gold[idx], truth[idx], people[idx])
    return conf[idx], pred[idx] == judge


def _judge(active, X, people, truth, train_mask, audited, gold, prediction, audit_label,
           audit_conf, audits_train):  # fmt: skip
    idx = np.flatnonzero(train_mask)
    labels = np.where(gold[idx], truth[idx], people[idx])
    split = learning.split_holdout(list(labels), keys=list(idx), fraction=HOLDOUT, seed=0)
    model = learning.train(X[idx[split.train]], labels[split.train], kind="image",
                           label_set=LABELS, seed=0)  # fmt: skip
    holdout_mask = np.zeros(len(X), bool)
    holdout_mask[idx[split.holdout]] = True
    # Judged on its holdout, and on audits unless they train (then they are in its training set).
    judged = np.flatnonzero(holdout_mask | (audited & ~train_mask))
    if active is None:  # judged where the import's model was: its audits
        judged = np.flatnonzero(audited & ~train_mask)
    answer = np.where(gold[judged], truth[judged], people[judged])
    cand_labels, _ = learning.top_labels(learning.predict_proba(model, X[judged]), LABELS)
    cand = np.asarray(cand_labels, dtype=object) == answer
    if active is None:
        inc = audit_label[judged] == people[judged]
        name = "import"
    else:
        inc_labels, _ = learning.top_labels(learning.predict_proba(active[0], X[judged]), LABELS)
        inc = np.asarray(inc_labels, dtype=object) == answer
        name = "active"
    baseline = max(np.mean(labels == c) for c in LABELS)
    # As the platform judges (training._successor): a version trained on more labels than the
    # active one needs only not to be clearly worse; the import's model must be beaten clearly.
    verdict = evidence.promotion_verdict(
        cand, inc, float(baseline), name, successor=active is not None
    )
    return (model, holdout_mask), verdict


def main() -> None:
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", default="0.95,0.97,0.99")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=20, help="retrain_after_labels")
    parser.add_argument("--human-accuracy", type=float, default=0.99)
    parser.add_argument("--answers-per-item", type=float, default=2.3)
    parser.add_argument("--gold-share", type=float, default=0.1)
    parser.add_argument("--audit-floor", type=float, default=0.5, help="audit items this sure")
    parser.add_argument(
        "--audits-first", action="store_true", help="audits fill whole batches (else half)"
    )
    parser.add_argument("--audits-train", action="store_true", help="prequential evidence")
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"digits demo, 1,777 items; people {args.human_accuracy:.2f} accurate at "
        f"{args.answers_per_item} answers per item, gold {args.gold_share:.0%} of answers; "
        f"retrain every {args.batch}; fixed overlap 3 = 5,331 answers"
    )
    print("| target | auto-labeled | auto accuracy | people items (audits) | human answers | "
          "vs overlap 3 | system accuracy | versions (promoted) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for target in map(float, args.targets.split(",")):
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        rows = [run(target, seed, args) for seed in seeds]
        for r in rows:
            print(f"<!-- seed {r.seed}: {r} -->", file=sys.stderr)
        keys = [k for k in vars(rows[0]) if k not in ("target", "promoted_at")]
        m = {k: np.nanmean([getattr(r, k) for r in rows]) for k in keys}
        print(
            f"| {target:.2f} | {m['auto']:.0f} | {m['auto_accuracy']:.4f} | "
            f"{m['people_items']:.0f} ({m['audits']:.0f}) | {m['answers']:.0f} | "
            f"{5331 / m['answers']:.1f}x | {m['system_accuracy']:.4f} | "
            f"{m['versions']:.0f} ({m['promoted']:.0f}) |"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
