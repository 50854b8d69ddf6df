"""The pure aggregation core: hand-built vote tables, and equality with crowd-kit on real data."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apps.tasks import aggregation
from apps.tasks.aggregation import (
    AggregationError,
    AnswerRow,
    SparseDawidSkene,
    aggregate,
    answers_frame,
    overlap_decision,
)

DATASETS = ("bluebirds", "rte", "dog", "web", "d_product", "d_possent", "s_rel")
REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("HITLCROWD_SHARED_DATA", REPO.parent / "shared" / "data"))


def reliable_table(n_items: int = 20, labels: str = "ab") -> list[tuple[str, str, str]]:
    """Two workers who always give the true label, which cycles through ``labels``."""
    rows = []
    for i in range(n_items):
        truth = labels[i % len(labels)]
        rows += [(f"i{i}", "r1", truth), (f"i{i}", "r2", truth)]
    return rows


def truth_of(i: int, labels: str = "ab") -> str:
    return labels[i % len(labels)]


# ---------------------------------------------------------------------------- hand-built tables


def test_a_random_spammer_is_outvoted_by_two_reliable_workers() -> None:
    rng = np.random.default_rng(0)
    rows = reliable_table(40) + [(f"i{i}", "spam", "ab"[rng.integers(2)]) for i in range(40)]
    result = aggregate(rows, labels=["a", "b"])
    assert result.consensus() == {f"i{i}": truth_of(i) for i in range(40)}
    assert result.worker("spam").skill < 0.75 < result.worker("r1").skill


def test_a_worker_who_always_gives_the_same_label_carries_no_weight() -> None:
    rows = reliable_table(30, "abc") + [(f"i{i}", "lazy", "a") for i in range(30)]
    result = aggregate(rows, labels=["a", "b", "c"])
    assert result.consensus() == {f"i{i}": truth_of(i, "abc") for i in range(30)}
    confusion = np.array(result.worker("lazy").confusion)
    assert confusion[:, 0] == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)


def test_a_consistently_permuted_worker_becomes_signal() -> None:
    # "perm" answers b for a, c for b, a for c; alone on items 30..59, DS reads them back.
    shift = {"a": "b", "b": "c", "c": "a"}
    rows = reliable_table(30, "abc")
    rows += [(f"i{i}", "perm", shift[truth_of(i, "abc")]) for i in range(60)]
    result = aggregate(rows, labels=["a", "b", "c"])
    for i in range(30, 60):
        assert result.item(f"i{i}").label == truth_of(i, "abc")
    majority = aggregate(rows, labels=["a", "b", "c"], method="majority_vote")
    assert majority.item("i45").label == shift[truth_of(45, "abc")]


def test_true_labels_fix_their_items_and_teach_worker_skills() -> None:
    # w1 and w2 always disagree; gold on items 0..9 shows w2 is right.
    rows = []
    for i in range(40):
        rows += [(f"i{i}", "w1", truth_of(i + 1)), (f"i{i}", "w2", truth_of(i))]
    gold = {f"i{i}": truth_of(i) for i in range(10)}
    result = aggregate(rows, labels=["a", "b"], true_labels=gold)
    assert result.consensus() == {f"i{i}": truth_of(i) for i in range(40)}
    assert result.item("i0").posterior == {"a": 1.0, "b": 0.0}
    assert result.item("i0").known and not result.item("i20").known
    assert result.worker("w2").skill > 0.9 > 0.1 > result.worker("w1").skill


def test_true_labels_override_a_unanimous_crowd() -> None:
    rows = reliable_table(10)
    result = aggregate(rows, labels=["a", "b"], true_labels={"i0": "b"})
    assert result.item("i0").label == "b"
    assert result.item("i0").confidence == 1.0


def test_empty_input_gives_an_empty_result() -> None:
    result = aggregate([], labels=["a", "b"])
    assert list(result.items()) == [] and list(result.workers()) == []
    assert result.consensus() == {} and result.initial_error() == {}
    assert result.iterations == 0 and result.log_likelihood is None


def test_a_single_answer_is_the_consensus() -> None:
    result = aggregate([("item", "worker", "b")], labels=["a", "b", "c"])
    item = result.item("item")
    assert item.label == "b" and item.n_answers == 1
    assert sum(item.posterior.values()) == pytest.approx(1.0)
    worker = result.worker("worker")
    assert worker.n_answers == 1
    assert np.array(worker.confusion).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])


def test_every_label_has_a_posterior_even_one_nobody_used() -> None:
    result = aggregate(reliable_table(10), labels=["a", "b", "unused"])
    posterior = result.item("i0").posterior
    assert set(posterior) == {"a", "b", "unused"}
    assert posterior["unused"] < 1e-6 and sum(posterior.values()) == pytest.approx(1.0)
    assert np.array(result.worker("r1").confusion).shape == (3, 3)


def test_labels_given_as_numbers_are_read_as_strings() -> None:
    rows = [AnswerRow(item=1, worker=7, label=1), AnswerRow(item=1, worker=8, label=1)]
    result = aggregate(rows, labels=["0", "1"])  # type: ignore[list-item]
    assert result.item(1).label == "1"
    assert list(answers_frame(rows).columns) == ["task", "worker", "label"]


def test_an_answer_outside_the_label_set_is_refused() -> None:
    with pytest.raises(AggregationError, match="outside the label set"):
        aggregate([("i", "w", "zebra")], labels=["a", "b"])


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(AggregationError, match="unknown method"):
        aggregate([], labels=["a"], method="mace")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["majority_vote", "wawa", "glad", "dawid_skene"])
def test_every_method_returns_full_posteriors(method: aggregation.Method) -> None:
    rng = np.random.default_rng(1)
    rows = reliable_table(12, "ab") + [
        (f"i{i}", "noisy", "abc"[rng.integers(3)]) for i in range(12)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = aggregate(rows, labels=["a", "b", "c"], method=method)
    assert result.method == method
    assert result.posteriors.shape == (12, 3)
    assert result.posteriors.sum(axis=1) == pytest.approx(np.ones(12))
    assert result.consensus() == {f"i{i}": truth_of(i) for i in range(12)}
    assert np.all((result.skills >= 0) & (result.skills <= 1))


def test_glad_is_refused_above_its_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregation, "GLAD_MAX_ANSWERS", 10)
    with pytest.raises(AggregationError, match="GLAD is limited to 10 answers"):
        aggregate(reliable_table(6), labels=["a", "b"], method="glad")


# ---------------------------------------------------------------------------- warm start


def noisy_crowd(n_items: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    accuracy = rng.uniform(0.55, 0.95, size=30)
    truth = rng.integers(3, size=n_items)
    task = np.repeat(np.arange(n_items), 5)
    worker = rng.integers(30, size=len(task))
    right = rng.random(len(task)) < accuracy[worker]
    label = np.where(right, truth[task], (truth[task] + rng.integers(1, 3, len(task))) % 3)
    return pd.DataFrame({"task": task, "worker": worker, "label": label.astype(str)})


def test_a_warm_start_reaches_the_same_result_in_fewer_iterations() -> None:
    answers = noisy_crowd(1000, seed=4)
    before = answers.iloc[:-20]
    previous = aggregate(before, labels=["0", "1", "2"], smoothing=0.0, tol=1e-10)
    cold = aggregate(answers, labels=["0", "1", "2"], smoothing=0.0, tol=1e-10)
    warm = aggregate(
        answers,
        labels=["0", "1", "2"],
        smoothing=0.0,
        tol=1e-10,
        initial_error=previous.initial_error(),
    )
    assert warm.iterations < cold.iterations
    assert warm.consensus() == cold.consensus()
    np.testing.assert_allclose(warm.posteriors, cold.posteriors, atol=1e-3)


def test_crowdkit_style_initial_error_is_accepted_as_a_warm_start() -> None:
    answers = noisy_crowd(300, seed=4)
    cold = SparseDawidSkene(tol=1e-10).fit(answers)
    warm = SparseDawidSkene(tol=1e-10).fit(answers, initial_error=cold.errors_)
    assert len(warm.loss_history_) < len(cold.loss_history_)
    pd.testing.assert_series_equal(warm.labels_, cold.labels_)


def test_a_stored_matrix_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(AggregationError, match="label set changes"):
        aggregate(reliable_table(2), labels=["a", "b"], initial_error={"r1": [[1.0]]})


def test_the_log_likelihood_never_falls_without_smoothing() -> None:
    model = SparseDawidSkene(n_iter=50, tol=-np.inf).fit(noisy_crowd(300, seed=5))
    assert np.all(np.diff(model.loss_history_) > -1e-9)


# ---------------------------------------------------------------------------- dynamic overlap


@pytest.mark.parametrize(
    ("n_answers", "posterior", "expected"),
    [
        (0, 1.0, "need_more"),
        (2, 0.999, "need_more"),  # below min_overlap, however sure
        (3, 0.95, "done"),  # target reached exactly
        (3, 0.9499, "need_more"),
        (4, 0.5, "need_more"),
        (5, 0.9499, "needs_review"),  # at max and unsure
        (5, 0.95, "done"),
        (6, 0.2, "needs_review"),
    ],
)
def test_overlap_decision_boundaries(n_answers: int, posterior: float, expected: str) -> None:
    decision = overlap_decision(
        n_answers, posterior, min_overlap=3, max_overlap=5, target_posterior=0.95
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("min_overlap", "max_overlap", "target"), [(0, 3, 0.9), (4, 3, 0.9), (1, 3, 0.0), (1, 3, 1.5)]
)
def test_overlap_decision_refuses_bad_settings(
    min_overlap: int, max_overlap: int, target: float
) -> None:
    with pytest.raises(ValueError):
        overlap_decision(
            1, 0.5, min_overlap=min_overlap, max_overlap=max_overlap, target_posterior=target
        )


# ---------------------------------------------------------------------------- real data


@pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"no shared data at {DATA_DIR} (HITLCROWD_SHARED_DATA)"
)
@pytest.mark.parametrize("name", DATASETS)
def test_unsmoothed_path_equals_crowdkit_dawid_skene(name: str) -> None:
    from crowdkit.aggregation import DawidSkene

    answers = pd.read_csv(DATA_DIR / name / "answers.csv", dtype=str)
    expected = DawidSkene(n_iter=100, tol=-np.inf).fit(answers).probas_.sort_index()
    ours = SparseDawidSkene(n_iter=100, tol=-np.inf).fit(answers).probas_
    ours = ours.loc[expected.index, list(expected.columns)]
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-6)

    public = aggregate(
        answers, labels=list(expected.columns), smoothing=0.0, max_iter=100, tol=-np.inf
    )
    rows = pd.Index(public.item_ids).get_indexer(expected.index)
    np.testing.assert_allclose(public.posteriors[rows], expected.to_numpy(), atol=1e-6)
    top_two = np.sort(expected.to_numpy(), axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-9  # exact ties may go either way
    ck_labels = expected.idxmax(axis=1).to_numpy()
    our_labels = np.asarray(public.labels)[public.label_codes[rows]]
    assert (our_labels[clear] == ck_labels[clear]).all()
