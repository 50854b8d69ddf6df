"""The learning core (apps.models.learning / features), on digits and a tiny text set. No DB."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import sklearn
import sklearn.calibration
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.preprocessing import FunctionTransformer

from apps.models import learning
from apps.models.features import FeatureConfig, PayloadError, featurize, supports_builtin_model
from apps.models.learning import LearningConfig, Metrics

DIGITS = [str(d) for d in range(10)]
MOODS = ["happy", "sad", "unused"]
TEXTS = [
    ("what a lovely sunny day", "happy"),
    ("i love this wonderful song", "happy"),
    ("great news, so glad and happy", "happy"),
    ("lovely people and a great party", "happy"),
    ("wonderful food, love it", "happy"),
    ("this is terrible and sad", "sad"),
    ("i hate the awful rain", "sad"),
    ("such bad news, so sad", "sad"),
    ("awful day, terrible traffic", "sad"),
    ("i hate this sad song", "sad"),
]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X, y.astype(str)


@pytest.fixture(scope="module")
def digits_model(digits) -> learning.TrainedModel:
    X, y = digits
    return learning.train(X[:600], y[:600], kind="image", label_set=DIGITS, seed=0)


def text_payloads() -> tuple[list[dict], list[str]]:
    return [{"text": t} for t, _ in TEXTS], [label for _, label in TEXTS]


# --- features --------------------------------------------------------------------------------


def test_featurize_reads_pixels_vectors_and_text_from_their_fields():
    pixels = featurize([{"pixels": [0, 16, 3]}, {"pixels": [1, 2, 3]}], "image")
    assert pixels.shape == (2, 3)
    vectors = featurize([{"emb": [0.5, 1]}], "vector", FeatureConfig(vector_field="emb"))
    assert vectors.tolist() == [[0.5, 1.0]]
    assert featurize([{"text": "hi"}], "text") == ["hi"]


@pytest.mark.parametrize(
    ("kind", "payloads", "message"),
    [
        (
            "image",
            [{"pixels": [1]}, {"url": "http://x/y.png"}],
            "item 1: field 'pixels' is missing",
        ),
        ("image", [{"pixels": "http://x/y.png"}], "image URLs cannot be featurized"),
        ("vector", [{"features": [1, 2]}, {"features": [1]}], "item 1: field 'features' has 1"),
        ("vector", [{"features": [1, None]}], "item 0: field 'features' position 1"),
        ("vector", [{"features": [1, float("nan")]}], "position 1 is not a finite number"),
        ("text", [{"text": "ok"}, {"text": 3}], "item 1: field 'text' must be a string"),
    ],
)
def test_featurize_names_the_item_and_field_that_do_not_fit(kind, payloads, message):
    with pytest.raises(PayloadError, match=message):
        featurize(payloads, kind)


def test_an_image_url_project_has_no_builtin_model():
    assert not supports_builtin_model("image", {"url": "http://x/y.png"})
    assert supports_builtin_model("image", {"pixels": [0] * 64})


# --- training and scoring --------------------------------------------------------------------


def test_a_digits_model_learns_from_pixel_payloads(digits, digits_model):
    X, y = digits
    payloads = [{"pixels": row.tolist()} for row in X[1000:1300]]
    metrics = learning.evaluate(digits_model, payloads, y[1000:1300])
    assert metrics.accuracy > 0.85
    assert metrics.n == 300
    assert digits_model.calibration == "temperature, 5-fold"
    assert digits_model.n_train == 600


def test_a_text_model_learns_a_tiny_text_set():
    payloads, labels = text_payloads()
    model = learning.train(payloads, labels, kind="text", label_set=MOODS, seed=0)
    proba = learning.predict_proba(model, [{"text": "so happy, lovely"}, {"text": "awful, sad"}])
    predicted, _ = learning.top_labels(proba, MOODS)
    assert predicted == ["happy", "sad"]


def test_probability_columns_follow_the_label_set_and_an_unused_label_gets_zero():
    payloads, labels = text_payloads()
    model = learning.train(payloads, labels, kind="text", label_set=["unused", "sad", "happy"])
    proba = learning.predict_proba(model, payloads)
    assert proba.shape == (10, 3)
    assert np.all(proba[:, 0] == 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0, 2] > proba[0, 1]  # the first text is happy: column 2


def test_a_label_added_to_the_project_after_training_gets_a_zero_column(digits_model, digits):
    proba = learning.predict_proba(digits_model, digits[0][:5], label_set=[*DIGITS, "smudge"])
    assert proba.shape == (5, 11)
    assert np.all(proba[:, 10] == 0.0)


def test_a_class_with_one_example_falls_back_to_the_uncalibrated_model(digits):
    X, y = digits
    X_small = np.vstack([X[y == "0"][:6], X[y == "1"][:6], X[y == "2"][:1]])
    y_small = ["0"] * 6 + ["1"] * 6 + ["2"]
    model = learning.train(X_small, y_small, kind="vector", label_set=DIGITS)
    assert model.calibration == "none (smallest class has 1 example)"
    assert model.temperature == 1.0
    assert learning.predict_proba(model, X[:3]).shape == (3, 10)


def test_a_small_class_lowers_the_calibration_folds(digits):
    X, y = digits
    keep = np.concatenate([np.flatnonzero(y == "0")[:20], np.flatnonzero(y == "1")[:3]])
    model = learning.train(X[keep], y[keep], kind="vector", label_set=DIGITS)
    assert model.calibration == "temperature, 3-fold"


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_sklearn_calibration_methods_also_fall_back_on_small_classes(digits, method):
    X, y = digits
    keep = np.concatenate([np.flatnonzero(y == "0")[:20], np.flatnonzero(y == "1")[:2]])
    model = learning.train(
        X[keep], y[keep], kind="vector", label_set=DIGITS, config=LearningConfig(calibration=method)
    )
    assert model.calibration == f"{method}, 2-fold"
    np.testing.assert_allclose(learning.predict_proba(model, X[:4]).sum(axis=1), 1.0)


def test_training_refuses_a_single_label_or_one_outside_the_label_set(digits):
    X, _ = digits
    with pytest.raises(learning.NotEnoughLabels):
        learning.train(X[:4], ["1"] * 4, kind="vector", label_set=DIGITS)
    with pytest.raises(ValueError, match="not in the label set: 7x"):
        learning.train(X[:2], ["1", "7x"], kind="vector", label_set=DIGITS)


def test_a_maxabs_scaler_beats_the_standard_one_on_few_pixel_labels(digits):
    # A standard scaler fit on 30 images divides rarely-inked pixels by a tiny std.
    X, y = digits
    accuracy = {}
    for scaler in ("standard", "maxabs"):
        config = LearningConfig(scaler=scaler, calibration="none")
        model = learning.train(X[:30], y[:30], kind="image", label_set=DIGITS, config=config)
        accuracy[scaler] = learning.evaluate(model, X[600:], y[600:]).accuracy
    assert accuracy["maxabs"] > accuracy["standard"] + 0.02


def test_the_auto_scaler_is_maxabs_for_images_and_standard_for_vectors():
    assert LearningConfig().scaler == "auto"
    image = learning.build_pipeline("image")
    vector = learning.build_pipeline("vector")
    assert type(image.named_steps["scale"]).__name__ == "MaxAbsScaler"
    assert type(vector.named_steps["scale"]).__name__ == "StandardScaler"
    forced = learning.build_pipeline("image", LearningConfig(scaler="standard"))
    assert type(forced.named_steps["scale"]).__name__ == "StandardScaler"


def test_centring_after_maxabs_speeds_the_fit_without_changing_the_model(digits):
    X, y = digits
    centred = learning.build_pipeline("image").fit(X, y)
    plain = learning.build_pipeline("image")
    plain.steps.pop(1)  # the same pipeline without the centring step
    plain.fit(X, y)
    assert [name for name, _ in centred.steps] == ["scale", "center", "clf"]
    assert centred[-1].n_iter_.max() * 2 < plain[-1].n_iter_.max()
    assert (centred.predict(X) == plain.predict(X)).mean() > 0.99


def topic_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Five topics of unequal size (40/20/15/15/10%), each a 3-word signal in 12 words drawn
    from a shared 200-word vocabulary."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(200)]
    texts, labels = [], []
    for _ in range(n):
        topic = int(rng.choice(5, p=[0.4, 0.2, 0.15, 0.15, 0.1]))
        signal = rng.choice(vocabulary[topic * 10 : topic * 10 + 10], 3)
        texts.append(" ".join([*signal, *rng.choice(vocabulary[50:], 9)]))
        labels.append(f"t{topic}")
    return texts, labels


def test_text_models_default_to_a_weaker_penalty_that_learns_from_few_labels():
    # Unit-length TF-IDF rows: at C=1 thirty labels barely move the model off its priors, so
    # with unequal topics it mostly answers the largest one (0.50 vs 0.79 here).
    train_texts, train_labels = topic_texts(30, seed=0)
    test_texts, test_labels = topic_texts(500, seed=1)
    topics = sorted(set(train_labels))
    accuracy = {}
    for penalty in (None, 1.0):
        config = LearningConfig(C=penalty, calibration="none")
        model = learning.train(
            train_texts, train_labels, kind="text", label_set=topics, config=config
        )
        accuracy[penalty] = learning.evaluate(model, test_texts, test_labels).accuracy
        used = model.estimator[-1].get_params()["C"]
        assert used == (learning.DEFAULT_C["text"] if penalty is None else penalty)
    assert accuracy[None] > accuracy[1.0] + 0.1
    assert learning.build_pipeline("image")[-1].get_params()["C"] == 1.0


def test_a_maxabs_model_round_trips_and_an_unknown_scaler_is_an_error(digits):
    X, y = digits
    config = LearningConfig.from_dict({"scaler": "maxabs"})
    model = learning.train(X[:200], y[:200], kind="image", label_set=DIGITS, config=config)
    loaded = learning.load_model(learning.dump_model(model))
    assert loaded.config.scaler == "maxabs"
    np.testing.assert_array_equal(
        learning.predict_proba(loaded, X[200:300]), learning.predict_proba(model, X[200:300])
    )
    with pytest.raises(ValueError, match="unknown scaler 'minmax'"):
        LearningConfig.from_dict({"scaler": "minmax"})


def test_config_from_a_project_dict_rejects_unknown_keys():
    config = LearningConfig.from_dict({"C": 0.5, "features": {"text_field": "body"}})
    assert config.C == 0.5
    assert config.features.text_field == "body"
    with pytest.raises(ValueError, match="unknown learning config keys: Cee"):
        LearningConfig.from_dict({"Cee": 1})


# --- calibration error and promotion ---------------------------------------------------------


def test_ece_of_a_perfectly_calibrated_model_is_about_zero():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    correct = rng.uniform(size=confidence.size) < confidence
    assert learning.expected_calibration_error(confidence, correct) < 0.01


def test_ece_of_an_overconfident_model_is_large():
    confidence = np.full(1000, 0.99)
    correct = np.arange(1000) < 600  # right 60% of the time
    assert learning.expected_calibration_error(confidence, correct) == pytest.approx(0.39)


def test_ece_weights_each_bin_by_its_share_of_items():
    # Bin [0.9, 1.0]: 3 items at 0.95, all right (gap 0.05); bin [0.5, 0.6): 1 at 0.55, wrong.
    confidence = np.array([0.95, 0.95, 0.95, 0.55])
    correct = np.array([True, True, True, False])
    expected = 0.75 * 0.05 + 0.25 * 0.55
    assert learning.expected_calibration_error(confidence, correct) == pytest.approx(expected)


def metrics(accuracy=0.9, macro_f1=0.9, ece=0.05, n=100) -> Metrics:
    return Metrics(accuracy=accuracy, macro_f1=macro_f1, ece=ece, n=n)


def test_is_better_promotes_a_higher_accuracy_and_keeps_the_active_on_a_lower_one():
    assert learning.is_better(metrics(accuracy=0.92), metrics(accuracy=0.90))[0]
    better, reason = learning.is_better(metrics(accuracy=0.88), metrics(accuracy=0.90))
    assert not better
    assert "not better: accuracy 0.8800 vs active 0.9000" in reason


def test_is_better_keeps_the_active_model_on_a_tie_or_a_gain_below_min_gain():
    assert not learning.is_better(metrics(), metrics())[0]
    assert not learning.is_better(metrics(macro_f1=0.91), metrics(), "macro_f1", min_gain=0.02)[0]
    assert learning.is_better(metrics(macro_f1=0.95), metrics(), "macro_f1", min_gain=0.02)[0]


def test_is_better_on_ece_prefers_the_lower_error():
    assert learning.is_better(metrics(ece=0.02), metrics(ece=0.05), "ece")[0]
    assert not learning.is_better(metrics(ece=0.08), metrics(ece=0.05), "ece")[0]


def test_is_better_promotes_the_first_model_but_not_one_judged_on_nothing():
    assert learning.is_better(metrics(), None) == (
        True,
        "no active model; candidate accuracy 0.9000 on 100 items",
    )
    assert not learning.is_better(metrics(n=0), None)[0]


def test_holdout_split_is_stratified_deterministic_and_independent_of_input_order():
    labels = ["a"] * 50 + ["b"] * 10 + ["c"] * 1
    keys = [f"item-{i}" for i in range(61)]
    split = learning.split_holdout(labels, keys=keys, fraction=0.2, seed=7)
    held = [labels[i] for i in split.holdout]
    assert (held.count("a"), held.count("b"), held.count("c")) == (10, 2, 0)
    assert sorted([*split.train, *split.holdout]) == list(range(61))
    again = learning.split_holdout(labels, keys=keys, fraction=0.2, seed=7)
    np.testing.assert_array_equal(split.holdout, again.holdout)
    reversed_split = learning.split_holdout(labels[::-1], keys=keys[::-1], fraction=0.2, seed=7)
    assert {keys[i] for i in split.holdout} == {keys[::-1][i] for i in reversed_split.holdout}


# --- label errors ----------------------------------------------------------------------------


def _flipped_digits(digits) -> tuple[np.ndarray, np.ndarray, set[int]]:
    X, y = digits
    X, y = X[:800], y[:800].copy()
    flipped = np.arange(0, 800, 40)  # 20 items
    y[flipped] = [str((int(label) + 1) % 10) for label in y[flipped]]
    return X, y, set(flipped.tolist())


def test_suspected_label_errors_finds_deliberately_flipped_digits(digits):
    X, y, flipped = _flipped_digits(digits)
    # The image default (max-abs scaling, C=1, temperature): 18 of 20 with 4 false alarms here.
    found = learning.suspected_label_errors(X, y, kind="image", threshold=0.8, seed=0)
    found_at = {e.index for e in found}
    assert len(found_at & flipped) / len(flipped) >= 0.8
    assert len(found_at & flipped) / max(len(found_at), 1) >= 0.75
    top = found[0]
    assert top.suggested != top.given
    assert top.confidence >= 0.8 > top.given_probability


def test_label_error_confidence_is_calibrated_like_the_model(digits):
    # Uncalibrated max-abs probabilities are under-confident (fitted T ~0.8): at the default
    # threshold 0.95 they flag 8 of 20 flips, the calibrated ones 13, with no false alarm.
    X, y, flipped = _flipped_digits(digits)
    found = {}
    for calibration in ("none", "temperature"):
        config = LearningConfig(calibration=calibration)
        errors = learning.suspected_label_errors(
            X, y, kind="image", config=config, threshold=0.95, seed=0
        )
        found[calibration] = {e.index for e in errors}
    assert len(found["temperature"] & flipped) > len(found["none"] & flipped)
    assert len(found["temperature"] - flipped) <= 1


# --- serialization ---------------------------------------------------------------------------


def test_a_dumped_and_loaded_model_gives_identical_probabilities(digits, digits_model):
    X, _ = digits
    loaded = learning.load_model(learning.dump_model(digits_model))
    np.testing.assert_array_equal(
        learning.predict_proba(loaded, X[:200]), learning.predict_proba(digits_model, X[:200])
    )
    assert loaded.calibration == digits_model.calibration
    assert loaded.config == digits_model.config


@pytest.mark.parametrize("method", ["temperature", "sigmoid", "isotonic"])
def test_a_text_model_round_trips_with_every_calibration(method):
    payloads, labels = text_payloads()
    config = LearningConfig(calibration=method, cv_folds=2)
    model = learning.train(payloads, labels, kind="text", label_set=MOODS, config=config)
    loaded = learning.load_model(learning.dump_model(model))
    np.testing.assert_array_equal(
        learning.predict_proba(loaded, payloads), learning.predict_proba(model, payloads)
    )


def _replace_member(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n, c in members.items():
            archive.writestr(n, c)
    return out.getvalue()


def _shout(X):
    return X


def test_loading_a_model_with_an_untrusted_type_is_refused(digits_model):
    smuggled = sio.dumps(FunctionTransformer(_shout))
    data = _replace_member(learning.dump_model(digits_model), "estimator.skops", smuggled)
    with pytest.raises(learning.UntrustedModelError, match=r"test_learning\._shout"):
        learning.load_model(data)


def test_a_model_from_another_sklearn_version_is_refused_or_loaded_with_a_warning(digits_model):
    data = learning.dump_model(digits_model)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        meta = json.loads(archive.read("meta.json"))
    meta["sklearn_version"] = "0.0.1"
    data = _replace_member(data, "meta.json", json.dumps(meta).encode())
    with pytest.raises(learning.ModelVersionMismatch, match=r"scikit-learn 0\.0\.1"):
        learning.load_model(data)
    with pytest.warns(learning.ModelVersionWarning):
        learning.load_model(data, on_version_mismatch="warn")


def _estimator_schema_edited(data: bytes, old: str, new: str) -> bytes:
    """The model file with `old` replaced by `new` in its estimator's skops schema."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        estimator = archive.read("estimator.skops")
    with zipfile.ZipFile(io.BytesIO(estimator)) as inner:
        schema = inner.read("schema.json").decode()
    assert old in schema
    edited = _replace_member(estimator, "schema.json", schema.replace(old, new).encode())
    return _replace_member(data, "estimator.skops", edited)


def test_an_estimator_whose_own_state_says_another_sklearn_version_is_refused(digits_model):
    """A file whose meta was rewritten but whose estimator came from scikit-learn 1.6.1:
    scikit-learn's InconsistentVersionWarning is an error here, not a line in a log."""
    here = json.dumps(json.dumps(sklearn.__version__))
    data = _estimator_schema_edited(
        learning.dump_model(digits_model), here, json.dumps(json.dumps("1.6.1"))
    )
    with pytest.raises(learning.ModelVersionMismatch, match=r"saved with scikit-learn 1\.6\.1"):
        learning.load_model(data)
    with pytest.warns(InconsistentVersionWarning):
        learning.load_model(data, on_version_mismatch="warn")


def test_a_model_holding_a_class_sklearn_removed_is_a_load_error(digits, monkeypatch):
    """An upgrade that drops a private class the file names (here the one sigmoid calibration
    keeps) fails inside skops with an AttributeError: load_model says so as a ModelLoadError."""
    X, y = digits
    config = LearningConfig(calibration="sigmoid", cv_folds=2)
    data = learning.dump_model(
        learning.train(X[:200], y[:200], kind="image", label_set=DIGITS, config=config, seed=0)
    )
    monkeypatch.delattr(sklearn.calibration, "_CalibratedClassifier")

    with pytest.raises(learning.ModelLoadError, match=r"AttributeError.*_CalibratedClassifier"):
        learning.load_model(data)


def test_bytes_that_are_not_a_model_file_are_refused():
    with pytest.raises(learning.ModelLoadError, match="not a HITLCrowd model file"):
        learning.load_model(b"PK not really")
