"""Worker reliability from numbers, plain Python (no Django): Beta intervals, the spam score
and block rules.

Services collect per worker their gold answers, the consensus model's skill and the evidence
counts behind the spam score, and store what these functions return. The block rules' defaults
(apps/tasks/models/projects.py) were chosen with bench/blocking.py (docs/benchmarks-blocking.md).

What a worker may learn from it (issue 12): these figures move with every gold answer (a Beta
interval's two parameters give the gold answers and the correct ones exactly), so they are
for requesters and admins only; a worker's own view shows nothing that depends on whether an
answer was right (apps/workers/api/reliability.py). The one verdict a worker does see, an
automatic block, is decided only at checkpoints: when the worker's answers on the project,
after its qualification test, reach a multiple of BLOCK_CHECK_EVERY or the one check
BLOCK_CHECK_LEAD answers before the second multiple (`checkpoint_size`), and
on exactly those first answers (`first_answers`), so the block is the same whichever run of
the coalesced aggregation sees it first, and it tells which window of answers tipped it,
never which answer. The price: a worker the rules would catch gives up to
BLOCK_CHECK_EVERY - 1 more answers first (they leave the consensus with the block).

The gold check: the spam score and skill rules judge a worker against the consensus of the
others, which is wrong now and then, and a reliable worker checked at 10, 16, 26, ... answers
met one unlucky window about once a simulator run (issue 13). So a first failure of those rules
does not block: the worker is served gold only (answers whose truth is known, which never
enter the consensus) until GOLD_CHECK_ANSWERS more of their answers are on gold; a check then
(not at the next checkpoint, up to 10 answers later) judges all their answers, that gold
included, and blocks if a rule still fails. A spammer's real answers stop at the first
failing check as before; the block comes five gold answers later (15-18 answers in all in
the CI simulator, tests/live/test_simulate.py). The gold rule blocks at once: it is direct
proof. Without gold left for the worker, the recheck below takes the gold check's place.

The recheck: without gold left for the worker (a project without gold, MTurk HITs among them),
a first failure of the spam rule blocks at once only when it is clear (the upper bound below
SPAM_CLEAR_SHARE of the bar); otherwise the first check at least BLOCK_CHECK_EVERY answers
later decides (10 -> 20, 16 -> 30), on windows that differ by ten answers, and blocks only if a
rule fails there too (WorkerStats.recheck_at; services._recheck_step). Against the consensus
of 2 other answers from 60-78% workers (the dog data set, 4 breeds) the evidence is noisy:
errors on hard images are shared, and Dawid-Skene on a young project's few answers swaps
labels now and then. bench/recheck.py replays that crowd offline (docs/benchmarks-blocking.md,
"The recheck"): at 240 images, blocking at the first failure blocked 23 real workers 69-88%
right in the window checked over 60 replays, the recheck 5; every spammer was blocked either
way, ten answers later with the recheck (median 50). At the first failure about half the
spammers were under 0.25 (clear) and few real workers 69% right or better were (at 80
images none of 10, at 100 images 3 of 25, as low as 0.05): the clear tier can still block a
good worker, and the recheck catches the other spammers. The skill rule (off by default)
blocks at its first failure as before.

A worker the rules pass at their first check (10 answers) with a spam score below SPAM_DOUBT
starts a gold check too: on 4 labels a random worker passes that check about one time in six
by luck, and its next failure (at 16) plus a gold check came only after 23-27 answers live.
Passed with doubt, the same worker is judged after 15 answers and five gold. Offline
(bench/blocking.py's crowd, 4 labels, 12 seeds) every random worker who passed the first check
scored below 0.4 there, against 3% of reliable workers (none of those at 0.8 accuracy; on
2 labels 14-21%): their doubt costs five gold answers, and the check clears them. Once a
check's gold answers are in, the claim serves the worker nothing until the verdict
(tasks selectors.gold_check_answered), so answers given while the run is on its way do not
push a spammer's block past 20 (docs/benchmarks-blocking.md, "The gold check").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_distribution

INTERVAL = 0.95
# Gold answers a gold check waits for before its verdict: the check right after a failure
# shares most of its answers with the failed one (16 of 20) and passed a random worker.
GOLD_CHECK_ANSWERS = 5
# A worker passed at their first check with a spam score below this starts a gold check.
SPAM_DOUBT = 0.4
# Without gold, a spam score whose upper bound is below this share of the bar blocks at once;
# a failure nearer the bar waits for the recheck.
SPAM_CLEAR_SHARE = 0.5
PRIOR = 1.0  # Beta(1, 1): uniform before any answer


@dataclass(frozen=True, slots=True)
class SkillInterval:
    mean: float
    low: float
    high: float


def beta_interval(successes: float, failures: float, *, level: float = INTERVAL) -> SkillInterval:
    """Equal-tailed interval of Beta(1 + successes, 1 + failures)."""
    if successes < 0 or failures < 0 or math.isnan(successes) or math.isnan(failures):
        raise ValueError(f"need non-negative counts, got {successes}, {failures}")
    a, b = PRIOR + successes, PRIOR + failures
    tail = (1.0 - level) / 2.0
    low, high = beta_distribution.ppf([tail, 1.0 - tail], a, b)
    return SkillInterval(mean=a / (a + b), low=float(low), high=float(high))


def skill_interval(
    *, gold_correct: int, gold_answers: int, model_skill: float | None, other_answers: int
) -> SkillInterval:
    """Accuracy with its uncertainty: gold answers count as they are, the other answers count
    as `model_skill` (the consensus model's expected accuracy) of a success each."""
    if not 0 <= gold_correct <= gold_answers:
        raise ValueError(f"gold_correct {gold_correct} outside 0..{gold_answers}")
    successes, failures = float(gold_correct), float(gold_answers - gold_correct)
    if model_skill is not None and other_answers > 0:
        skill = min(max(model_skill, 0.0), 1.0)
        successes += skill * other_answers
        failures += (1.0 - skill) * other_answers
    return beta_interval(successes, failures)


@dataclass(frozen=True, slots=True)
class BlockRules:
    below_spam_score: float  # 0: off
    below_skill: float  # 0: off
    min_answers: int
    gold_accuracy: float  # 0: off
    min_gold: int


def block_reason(
    *,
    rules: BlockRules,
    answers: int,
    skill_high: float | None,
    gold_answers: int,
    gold_correct: int,
    spam_high: float | None = None,
) -> str | None:
    """Why this worker should be blocked, or None. Every rule blocks on the upper bound of a
    95% interval, never on a point estimate: 2 of 5 gold right is what a 0.8-accurate worker
    gives one time in twenty (issue 13). Gold is checked first: it is direct proof."""
    return gold_block_reason(
        rules=rules, gold_answers=gold_answers, gold_correct=gold_correct
    ) or answers_block_reason(
        rules=rules, answers=answers, skill_high=skill_high, spam_high=spam_high
    )


def gold_block_reason(*, rules: BlockRules, gold_answers: int, gold_correct: int) -> str | None:
    """The gold rule: direct proof, so it blocks at once."""
    if rules.gold_accuracy > 0 and gold_answers >= max(rules.min_gold, 1):
        high = beta_interval(gold_correct, gold_answers - gold_correct).high
        if high < rules.gold_accuracy:
            return (
                f"Failed gold: {gold_correct} of {gold_answers} correct, accuracy at most "
                f"{high:.0%} (95% interval), below the project's {rules.gold_accuracy:.0%}."
            )
    return None


def answers_block_reason(
    *, rules: BlockRules, answers: int, skill_high: float | None, spam_high: float | None
) -> str | None:
    """The spam score and skill rules. Their evidence is the consensus of other workers,
    which can be wrong: a first failure puts the worker on a gold check when gold is left for
    them (apps/workers/services.py, `_block_by_rules`), and a check after five gold answers
    decides."""
    if answers < rules.min_answers:
        return None
    spam = rules.below_spam_score > 0 and spam_high is not None and not math.isnan(spam_high)
    if spam and spam_high < rules.below_spam_score:
        return (
            f"Answers carry too little information: spam score at most {spam_high:.2f} "
            f"(95% interval) after {answers} answers, below the project's bar of "
            f"{rules.below_spam_score:.2f} (0 = random or constant answers)."
        )
    if rules.below_skill > 0 and skill_high is not None and skill_high < rules.below_skill:
        return (
            f"Skill too low: at most {skill_high:.2f} (95% interval) after {answers} "
            f"answers, below the project's bar of {rules.below_skill:.2f}."
        )
    return None


# Gold a worker is served (apps/tasks/services/assignments/gold.py, gold_plan): the project's
# gold_share until the worker's gold clears the bar (the lower end of its 95% interval above
# it), then this fraction of it, enough to notice a worker who turns bad. Chosen with
# bench/gold.py (docs/benchmarks-gold.md).
TRUSTED_GOLD_FRACTION = 0.25


def gold_bar(*, gold_accuracy: float, below_skill: float, labels: int) -> float:
    """The accuracy a worker's gold has to clear before it is served less of it: the
    project's gold and skill bars (0 when off), and at least chance (1 / labels)."""
    return max(gold_accuracy, below_skill, 1.0 / max(labels, 1))


def gold_share_for(
    *,
    share: float,
    gold_answers: int,
    gold_correct: int,
    bar: float,
    trusted_fraction: float = TRUSTED_GOLD_FRACTION,
) -> float:
    """The share of a worker's claims that try gold: `share` until the worker's gold says it
    clears `bar` with 95% confidence, then `trusted_fraction` of it. A worker who turns bad
    falls back below the bar and gets the full share again."""
    if gold_answers <= 0:
        return share
    low = beta_interval(gold_correct, gold_answers - gold_correct).low
    return share * trusted_fraction if low > bar else share


def checkpoint_size(answers: int, *, every: int, skip: int, lead: int = 0) -> int:
    """How many of a worker's first answers their latest block check covers: the `skip`
    qualification-test answers and whole windows of `every` after them, or the
    `early_checkpoint` before the second window; 0 before the first window is complete (no
    check during the test)."""
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    after = max(answers - skip, 0)
    size = after // every * every
    early = early_checkpoint(every=every, lead=lead)
    if early is not None and size < early <= after:
        size = early
    return skip + size if size else 0


def early_checkpoint(*, every: int, lead: int) -> int | None:
    """The check `lead` answers before the second window's end (16 for 10 and 4), None when
    it would not come after the first: a block decided there lands before the worker's
    2 x `every`-th answer although the worker goes on answering while the job decides."""
    size = 2 * every - lead
    return size if lead > 0 and every < size else None


def check_schedule(*, every: int, lead: int) -> str:
    """The checkpoints in words, for requesters and blocked workers."""
    early = early_checkpoint(every=every, lead=lead)
    if early is None:
        return f"every {every} answers"
    return f"after {every} and {early} answers, then every {every}"


def first_answers(worker: np.ndarray, order: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mask of the answers that are among their worker's first `sizes[worker]` by `order`.

    `worker` holds each answer's worker index (0..len(sizes)-1), `order` any key that sorts a
    worker's answers oldest first (answer ids)."""
    if not len(worker):
        return np.zeros(0, dtype=bool)
    by_worker = np.lexsort((order, worker))
    grouped = worker[by_worker]
    rank_sorted = np.arange(len(grouped)) - np.searchsorted(grouped, grouped, side="left")
    rank = np.empty(len(grouped), dtype=np.int64)
    rank[by_worker] = rank_sorted
    return rank < np.asarray(sizes)[worker]


def skill_intervals(
    gold_correct: np.ndarray,
    gold_answers: np.ndarray,
    model_skill: np.ndarray,
    other_answers: np.ndarray,
    *,
    level: float = INTERVAL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`skill_interval` for many workers at once (mean, low, high); NaN skill = no model."""
    skill = np.clip(np.nan_to_num(model_skill, nan=0.0), 0.0, 1.0)
    soft = np.where(np.isnan(model_skill), 0.0, other_answers)
    a = PRIOR + gold_correct + skill * soft
    b = PRIOR + (gold_answers - gold_correct) + (1.0 - skill) * soft
    tail = (1.0 - level) / 2.0
    return a / (a + b), beta_distribution.ppf(tail, a, b), beta_distribution.ppf(1 - tail, a, b)


# --- Spam score ----------------------------------------------------------------------------
#
# A worker's answers are worth paying for only if they tell something about the truth. The
# spam score is the worker's chance-corrected accuracy (Cohen's kappa between their answers and
# the truth, on balanced classes): accuracy minus what their OWN answer distribution would get
# by chance, over one minus that. It is 0 for any worker whose answers are independent of the truth
# (uniform random, always the same class, any fixed mix), 1 for a perfect one, negative for
# one who is worse than chance. Skill (expected accuracy) cannot tell these apart: a worker who
# always gives a class with a 63% share has skill 0.63 (issue 13).
#
# The counts are soft: each answer adds its item's posterior over the true classes (one-hot on
# gold) to the worker's column of the given label, the posterior computed from the item's
# other answers (`truth_without`), or a spammer would agree with "truth" it made.
# Not the model's confusion matrix: that one is shrunk toward a one-coin matrix for workers
# with few answers (aggregation.DEFAULT_SMOOTHING), which gives a constant worker the look of
# an honest one exactly when the block should be decided.
#
# The interval: each row of the worker's confusion matrix is drawn from Dirichlet(counts +
# prior), the score computed per draw under balanced classes; the equal-tailed 95%.
# Fairly honest with few answers (tests/unit/test_reliability.py measures it at 10 answers),
# and it sees structure a Beta interval on accuracy misses: ten "A"s on items of which four
# were B rule a worker out however lucky the six were.

SPAM_PRIOR = 1.0  # pseudo-answers in all, one share per true class, spread as `_one_coin`
SPAM_DRAWS = 200
# An item's truth counts as evidence about a worker only from two other answers up (or a known
# label): with one, Dawid-Skene cannot tell which of the two workers is the random one, and a
# reliable worker whose first items were shared with a spammer looked like one.
MIN_OTHER_ANSWERS = 2
SPAM_SEED = 20261202  # fixed: the same counts always give the same interval
# The spam rule judges a worker only once this much evidence (answers on items whose truth is
# known from gold or two other answers; soft counts) backs the score. With less, the prior
# dominates the Dirichlet draws, and near-empty rows are as likely off the diagonal as on it:
# a perfect worker with 1 such answer scored at most 0.45 on 10 classes, under the default bar
# of 0.5, and the live simulator saw 3 of 6 reliable workers blocked at their 10th answer on
# 1-3 answers of evidence. From 4 answers, 0 of 200 perfect or one-wrong workers fall under
# 0.5 on 2 or 10 classes, while constant ones do (tests/unit/test_reliability.py).
SPAM_MIN_EVIDENCE = 4.0


def soft_confusion_counts(
    worker: np.ndarray, given: np.ndarray, truth: np.ndarray, *, n_workers: int
) -> np.ndarray:
    """(n_workers, true, given) counts: each answer adds its item's truth distribution
    (`truth`, (answers, classes): `truth_without`, one-hot where the label is known) to the
    worker's column of the label it gave (`given`, label codes), weighted by `known_share`."""
    truth = np.asarray(truth, dtype=float)
    k = truth.shape[1] if truth.ndim == 2 else 0
    counts = np.zeros((n_workers, k, k))
    if not len(worker):
        return counts
    weighted = truth * known_share(truth)[:, None]
    cell = np.asarray(worker) * k + np.asarray(given)  # (worker, given) pairs
    for true_class in range(k):
        summed = np.bincount(cell, weights=weighted[:, true_class], minlength=n_workers * k)
        counts[:, true_class, :] = summed.reshape(n_workers, k)
    return counts


def chance_corrected_accuracy(joint: np.ndarray) -> np.ndarray:
    """Cohen's kappa of (..., true, given) counts or probabilities: (accuracy - chance) /
    (1 - chance), chance = sum over classes of P(true = c) * P(given = c). NaN without counts;
    0 when chance is 1 (truth and answers all one class: nothing to tell apart)."""
    joint = np.asarray(joint, dtype=float)
    total = joint.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = joint / total[..., None, None]
        accuracy = np.trace(shares, axis1=-2, axis2=-1)
        chance = (shares.sum(axis=-1) * shares.sum(axis=-2)).sum(axis=-1)
        score = np.where(chance < 1 - 1e-12, (accuracy - chance) / (1 - chance), 0.0)
    return np.where(total > 0, score, np.nan)


def spam_scores(
    counts: np.ndarray,
    *,
    priors: np.ndarray | None = None,
    rows: list[int] | None = None,
    level: float = INTERVAL,
    draws: int = SPAM_DRAWS,
    chunk: int = 32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per worker (the first axis of (workers, true, given) `counts`): the spam score and its
    `level` interval (score, low, high); NaN for a worker without counts, and for the interval
    of a worker not in `rows` (None: every worker).

    Each row of the worker's confusion matrix is drawn from Dirichlet(counts + prior), and the
    score computed under class `priors` (`kappa_under_prior`; None: balanced classes), not the
    mix of classes the worker happened to see: on items of one class only, a worker who always
    answers it cannot be told from a perfect one, and the interval says so (wide) instead of
    calling them a spammer. The platform scores under balanced classes: a class prior
    estimated from a young project's items can be one class (gold of one label), under which
    every worker scores 0 with certainty; a random or constant worker scores 0 under any.

    Every worker's draws come from the same fixed normal and uniform variates
    (`_gamma_draws`), so a worker's interval depends on their counts alone, and moves little
    when they move little. Cost: ~0.1 ms per worker on 2 classes, ~1 ms on 10."""
    counts = np.asarray(counts, dtype=float)
    n_workers, k = counts.shape[0], counts.shape[-1]
    priors = np.full(k, 1.0) if priors is None else np.clip(np.asarray(priors, float), 0, None)
    priors = priors / priors.sum() if priors.sum() > 0 else np.full(k, 1.0 / max(k, 1))
    alpha = counts + SPAM_PRIOR / max(k, 1) * _one_coin(counts)
    score = kappa_under_prior(alpha / alpha.sum(axis=-1, keepdims=True), priors)
    low, high = np.full(n_workers, np.nan), np.full(n_workers, np.nan)
    has = np.flatnonzero(counts.sum(axis=(1, 2)) > 0)
    if rows is not None:
        has = np.intersect1d(has, np.asarray(rows, dtype=np.int64))
    normal, log_uniform = _variates(draws, k)
    tail = (1.0 - level) / 2.0
    for start in range(0, len(has), chunk):
        part = has[start : start + chunk]
        drawn = _gamma_draws(alpha[part], normal, log_uniform)
        sampled = kappa_under_prior(drawn / drawn.sum(axis=-1, keepdims=True), priors)
        low[part], high[part] = np.quantile(sampled, [tail, 1.0 - tail], axis=1)
    score[counts.sum(axis=(1, 2)) <= 0] = np.nan
    return score, low, high


def _one_coin(counts: np.ndarray) -> np.ndarray:
    """Per worker a (true, given) matrix with their own pooled accuracy on the diagonal and
    the rest spread evenly: the prior of each row, so that a class the worker has not seen yet
    counts as answered as well as the others, neither as perfectly nor as randomly."""
    k = counts.shape[-1]
    answered = counts.sum(axis=(1, 2))
    accuracy = (np.trace(counts, axis1=1, axis2=2) + 1.0) / (answered + k)
    off = (1.0 - accuracy) / max(k - 1, 1)
    matrix = np.broadcast_to(off[:, None, None], counts.shape).copy()
    matrix[:, np.arange(k), np.arange(k)] = accuracy[:, None]
    return matrix


def kappa_under_prior(confusion: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """Chance-corrected accuracy of (..., true, given) row-stochastic confusion matrices on
    items drawn from `priors`: (accuracy - chance) / (1 - chance), chance being what the
    worker's own answer distribution (priors @ confusion) gets right by luck; 0 when chance is
    1 (one class only: nothing to tell apart)."""
    accuracy = (np.diagonal(confusion, axis1=-2, axis2=-1) * priors).sum(axis=-1)
    answers = np.einsum("t,...tg->...g", priors, confusion)
    chance = (answers * priors).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1 - 1e-12, (accuracy - chance) / (1 - chance), 0.0)


@functools.lru_cache(maxsize=8)
def _variates(draws: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SPAM_SEED)
    return rng.standard_normal((draws, k, k)), np.log(rng.random((draws, k, k)))


def _gamma_draws(shape: np.ndarray, normal: np.ndarray, log_uniform: np.ndarray) -> np.ndarray:
    """(workers, draws, ...) Gamma(shape) variates from fixed standard normal and uniform
    ones: Gamma(a + 1) by the Wilson-Hilferty cube, times U ** (1 / a) (Marsaglia-Tsang's
    boost for small shapes). Close to exact for the quantiles used here, a smooth function of
    the shape, and 10x faster than a generator per worker."""
    a = shape[:, None] + 1.0
    root = np.maximum(1.0 - 1.0 / (9.0 * a) + normal[None] / np.sqrt(9.0 * a), 1e-6)
    return a * root * root * root * np.exp(log_uniform[None] / shape[:, None])


def truth_without(
    *,
    item_row: np.ndarray,
    worker_row: np.ndarray,
    given: np.ndarray,
    confusions: np.ndarray,
    priors: np.ndarray,
    known: np.ndarray,
) -> np.ndarray:
    """(answers, classes): per answer, Dawid-Skene's posterior of its item computed from the
    item's other answers (one-hot where the item's label is known; uniform, which counts for
    nothing, where it has fewer than MIN_OTHER_ANSWERS other answers). Recomputed from the
    log-likelihoods rather than divided out of the stored posterior: a near-perfect worker's
    confusion cells are ~1e-10, and dividing by them amplified rounding into a wrong truth."""
    item_row, worker_row, given = (
        np.asarray(a, dtype=np.int64) for a in (item_row, worker_row, given)
    )
    confusions = np.asarray(confusions, dtype=float)
    k = confusions.shape[-1] if confusions.ndim == 3 else len(priors)
    if not len(item_row):
        return np.zeros((0, k))
    own = np.log(np.clip(confusions[worker_row, :, given], 1e-10, None))  # (answers, true)
    n_items = int(item_row.max()) + 1
    per_item = np.zeros((n_items, k))
    for true_class in range(k):
        per_item[:, true_class] = np.bincount(
            item_row, weights=own[:, true_class], minlength=n_items
        )
    log_joint = (
        per_item[item_row] - own + np.log(np.clip(np.asarray(priors, dtype=float), 1e-10, None))
    )
    log_joint -= log_joint.max(axis=1, keepdims=True)
    truth = np.exp(log_joint)
    truth /= truth.sum(axis=1, keepdims=True)
    others = np.bincount(item_row, minlength=n_items)[item_row] - 1
    truth[others < MIN_OTHER_ANSWERS] = 1.0 / k  # no evidence (`known_share` 0)
    label = np.asarray(known, dtype=np.int64)[item_row]
    fixed = label >= 0
    truth[fixed] = 0.0
    truth[fixed, label[fixed]] = 1.0
    return truth


def known_share(truth: np.ndarray) -> np.ndarray:
    """How much of an answer counts as evidence: 1 minus the normalised entropy of its item's
    truth distribution (1 on gold, 0 when nothing is known of the item but its own answer).
    Counting an answer on an unknown item in full would tell the interval that the worker
    answered independently of the truth: a good worker whose first items nobody else had
    answered yet looked like a spammer (bench/blocking.py, 1-2% of reliable workers blocked)."""
    truth = np.asarray(truth, dtype=float)
    k = truth.shape[1] if truth.ndim == 2 else 0
    if k < 2 or not len(truth):
        return np.ones(len(truth))
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(truth > 0, truth * np.log(truth), 0.0).sum(axis=1)
    return np.clip(1.0 - entropy / np.log(k), 0.0, 1.0)
