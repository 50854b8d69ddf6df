"""Active learning: which open items people should label first. Pure: no Django.

Inputs are the model's probabilities for the open items (n x k, any column order) and, for the
diversity-aware strategies, the items in the model's feature space (`learning.model_features`).
Every strategy is deterministic given its seed.

- "random": the baseline.
- "margin": 1 - (p1 - p2), the gap between the two most likely labels.
- "entropy": entropy of the row, divided by log(k) so it lies in [0, 1].
- "cluster_margin": the most uncertain `pool_factor * batch` items by margin, clustered with
  k-means into `batch` clusters, and from each cluster the item nearest its centre (Zhdanov 2019,
  "Diverse mini-batch active learning"): uncertain, but not twenty copies of the same doubt.
- "kcenter": core-set k-center greedy (Sener & Savarese 2018) among the same uncertain pool:
  repeatedly take the item farthest from everything labeled or already picked.
- "coverage": uncertainty-weighted facility location among the `2 * pool_factor * batch` most
  uncertain items (after FASS, Wei et al. 2015): each pick is the candidate that best covers
  the open items the model is unsure of and nothing labeled covers yet. Similarity is
  exp(-(d / s)^2) with s the median distance between open items; an open item's weight is its
  margin uncertainty squared. Fewest labels on digits (docs/benchmarks-learning.md).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin_min

Strategy = Literal["random", "margin", "entropy", "cluster_margin", "kcenter", "coverage"]
STRATEGIES: tuple[str, ...] = (
    "random",
    "margin",
    "entropy",
    "cluster_margin",
    "kcenter",
    "coverage",
)
BATCH_STRATEGIES: tuple[str, ...] = ("cluster_margin", "kcenter", "coverage")
# coverage: the similarity scale is the median distance among this many open items.
SCALE_SAMPLE = 300


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] < 2:
        return np.zeros(proba.shape[0])
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def entropy_uncertainty(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] < 2:
        return np.zeros(proba.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(proba > 0, proba * np.log(proba), 0.0)
    return -terms.sum(axis=1) / np.log(proba.shape[1])


def random_priority(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def priority(strategy: str, proba: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Per-item score, higher = ask people first, for the per-item strategies."""
    if strategy == "random":
        return random_priority(len(proba), seed)
    if strategy == "margin":
        return margin_uncertainty(proba)
    if strategy == "entropy":
        return entropy_uncertainty(proba)
    raise ValueError(f"{strategy!r} is not a per-item strategy; use prioritize() or select_batch()")


def select_batch(
    strategy: str,
    proba: np.ndarray,
    batch_size: int,
    *,
    features: Any = None,
    labeled_features: Any = None,
    ground_features: Any = None,
    ground_proba: np.ndarray | None = None,
    seed: int = 0,
    pool_factor: int = 10,
) -> np.ndarray:
    """Positions of the batch_size items to label next, in the order they were chosen.

    coverage covers the given items plus ground_features/ground_proba when given: other open
    items (a random sample of the queue) whose doubt the batch should also represent.
    """
    n = len(proba)
    batch_size = min(batch_size, n)
    if batch_size <= 0:
        return np.empty(0, dtype=int)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if strategy not in BATCH_STRATEGIES:
        return _top(priority(strategy, proba, seed=seed), batch_size)
    if features is None:
        raise ValueError(f"strategy {strategy!r} needs the items' features")
    uncertainty = margin_uncertainty(proba)
    if strategy == "coverage":
        pool = _top(uncertainty, min(n, 2 * pool_factor * batch_size))
        ground, weights = features, uncertainty**2
        if ground_features is not None and ground_proba is not None and len(ground_proba):
            ground = _stack(features, ground_features)
            weights = np.concatenate([weights, margin_uncertainty(ground_proba) ** 2])
        return pool[
            _coverage_greedy(features[pool], ground, weights, labeled_features, batch_size, seed)
        ]
    pool = _top(uncertainty, min(n, pool_factor * batch_size))
    if strategy == "cluster_margin":
        picked = _cluster_picks(features[pool], batch_size, seed)
    else:
        picked = _kcenter_greedy(features[pool], batch_size, labeled_features)
    return pool[picked]


def prioritize(
    strategy: str,
    proba: np.ndarray,
    *,
    features: Any = None,
    labeled_features: Any = None,
    ground_features: Any = None,
    ground_proba: np.ndarray | None = None,
    batch_size: int = 50,
    seed: int = 0,
) -> np.ndarray:
    """A priority per item for ordering the human queue (higher = ask first).

    Per-item strategies return their score. Batch strategies put their chosen batch first
    (priorities above 1, in pick order) and rank the rest by margin uncertainty (0..1).
    """
    if strategy not in BATCH_STRATEGIES:
        return priority(strategy, proba, seed=seed)
    scores = margin_uncertainty(proba)
    batch = select_batch(
        strategy,
        proba,
        batch_size,
        features=features,
        labeled_features=labeled_features,
        ground_features=ground_features,
        ground_proba=ground_proba,
        seed=seed,
    )
    scores[batch] = 1.0 + (len(batch) - np.arange(len(batch))) / max(len(batch), 1)
    return scores


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    # Stable sort: equal scores keep input order, so results never depend on the platform.
    return np.argsort(-scores, kind="stable")[:k]


def _cluster_picks(X: Any, k: int, seed: int) -> np.ndarray:
    if X.shape[0] <= k:
        return np.arange(X.shape[0])
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(X)
    distances = km.transform(X)  # (n, k) distance to each centre
    picks = []
    for cluster in range(k):
        members = np.flatnonzero(km.labels_ == cluster)
        if members.size:
            picks.append(members[np.argmin(distances[members, cluster])])
    return np.asarray(picks, dtype=int)


def _kcenter_greedy(X: Any, k: int, labeled: Any) -> np.ndarray:
    if labeled is not None and labeled.shape[0] > 0:
        picks: list[int] = []
        nearest = pairwise_distances(X, labeled).min(axis=1)
    else:  # nothing labeled yet: start from the most uncertain item (position 0)
        picks = [0]
        nearest = pairwise_distances(X, X[0:1]).ravel()
    while len(picks) < min(k, X.shape[0]):
        j = int(np.argmax(nearest))
        picks.append(j)
        nearest = np.minimum(nearest, pairwise_distances(X, X[j : j + 1]).ravel())
    return np.asarray(picks, dtype=int)


def _coverage_greedy(
    candidates: Any, ground: Any, weights: np.ndarray, labeled: Any, k: int, seed: int
) -> np.ndarray:
    """Greedy weighted facility location: positions of k candidates, in pick order."""
    scale = _median_distance(ground, seed)
    similarity = np.exp(-((pairwise_distances(candidates, ground) / scale) ** 2))
    covered = np.zeros(ground.shape[0])
    if labeled is not None and labeled.shape[0] > 0:
        _, nearest = pairwise_distances_argmin_min(ground, labeled)
        covered = np.exp(-((nearest / scale) ** 2))
    picks: list[int] = []
    for _ in range(min(k, candidates.shape[0])):
        gain = np.maximum(similarity - covered, 0.0) @ weights
        gain[picks] = -np.inf
        j = int(np.argmax(gain))
        picks.append(j)
        covered = np.maximum(covered, similarity[j])
    return np.asarray(picks, dtype=int)


def _stack(a: Any, b: Any) -> Any:
    return sparse.vstack([a, b], format="csr") if sparse.issparse(a) else np.vstack([a, b])


def _median_distance(X: Any, seed: int) -> float:
    n = X.shape[0]
    sample = np.random.default_rng(seed).choice(n, min(n, SCALE_SAMPLE), replace=False)
    distances = pairwise_distances(X[sample])
    upper = distances[np.triu_indices(len(sample), k=1)]
    median = float(np.median(upper)) if upper.size else 0.0
    return median if median > 0 else 1.0
