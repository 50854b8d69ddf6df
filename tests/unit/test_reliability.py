"""The pure reliability functions: Beta intervals and the block rules (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from apps.workers.reliability import (
    SPAM_MIN_EVIDENCE,
    BlockRules,
    beta_interval,
    block_reason,
    chance_corrected_accuracy,
    check_schedule,
    checkpoint_size,
    early_checkpoint,
    first_answers,
    gold_bar,
    gold_share_for,
    known_share,
    skill_interval,
    soft_confusion_counts,
    spam_scores,
    truth_without,
)


def test_no_evidence_gives_the_whole_unit_interval_around_a_half():
    interval = beta_interval(0, 0)
    assert interval.mean == 0.5
    assert interval.low == pytest.approx(0.025) and interval.high == pytest.approx(0.975)


def test_more_evidence_narrows_the_interval():
    few, many = beta_interval(8, 2), beta_interval(80, 20)
    assert many.high - many.low < few.high - few.low
    assert many.low < 0.8 < many.high


def test_the_model_skill_counts_as_soft_successes_beside_gold():
    only_gold = skill_interval(gold_correct=9, gold_answers=10, model_skill=None, other_answers=0)
    with_model = skill_interval(gold_correct=9, gold_answers=10, model_skill=0.5, other_answers=90)
    assert only_gold.mean > 0.8
    assert with_model.mean == pytest.approx((1 + 9 + 45) / (2 + 100))


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        beta_interval(-1, 2)
    with pytest.raises(ValueError):
        skill_interval(gold_correct=3, gold_answers=2, model_skill=None, other_answers=0)


RULES = BlockRules(
    below_spam_score=0, below_skill=0.6, min_answers=20, gold_accuracy=0.7, min_gold=5
)


def test_a_worker_is_blocked_when_the_skill_upper_bound_is_below_the_bar():
    reason = block_reason(rules=RULES, answers=30, skill_high=0.5, gold_answers=0, gold_correct=0)
    assert reason is not None and "Skill too low" in reason


def test_no_block_before_the_minimum_answers_or_when_the_bound_reaches_the_bar():
    assert (
        block_reason(rules=RULES, answers=10, skill_high=0.1, gold_answers=0, gold_correct=0)
        is None
    )
    assert (
        block_reason(rules=RULES, answers=99, skill_high=0.61, gold_answers=0, gold_correct=0)
        is None
    )


def test_failing_gold_blocks_once_enough_gold_was_answered():
    assert (
        block_reason(rules=RULES, answers=5, skill_high=1, gold_answers=4, gold_correct=0) is None
    )
    reason = block_reason(rules=RULES, answers=5, skill_high=1, gold_answers=5, gold_correct=0)
    assert reason is not None and "Failed gold: 0 of 5" in reason
    assert "at most 46%" in reason  # Beta(1, 6)'s 97.5% quantile: the bound, not 0%


def test_the_gold_rule_blocks_on_the_upper_bound_not_the_point_estimate():
    # Issue 13: a 0.865-accurate worker and a 0.57 one were blocked on 2 of 5 gold (40%).
    # Beta(3, 4)'s upper bound is 0.82: such a worker may well be above the bar.
    assert (
        block_reason(rules=RULES, answers=5, skill_high=1, gold_answers=5, gold_correct=2) is None
    )
    assert beta_interval(2, 3).high > RULES.gold_accuracy
    # With evidence, the same 40% blocks: 8 of 20 has an upper bound of 0.62.
    assert block_reason(rules=RULES, answers=20, skill_high=1, gold_answers=20, gold_correct=8)


def test_rules_at_zero_are_off():
    off = BlockRules(below_spam_score=0, below_skill=0, min_answers=0, gold_accuracy=0, min_gold=0)
    assert (
        block_reason(
            rules=off, answers=100, skill_high=0, gold_answers=9, gold_correct=0, spam_high=0
        )
        is None
    )


SPAM_RULES = BlockRules(
    below_spam_score=0.5, below_skill=0, min_answers=20, gold_accuracy=0, min_gold=5
)


def test_the_spam_rule_blocks_when_the_scores_upper_bound_is_below_the_bar():
    reason = block_reason(
        rules=SPAM_RULES, answers=20, skill_high=1, gold_answers=0, gold_correct=0, spam_high=0.3
    )
    assert reason is not None and "too little information" in reason and "0.30" in reason
    for answers, high in ((19, 0.3), (20, 0.5), (20, None), (20, float("nan"))):
        assert (
            block_reason(
                rules=SPAM_RULES,
                answers=answers,
                skill_high=1,
                gold_answers=0,
                gold_correct=0,
                spam_high=high,
            )
            is None
        )


def test_the_vector_form_matches_one_worker_at_a_time():
    import numpy as np

    from apps.workers.reliability import skill_intervals

    mean, low, high = skill_intervals(
        np.array([9.0, 0.0]), np.array([10.0, 0.0]), np.array([0.5, np.nan]), np.array([90.0, 5])
    )
    one = skill_interval(gold_correct=9, gold_answers=10, model_skill=0.5, other_answers=90)
    none = skill_interval(gold_correct=0, gold_answers=0, model_skill=None, other_answers=5)
    assert (mean[0], low[0], high[0]) == pytest.approx((one.mean, one.low, one.high))
    assert (mean[1], low[1], high[1]) == pytest.approx((none.mean, none.low, none.high))


def test_a_block_check_covers_the_test_and_whole_windows_after_it():
    sizes = [checkpoint_size(n, every=10, skip=5) for n in (0, 5, 14, 15, 24, 25, 37)]
    assert sizes == [0, 0, 0, 15, 15, 25, 35]
    assert [checkpoint_size(n, every=10, skip=0) for n in (9, 10, 19, 20)] == [0, 10, 10, 20]


def test_the_early_check_comes_lead_answers_before_the_second_window_and_only_there():
    counts = (9, 10, 15, 16, 19, 20, 25, 26, 30)
    sizes = [checkpoint_size(n, every=10, skip=0, lead=4) for n in counts]
    assert sizes == [0, 10, 10, 16, 16, 20, 20, 20, 30]
    assert checkpoint_size(20, every=10, skip=5, lead=4) == 5 + 10  # after the test's answers
    assert checkpoint_size(21, every=10, skip=5, lead=4) == 5 + 16
    assert early_checkpoint(every=10, lead=4) == 16
    # Not before the first window, nor a repeat of it: the plain windows then.
    assert early_checkpoint(every=3, lead=4) is None and early_checkpoint(every=10, lead=0) is None
    assert [checkpoint_size(n, every=3, skip=0, lead=4) for n in (2, 3, 5, 6)] == [0, 3, 3, 6]


def test_the_check_schedule_reads_as_words():
    assert check_schedule(every=10, lead=4) == "after 10 and 16 answers, then every 10"
    assert check_schedule(every=10, lead=0) == "every 10 answers"


def test_first_answers_picks_each_workers_oldest_answers_whatever_the_row_order():
    worker = np.array([1, 0, 1, 0, 1, 0])
    answer_id = np.array([60, 50, 10, 20, 30, 5])
    mask = first_answers(worker, answer_id, np.array([2, 1]))
    assert mask.tolist() == [False, False, True, True, False, True]  # 2 of worker 0, 1 of 1
    assert first_answers(np.array([], dtype=int), np.array([]), np.array([])).tolist() == []


def test_gold_comes_at_the_projects_share_until_the_workers_gold_clears_the_bar():
    def share(answers: int, correct: int) -> float:
        return gold_share_for(
            share=0.2, gold_answers=answers, gold_correct=correct, bar=0.6, trusted_fraction=0.25
        )

    assert share(0, 0) == 0.2
    assert share(5, 5) == 0.2  # 5 of 5: the interval still reaches below 0.6
    assert share(10, 10) == pytest.approx(0.05)
    assert share(20, 10) == 0.2  # decisively bad: blocked at the next checkpoint, not trusted


def test_a_trusted_worker_who_turns_bad_gets_the_full_share_again():
    trusted = {"share": 0.1, "bar": 0.6, "trusted_fraction": 0.25}
    assert gold_share_for(gold_answers=15, gold_correct=15, **trusted) < 0.1
    # Ten wrong gold answers later the lower bound is back under the bar.
    assert gold_share_for(gold_answers=25, gold_correct=15, **trusted) == 0.1


def test_the_gold_bar_is_the_strictest_rule_and_at_least_chance():
    assert gold_bar(gold_accuracy=0.6, below_skill=0.0, labels=2) == 0.6
    assert gold_bar(gold_accuracy=0.6, below_skill=0.7, labels=10) == 0.7
    assert gold_bar(gold_accuracy=0.0, below_skill=0.0, labels=2) == 0.5


# --- Spam score -------------------------------------------------------------------------------


def answers_of(kind, *, classes: int, n: int, rng: np.random.Generator, prior=None):
    """A worker's answers against known truth: (true codes, given codes)."""
    prior = np.full(classes, 1 / classes) if prior is None else np.asarray(prior)
    truth = rng.choice(classes, size=n, p=prior)
    if kind == "random":
        given = rng.integers(classes, size=n)
    elif kind == "constant":
        given = np.full(n, int(np.argmax(prior)))
    elif kind == "skewed":  # any answer mix that ignores the item: 70% the first class
        given = np.where(rng.random(n) < 0.7, 0, rng.integers(classes, size=n))
    else:  # accuracy `kind`, errors spread over the other classes
        right = rng.random(n) < kind
        given = np.where(right, truth, (truth + rng.integers(1, classes, size=n)) % classes)
    return truth, given


def counts_of(kind, *, classes: int, n: int, seed: int = 0, prior=None) -> np.ndarray:
    truth, given = answers_of(
        kind, classes=classes, n=n, rng=np.random.default_rng(seed), prior=prior
    )
    one_hot = np.eye(classes)[truth]
    return soft_confusion_counts(np.zeros(n, dtype=int), given, one_hot, n_workers=1)[0]


def flat(classes: int) -> np.ndarray:
    return np.full(classes, 1 / classes)


def kappa_of_accuracy(accuracy: float, classes: int) -> float:
    """A symmetric worker on balanced classes: chance is 1 / classes."""
    return (accuracy - 1 / classes) / (1 - 1 / classes)


@pytest.mark.parametrize("classes", [2, 10])
@pytest.mark.parametrize("kind", ["random", "constant", "skewed"])
def test_a_worker_whose_answers_ignore_the_truth_scores_about_zero(kind, classes):
    score, low, high = spam_scores(
        counts_of(kind, classes=classes, n=2000)[None], priors=flat(classes)
    )
    assert abs(score[0]) < 0.05
    assert low[0] <= 0.0 + 0.02 and high[0] < 0.1


@pytest.mark.parametrize("classes", [2, 10])
def test_a_constant_worker_on_a_majority_class_scores_zero_though_its_accuracy_is_the_share(
    classes,
):
    prior = np.full(classes, 0.37 / (classes - 1))
    prior[0] = 0.63
    counts = counts_of("constant", classes=classes, n=500, prior=prior)
    accuracy = np.trace(counts) / counts.sum()
    assert accuracy == pytest.approx(0.63, abs=0.05)  # what skill saw (issue 13)
    score, _, high = spam_scores(counts[None], priors=prior)
    assert abs(score[0]) < 0.02 and high[0] < 0.05


@pytest.mark.parametrize("classes", [2, 10])
@pytest.mark.parametrize("accuracy", [1.0, 0.9, 0.8, 0.57])
def test_an_informative_worker_scores_its_accuracy_above_chance(accuracy, classes):
    score, low, high = spam_scores(
        counts_of(accuracy, classes=classes, n=2000)[None], priors=flat(classes)
    )
    expected = kappa_of_accuracy(accuracy, classes)
    assert score[0] == pytest.approx(expected, abs=0.05)
    assert low[0] - 0.01 <= expected <= high[0] + 0.01


def upper_bounds(kind, *, classes: int, n: int) -> np.ndarray:
    counts = np.stack([counts_of(kind, classes=classes, n=n, seed=seed) for seed in range(200)])
    return spam_scores(counts, priors=flat(classes))[2]


@pytest.mark.parametrize("classes", [2, 10])
@pytest.mark.parametrize("accuracy", [0.8, 0.95])
def test_a_reliable_workers_upper_bound_is_seldom_low_even_with_ten_answers(accuracy, classes):
    # What a block rule could get wrong: the bound under a bar of 0.5 (kappa 0.6 to 0.94).
    assert (upper_bounds(accuracy, classes=classes, n=10) < 0.5).mean() <= 0.03


@pytest.mark.parametrize("kind", ["random", "constant"])
def test_a_spammers_upper_bound_falls_under_a_half_within_twenty_answers_on_ten_classes(kind):
    assert (upper_bounds(kind, classes=10, n=20) < 0.5).mean() >= 0.95


@pytest.mark.parametrize("classes", [2, 10])
@pytest.mark.parametrize("kind", ["random", "constant", 0.57, 0.8])
def test_the_interval_holds_the_true_score_for_most_workers_with_fifty_answers(kind, classes):
    truth_score = 0.0 if isinstance(kind, str) else kappa_of_accuracy(kind, classes)
    counts = np.stack([counts_of(kind, classes=classes, n=50, seed=seed) for seed in range(200)])
    _, low, high = spam_scores(counts, priors=flat(classes))
    inside = (low <= truth_score + 1e-9) & (truth_score - 1e-9 <= high)
    assert inside.mean() >= 0.8  # nominal 0.95 (docs/benchmarks-blocking.md)


def test_more_answers_narrow_the_interval():
    _, low_few, high_few = spam_scores(counts_of(0.9, classes=2, n=10)[None], priors=flat(2))
    _, low_many, high_many = spam_scores(counts_of(0.9, classes=2, n=1000)[None], priors=flat(2))
    assert high_many[0] - low_many[0] < (high_few[0] - low_few[0]) / 2


def test_a_workers_interval_depends_on_their_counts_alone():
    alone = spam_scores(counts_of(0.8, classes=10, n=30)[None], priors=flat(10))
    among = spam_scores(
        np.stack([counts_of("random", classes=10, n=40), counts_of(0.8, classes=10, n=30)]),
        priors=flat(10),
    )
    assert [values[0] for values in alone] == pytest.approx([values[1] for values in among])


def test_a_worker_without_answers_has_no_score_and_rows_limit_the_intervals():
    counts = np.stack([np.zeros((2, 2)), counts_of(0.9, classes=2, n=50)])
    score, low, high = spam_scores(counts, priors=flat(2), rows=[])
    assert np.isnan(score[0]) and not np.isnan(score[1])
    assert np.isnan(low).all() and np.isnan(high).all()


def test_on_items_of_one_class_a_worker_cannot_be_told_from_a_spammer_and_is_not_called_one():
    # 30 dog items, "dog" 21 times and "cat" 9: a 0.7 worker or a 70/30 coin, nobody knows
    counts = np.zeros((1, 3, 3))
    counts[0, 1, 1], counts[0, 1, 0] = 21, 9
    _, low, high = spam_scores(counts, priors=flat(3))
    assert low[0] < 0.1 and high[0] > 0.6


def test_chance_corrected_accuracy_of_a_known_table():
    # accuracy 0.6, P(true = 0) = P(given = 0) = 0.7: chance 0.58, (0.6 - 0.58) / 0.42
    table = np.array([[5.0, 2.0], [2.0, 1.0]])
    assert chance_corrected_accuracy(table) == pytest.approx(0.02 / 0.42)
    assert chance_corrected_accuracy(np.array([[4.0, 0.0], [0.0, 0.0]])) == 0.0
    assert np.isnan(chance_corrected_accuracy(np.zeros((2, 2))))


def test_an_answers_truth_comes_from_the_other_answers_on_its_item():
    perfect = np.array([[0.99, 0.01], [0.01, 0.99]])
    confusions = np.stack([perfect, perfect, perfect])
    truth = truth_without(
        item_row=np.array([0, 0, 0, 1, 1, 2]),
        worker_row=np.array([0, 1, 2, 0, 1, 0]),
        given=np.array([1, 0, 0, 1, 0, 1]),
        confusions=confusions,
        priors=np.array([0.5, 0.5]),
        known=np.array([-1, -1, 0]),
    )
    # item 0: each answer's truth is the two other workers' labels, never its own
    assert truth[0, 0] == pytest.approx(1.0, abs=1e-3) and truth[1, 1] == pytest.approx(0.5)
    # item 1 has one other answer each: which of the two is right is not known
    assert truth[3].tolist() == truth[4].tolist() == [0.5, 0.5]
    assert truth[5].tolist() == [1.0, 0.0]  # item 2 is gold, answered by one worker only
    assert known_share(truth).tolist() == pytest.approx([1, 0, 0, 0, 0, 1], abs=0.01)


@pytest.mark.parametrize("classes", [2, 10])
def test_a_perfect_worker_with_one_answer_of_evidence_looks_like_a_spammer_so_none_is_judged(
    classes,
):
    # Why the spam rule waits for SPAM_MIN_EVIDENCE: with one answer the prior decides.
    one = counts_of(1.0, classes=classes, n=1)
    if classes == 10:
        assert spam_scores(one[None], priors=flat(classes))[2][0] < 0.5
    assert one.sum() < SPAM_MIN_EVIDENCE


@pytest.mark.parametrize("classes", [2, 10])
def test_from_the_minimum_evidence_a_reliable_workers_bound_clears_the_default_bar(classes):
    n = int(SPAM_MIN_EVIDENCE)
    counts = np.stack([counts_of(0.95, classes=classes, n=n, seed=s) for s in range(200)])
    assert (spam_scores(counts, priors=flat(classes))[2] < 0.5).mean() <= 0.03
