"""Train, score, evaluate, compare and (de)serialize a project's model. Pure: no Django.

Services pass payload dicts (or already featurized arrays, as the benchmarks do) and the
project's label set; every probability matrix that leaves this module has one column per label
in label-set order, so a label nobody has used yet simply gets probability 0.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np
import sklearn
import skops.io as sio
from scipy.optimize import minimize_scalar
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler
from threadpoolctl import threadpool_limits

from apps.models.features import FeatureConfig, check_kind, featurize

Inputs = Sequence[Mapping[str, Any]] | Sequence[str] | np.ndarray
Metric = Literal["accuracy", "macro_f1", "ece"]

ECE_BINS = 10
DEFAULT_C = {"text": 10.0, "image": 1.0, "vector": 1.0}
# BLAS threads while fitting and scoring. Jobs run in queue worker processes, one per core, so
# more threads only oversubscribe; on the 2-core benchmark machine OpenBLAS with 2 threads made
# train() on 100k labels take 389 s instead of 18 s (docs/benchmarks-learning.md).
BLAS_THREADS = 1
FORMAT_VERSION = 1
# Types outside skops' own default-trusted set that our pipelines legitimately contain. Anything
# else in a model file is refused: skops would otherwise have to import and build it.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)
_REBUILD_LOCK = threading.Lock()


class NotEnoughLabels(ValueError):
    """Training needs at least two distinct labels."""


class ModelLoadError(ValueError):
    """Model bytes that we refuse to load."""


class UntrustedModelError(ModelLoadError):
    pass


class ModelVersionMismatch(ModelLoadError):
    pass


class ModelVersionWarning(UserWarning):
    pass


@dataclass(frozen=True)
class LearningConfig:
    # Inverse regularization strength; None = by kind (DEFAULT_C). TF-IDF rows are unit
    # length, so at C=1 a text model with a few dozen labels barely leaves its class priors
    # (BBC News, 5 topics, 30 labels: 0.27 accuracy at C=1, 0.47 at C=10, pool
    # cross-validation; docs/benchmarks-learning.md).
    C: float | None = None
    max_iter: int = 1000
    max_features: int = 50_000  # TF-IDF vocabulary cap
    ngram_max: int = 2  # TF-IDF word n-grams 1..ngram_max
    # "temperature": one softmax temperature fitted on out-of-fold logits; keeps the argmax,
    # so accuracy is that of the plain model (see docs/benchmarks-learning.md for why it is
    # the default over scikit-learn's one-vs-rest "sigmoid"/"isotonic").
    calibration: Literal["temperature", "sigmoid", "isotonic", "none"] = "temperature"
    cv_folds: int = 5  # calibration folds, lowered when the smallest class is smaller
    # vector/image scaling. "maxabs" divides each column by its largest |value| (no centring):
    # with few labels a standard scaler divides rarely-inked pixels by a tiny std and the model
    # over-trusts them (docs/benchmarks-learning.md, active learning). "auto": maxabs for
    # images (pixels are bounded and start at 0), standard for arbitrary vectors.
    scaler: Literal["auto", "standard", "maxabs"] = "auto"
    features: FeatureConfig = field(default_factory=FeatureConfig)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> LearningConfig:
        """Build from a project's JSON config; an unknown key is an error, not ignored."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown learning config keys: {', '.join(unknown)}")
        if "features" in data:
            data["features"] = FeatureConfig(**data["features"])
        if "scaler" in data:
            _scaler(data["scaler"], "vector")  # an unknown name fails here, not at the next retrain
        return cls(**data)


@dataclass
class TrainedModel:
    estimator: Any  # fitted Pipeline, or CalibratedClassifierCV for sigmoid/isotonic
    kind: str
    label_set: tuple[str, ...]
    classes: tuple[str, ...]  # labels seen in training (a subset of label_set)
    calibration: str  # e.g. "temperature, 5-fold" or "none (smallest class has 1 example)"
    temperature: float  # divides the logits before the softmax; 1.0 = uncalibrated
    n_train: int
    train_seconds: float
    sklearn_version: str
    config: LearningConfig
    seed: int


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    macro_f1: float
    ece: float  # expected calibration error of the top label, ECE_BINS equal-width bins
    n: int


@dataclass(frozen=True)
class HoldoutSplit:
    train: np.ndarray  # positions into the labels passed in
    holdout: np.ndarray


@dataclass(frozen=True)
class SuspectedLabelError:
    index: int
    given: str
    suggested: str
    confidence: float  # out-of-fold probability of the suggested label
    given_probability: float


# --- building and training -------------------------------------------------------------------


def build_pipeline(kind: str, config: LearningConfig | None = None) -> Pipeline:
    """The uncalibrated model: TF-IDF + logistic regression for text, scaling + LR otherwise."""
    config = config or LearningConfig()
    kind = check_kind(kind)
    C = config.C if config.C is not None else DEFAULT_C[kind]
    classifier = LogisticRegression(C=C, max_iter=config.max_iter)
    if kind == "text":
        vectorizer = TfidfVectorizer(
            ngram_range=(1, config.ngram_max),
            max_features=config.max_features,
            sublinear_tf=True,
        )
        return Pipeline([("tfidf", vectorizer), ("clf", classifier)])
    scaler = _scaler(config.scaler, kind)
    if isinstance(scaler, MaxAbsScaler):
        # Max-abs keeps pixels in 0..1 but not centred, and LBFGS took 2-5x the iterations.
        # The intercept is not penalized, so centring changes the fit's speed, not its optimum.
        center = StandardScaler(with_std=False)
        return Pipeline([("scale", scaler), ("center", center), ("clf", classifier)])
    return Pipeline([("scale", scaler), ("clf", classifier)])


def _scaler(name: str, kind: str) -> StandardScaler | MaxAbsScaler:
    if name == "auto":
        name = "maxabs" if kind == "image" else "standard"
    if name == "standard":
        return StandardScaler()
    if name == "maxabs":
        return MaxAbsScaler()
    raise ValueError(f"unknown scaler {name!r}; expected 'auto', 'standard' or 'maxabs'")


def train(
    inputs: Inputs,
    labels: Sequence[str],
    *,
    kind: str,
    label_set: Sequence[str],
    config: LearningConfig | None = None,
    seed: int = 0,
) -> TrainedModel:
    config = config or LearningConfig()
    X = as_features(inputs, kind, config.features)
    y = _check_labels(labels, label_set, n_inputs=_n_rows(X))
    folds, calibration = _calibration_plan(y, config)
    started = time.perf_counter()
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        estimator, temperature = _fit(build_pipeline(kind, config), X, y, folds, config, seed)
    return TrainedModel(
        estimator=estimator,
        kind=kind,
        label_set=tuple(label_set),
        classes=tuple(str(c) for c in estimator.classes_),
        calibration=calibration,
        temperature=temperature,
        n_train=len(y),
        train_seconds=time.perf_counter() - started,
        sklearn_version=sklearn.__version__,
        config=config,
        seed=seed,
    )


def _fit(
    pipeline: Pipeline,
    X: list[str] | np.ndarray,
    y: np.ndarray,
    folds: int,
    config: LearningConfig,
    seed: int,
) -> tuple[Any, float]:
    if not folds:
        return pipeline.fit(X, y), 1.0
    if config.calibration == "temperature":
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        oof = cross_val_predict(pipeline, X, y, cv=cv, method="decision_function")
        temperature = fit_temperature(_as_logits(oof), np.searchsorted(np.unique(y), y))
        return pipeline.fit(X, y), temperature
    # ensemble=False: calibrators fitted on out-of-fold predictions, then one pipeline fitted
    # on all labels (one model to store and score with, not one per fold). An int cv, not a
    # splitter object: the fitted estimator keeps it, and skops would have to trust its type.
    calibrated = CalibratedClassifierCV(
        pipeline, method=config.calibration, cv=folds, ensemble=False
    )
    return calibrated.fit(X, y), 1.0


def fit_temperature(logits: np.ndarray, y_index: np.ndarray) -> float:
    """The T minimizing the log loss of softmax(logits / T) (Guo et al. 2017)."""

    def nll(log_t: float) -> float:
        log_p = _log_softmax(logits / np.exp(log_t))
        return -float(log_p[np.arange(len(y_index)), y_index].mean())

    found = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(found.x))


def _as_logits(decision: np.ndarray) -> np.ndarray:
    # Binary LogisticRegression gives one score d per row; softmax([0, d]) = sigmoid(d).
    if decision.ndim == 1:
        return np.column_stack([np.zeros_like(decision), decision])
    return decision


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check_labels(labels: Sequence[str], label_set: Sequence[str], n_inputs: int) -> np.ndarray:
    if len(set(label_set)) != len(label_set):
        raise ValueError("label_set has duplicates")
    if len(labels) != n_inputs:
        raise ValueError(f"{n_inputs} inputs but {len(labels)} labels")
    unknown = sorted({str(label) for label in labels} - set(label_set))
    if unknown:
        raise ValueError(f"labels not in the label set: {', '.join(unknown)}")
    if len(set(labels)) < 2:
        raise NotEnoughLabels(f"need at least two distinct labels, got {sorted(set(labels))}")
    return np.asarray([str(label) for label in labels], dtype=object)


def _calibration_plan(y: np.ndarray, config: LearningConfig) -> tuple[int, str]:
    """Folds to calibrate with (0 = uncalibrated) and the description we record."""
    if config.calibration == "none":
        return 0, "none (disabled in config)"
    smallest = min(Counter(y).values())
    folds = min(config.cv_folds, smallest)
    if folds < 2:
        plural = "" if smallest == 1 else "s"
        return 0, f"none (smallest class has {smallest} example{plural})"
    return folds, f"{config.calibration}, {folds}-fold"


# --- scoring ---------------------------------------------------------------------------------


def as_features(
    inputs: Inputs, kind: str, feature_config: FeatureConfig | None = None
) -> list[str] | np.ndarray:
    """Payload dicts are featurized; strings (text) and arrays/number lists pass through."""
    if isinstance(inputs, np.ndarray):
        return inputs
    items = list(inputs)
    if items and isinstance(items[0], Mapping):
        return featurize(items, kind, feature_config)
    if kind == "text":
        return [str(x) for x in items]
    return np.asarray(items, dtype=np.float64)


def predict_proba(
    model: TrainedModel, inputs: Inputs, label_set: Sequence[str] | None = None
) -> np.ndarray:
    """(n, len(label_set)) probabilities, columns in label-set order; unseen labels get 0.

    label_set defaults to the one the model was trained with; pass the project's current one
    if labels were added since (removing a label the model predicts needs a retrain).
    """
    label_set = tuple(label_set or model.label_set)
    X = as_features(inputs, model.kind, model.config.features)
    if _n_rows(X) == 0:
        return np.zeros((0, len(label_set)))
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        raw = _raw_proba(model, X)
    column = {label: j for j, label in enumerate(label_set)}
    missing = [c for c in model.classes if c not in column]
    if missing:
        raise ValueError(f"model predicts labels missing from label_set: {', '.join(missing)}")
    out = np.zeros((raw.shape[0], len(label_set)))
    for j, cls in enumerate(model.classes):
        out[:, column[cls]] = raw[:, j]
    return out


def _raw_proba(model: TrainedModel, X: list[str] | np.ndarray) -> np.ndarray:
    if isinstance(model.estimator, CalibratedClassifierCV):
        return model.estimator.predict_proba(X)
    logits = _as_logits(model.estimator.decision_function(X))
    return np.exp(_log_softmax(logits / model.temperature))


def top_labels(proba: np.ndarray, label_set: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The most likely label of each row and its probability (compare with the threshold)."""
    best = np.argmax(proba, axis=1)
    return [label_set[j] for j in best], proba[np.arange(len(best)), best]


def model_features(model: TrainedModel, inputs: Inputs) -> Any:
    """Inputs in the model's own feature space (scaled pixels, TF-IDF rows), for diversity."""
    X = as_features(inputs, model.kind, model.config.features)
    return base_pipeline(model)[:-1].transform(X)


def base_pipeline(model: TrainedModel) -> Pipeline:
    estimator = model.estimator
    if isinstance(estimator, CalibratedClassifierCV):
        return estimator.calibrated_classifiers_[0].estimator
    return estimator


def _n_rows(X: list[str] | np.ndarray) -> int:
    return len(X) if isinstance(X, list) else X.shape[0]


# --- evaluation and promotion ----------------------------------------------------------------


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Sum over equal-width confidence bins of (bin share) * |bin accuracy - bin confidence|."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidences.size == 0:
        return 0.0
    bins = np.minimum((confidences * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        gap = abs(correct[in_bin].mean() - confidences[in_bin].mean())
        ece += in_bin.mean() * gap
    return float(ece)


def evaluate(
    model: TrainedModel, inputs: Inputs, labels: Sequence[str], n_bins: int = ECE_BINS
) -> Metrics:
    if len(labels) == 0:
        return Metrics(accuracy=0.0, macro_f1=0.0, ece=0.0, n=0)
    proba = predict_proba(model, inputs)
    predicted, confidence = top_labels(proba, model.label_set)
    y = [str(label) for label in labels]
    correct = np.asarray(predicted, dtype=object) == np.asarray(y, dtype=object)
    return Metrics(
        accuracy=float(accuracy_score(y, predicted)),
        macro_f1=float(f1_score(y, predicted, average="macro", zero_division=0)),
        ece=expected_calibration_error(confidence, correct, n_bins),
        n=len(y),
    )


def is_better(
    candidate: Metrics,
    active: Metrics | None,
    metric: Metric = "accuracy",
    min_gain: float = 0.0,
) -> tuple[bool, str]:
    """Promote only on a strict gain larger than min_gain (ties keep the active model).

    Compare metrics computed on the same held-out items: re-evaluate the active model on the
    current holdout rather than reusing the figure stored when it was trained.
    """
    if metric not in ("accuracy", "macro_f1", "ece"):
        raise ValueError(f"unknown metric {metric!r}")
    if candidate.n == 0:
        return False, "candidate has no held-out items to be judged on"
    value = getattr(candidate, metric)
    if active is None:
        return True, f"no active model; candidate {metric} {value:.4f} on {candidate.n} items"
    old = getattr(active, metric)
    gain = old - value if metric == "ece" else value - old  # ECE: lower is better
    verdict = gain > min_gain
    word = "better" if verdict else "not better"
    return verdict, (
        f"{word}: {metric} {value:.4f} vs active {old:.4f} "
        f"(gain {gain:+.4f}, needs > {min_gain:.4f}; n={candidate.n})"
    )


def split_holdout(
    labels: Sequence[str],
    *,
    keys: Sequence[Any] | None = None,
    fraction: float = 0.2,
    seed: int = 0,
) -> HoldoutSplit:
    """Deterministic stratified split: within each label, items sorted by a hash of
    (seed, key) and the first round(fraction * count) held out, at least one kept for training.

    Pass stable item ids as keys: an item's rank then does not depend on input order, so the
    holdout stays mostly the same as labels accumulate (classes too small to split stay in
    training).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must be between 0 and 1")
    keys = list(range(len(labels))) if keys is None else list(keys)
    if len(keys) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(keys)} keys")
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(str(label), []).append(i)
    holdout: list[int] = []
    for members in by_label.values():
        ranked = sorted(members, key=lambda i: _rank(seed, keys[i]))
        take = min(round(fraction * len(members)), len(members) - 1)
        holdout.extend(ranked[:take])
    held = np.zeros(len(labels), dtype=bool)
    held[holdout] = True
    return HoldoutSplit(train=np.flatnonzero(~held), holdout=np.flatnonzero(held))


def _rank(seed: int, key: Any) -> bytes:
    return hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()


# --- label errors ----------------------------------------------------------------------------


def suspected_label_errors(
    inputs: Inputs,
    labels: Sequence[str],
    *,
    kind: str,
    config: LearningConfig | None = None,
    seed: int = 0,
    threshold: float = 0.9,
    folds: int = 5,
) -> list[SuspectedLabelError]:
    """Items whose out-of-fold prediction contradicts the given label with probability >=
    threshold, most confident first. Each item is scored by a model that never saw its label.

    The out-of-fold probabilities get the same temperature scaling as a trained model (unless
    the config turns calibration off), so the threshold means what the model's confidence
    means elsewhere: an uncalibrated max-abs model is under-confident and would find little.
    Labels with a single example are skipped (no fold could learn them).
    """
    config = config or LearningConfig()
    X = as_features(inputs, kind, config.features)
    y = np.asarray([str(label) for label in labels], dtype=object)
    counts = Counter(y)
    kept = np.flatnonzero([counts[label] >= 2 for label in y])
    if len({y[i] for i in kept}) < 2:
        return []
    y_kept = y[kept]
    n_splits = min(folds, min(Counter(y_kept).values()))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    X_kept = [X[i] for i in kept] if isinstance(X, list) else X[kept]
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        decision = cross_val_predict(
            build_pipeline(kind, config), X_kept, y_kept, cv=cv, method="decision_function"
        )
    classes = sorted(set(y_kept))  # cross_val_predict orders columns like np.unique
    logits = _as_logits(decision)
    temperature = 1.0
    if config.calibration != "none":
        temperature = fit_temperature(logits, np.searchsorted(classes, y_kept))
    proba = np.exp(_log_softmax(logits / temperature))
    return _contradictions(proba, y_kept, classes, kept, threshold)


def _contradictions(
    proba: np.ndarray, y: np.ndarray, classes: list[str], positions: np.ndarray, threshold: float
) -> list[SuspectedLabelError]:
    column = {c: j for j, c in enumerate(classes)}
    best = np.argmax(proba, axis=1)
    found = []
    for row, j in enumerate(best):
        if classes[j] != y[row] and proba[row, j] >= threshold:
            found.append(
                SuspectedLabelError(
                    index=int(positions[row]),
                    given=str(y[row]),
                    suggested=classes[j],
                    confidence=float(proba[row, j]),
                    given_probability=float(proba[row, column[y[row]]]),
                )
            )
    return sorted(found, key=lambda e: -e.confidence)


# --- serialization ---------------------------------------------------------------------------


def dump_model(model: TrainedModel) -> bytes:
    """A zip holding meta.json (everything but the estimator) and estimator.skops."""
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "label_set": list(model.label_set),
        "classes": list(model.classes),
        "calibration": model.calibration,
        "temperature": model.temperature,
        "n_train": model.n_train,
        "train_seconds": model.train_seconds,
        "sklearn_version": model.sklearn_version,
        "config": asdict(model.config),
        "seed": model.seed,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", json.dumps(meta))
        archive.writestr("estimator.skops", sio.dumps(model.estimator))
    return buffer.getvalue()


def load_model(
    data: bytes, *, on_version_mismatch: Literal["raise", "warn"] = "raise"
) -> TrainedModel:
    """Refuses bytes holding any type outside skops' defaults and TRUSTED_TYPES, and (by
    default) a model saved by another scikit-learn version, whose behaviour may differ.
    Whatever goes wrong while rebuilding the estimator (a class scikit-learn moved or removed,
    state it no longer accepts) is a ModelLoadError too, never a bare AttributeError."""
    meta, estimator_bytes = _unzip(data)
    _check_version(meta["sklearn_version"], on_version_mismatch)
    estimator = _rebuild(estimator_bytes, strict=on_version_mismatch == "raise")
    return TrainedModel(
        estimator=estimator,
        kind=meta["kind"],
        label_set=tuple(meta["label_set"]),
        classes=tuple(meta["classes"]),
        calibration=meta["calibration"],
        temperature=meta["temperature"],
        n_train=meta["n_train"],
        train_seconds=meta["train_seconds"],
        sklearn_version=meta["sklearn_version"],
        config=LearningConfig.from_dict(meta["config"]),
        seed=meta["seed"],
    )


def _unzip(data: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("meta.json"))
            estimator_bytes = archive.read("estimator.skops")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"not a HITLCrowd model file: {exc}") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"unsupported model format {meta.get('format_version')!r}")
    return meta, estimator_bytes


def _rebuild(estimator_bytes: bytes, *, strict: bool) -> Any:
    """The fitted estimator from its skops bytes. `strict`: an estimator whose own state says
    another scikit-learn version (InconsistentVersionWarning) is refused like the meta's."""
    try:
        untrusted = set(sio.get_untrusted_types(data=estimator_bytes)) - set(TRUSTED_TYPES)
        if untrusted:
            types = ", ".join(sorted(untrusted))
            raise UntrustedModelError(f"model holds untrusted types: {types}")
        # catch_warnings swaps a process-wide filter list: one load at a time, so that two
        # threads of a web process do not leave each other's filter behind.
        with _REBUILD_LOCK, warnings.catch_warnings():
            if strict:
                warnings.simplefilter("error", InconsistentVersionWarning)
            return sio.loads(estimator_bytes, trusted=list(TRUSTED_TYPES))
    except ModelLoadError:
        raise
    except InconsistentVersionWarning as exc:
        raise ModelVersionMismatch(
            f"its {exc.estimator_name} was saved with scikit-learn "
            f"{exc.original_sklearn_version}, running {exc.current_sklearn_version}"
        ) from exc
    except Exception as exc:  # skops and scikit-learn raise anything from Attribute- to KeyError
        reason = f"{type(exc).__name__}: {exc}"
        raise ModelLoadError(f"the estimator cannot be rebuilt: {reason}") from exc


def _check_version(saved: str, on_mismatch: str) -> None:
    if saved == sklearn.__version__:
        return
    message = f"model saved with scikit-learn {saved}, running {sklearn.__version__}"
    if on_mismatch == "raise":
        raise ModelVersionMismatch(message + "; retrain it or load with on_version_mismatch='warn'")
    warnings.warn(message, ModelVersionWarning, stacklevel=2)
