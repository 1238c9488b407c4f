"""Test-set metrics: the numbers sklearn.metrics gives, the positive class, the ROC curve."""

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.metrics import (
    MAX_ROC_POINTS,
    SCALAR_METRICS,
    RocCurve,
    classification_metrics,
    thin_curve,
)
from kfp_mlops.components.common.model_io import load_sklearn_model
from kfp_mlops.components.common.tables import fingerprint, read_parquet
from kfp_mlops.components.evaluation.evaluate import evaluate_model, evaluate_to_files


def test_binary_metrics_on_known_predictions():
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.array(
        [[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]]
    )
    result = classification_metrics(y_true, y_pred, probabilities, np.array([0, 1]))
    assert result.scalars["accuracy"] == pytest.approx(4 / 6)
    assert result.scalars["precision"] == pytest.approx(2 / 3)
    assert result.scalars["recall"] == pytest.approx(2 / 3)
    assert result.scalars["f1"] == pytest.approx(2 / 3)
    # Pairs (positive, negative) ranked right: 0.7 and 0.8 beat all three negatives, 0.4 beats two.
    assert result.scalars["roc_auc"] == pytest.approx(8 / 9)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.4, 0.7, 0.8, 0.4]))
    assert result.scalars["log_loss"] == pytest.approx(expected_loss)
    assert result.confusion_matrix == [[2, 1], [1, 2]]
    assert list(result.scalars) == list(SCALAR_METRICS)


def test_positive_class_is_the_second_of_the_sorted_classes():
    y_true = np.array(["yes", "no", "yes", "yes", "no", "no", "yes"])
    y_pred = np.array(["yes", "no", "no", "yes", "yes", "no", "yes"])
    p_yes = np.array([0.9, 0.2, 0.4, 0.8, 0.7, 0.1, 0.6])
    probabilities = np.column_stack([1 - p_yes, p_yes])
    result = classification_metrics(y_true, y_pred, probabilities, np.array(["no", "yes"]))
    assert result.averaging == "binary, positive class 'yes'"
    assert result.scalars["precision"] == skm.precision_score(y_true, y_pred, pos_label="yes")
    assert result.scalars["recall"] == skm.recall_score(y_true, y_pred, pos_label="yes")
    assert result.scalars["f1"] == skm.f1_score(y_true, y_pred, pos_label="yes")
    assert result.scalars["roc_auc"] == skm.roc_auc_score(y_true == "yes", p_yes)
    # Rows and columns in class order: "no" first.
    assert (
        result.confusion_matrix
        == skm.confusion_matrix(y_true, y_pred, labels=["no", "yes"]).tolist()
    )
    assert result.scalars["recall"] != skm.recall_score(y_true, y_pred, pos_label="no")


def test_multiclass_uses_macro_averages_and_one_vs_rest_auc():
    generator = np.random.default_rng(0)
    y_true = np.repeat([0, 1, 2], 30)
    raw = generator.random((90, 3)) + np.eye(3)[y_true] * 0.8
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    y_pred = probabilities.argmax(axis=1)
    result = classification_metrics(y_true, y_pred, probabilities, np.array([0, 1, 2]))
    assert result.scalars["precision"] == pytest.approx(
        skm.precision_score(y_true, y_pred, average="macro")
    )
    assert result.scalars["recall"] == pytest.approx(
        skm.recall_score(y_true, y_pred, average="macro")
    )
    assert result.scalars["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert result.scalars["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_true, probabilities, multi_class="ovr", average="macro")
    )
    assert result.scalars["log_loss"] == pytest.approx(skm.log_loss(y_true, probabilities))
    assert result.roc_curve is None
    assert result.averaging == "macro (one-vs-rest ROC AUC)"
    assert np.array(result.confusion_matrix).sum() == 90


def test_roc_curve_is_thinned_keeps_its_ends_and_has_finite_thresholds():
    generator = np.random.default_rng(1)
    y_true = generator.integers(0, 2, 5000)
    p_one = np.clip(generator.normal(0.35 + 0.3 * y_true, 0.2), 0.0, 1.0)
    probabilities = np.column_stack([1 - p_one, p_one])
    result = classification_metrics(
        y_true, (p_one > 0.5).astype(int), probabilities, np.array([0, 1])
    )
    full_fpr, _, _ = skm.roc_curve(y_true, p_one)
    curve = result.roc_curve
    assert len(full_fpr) > MAX_ROC_POINTS >= len(curve.thresholds) > 100
    assert (curve.false_positive_rate[0], curve.true_positive_rate[0]) == (0.0, 0.0)
    assert (curve.false_positive_rate[-1], curve.true_positive_rate[-1]) == (1.0, 1.0)
    assert all(0.0 <= threshold <= 1.0 for threshold in curve.thresholds)
    assert curve.thresholds == sorted(curve.thresholds, reverse=True)


def test_thin_curve_leaves_a_short_curve_alone():
    curve = RocCurve([0.0, 0.5, 1.0], [0.0, 0.7, 1.0], [1.0, 0.5, 0.0])
    assert thin_curve(curve) is curve
    long = RocCurve(list(range(1000)), list(range(1000)), list(range(1000)))
    thinned = thin_curve(long, max_points=10)
    assert thinned.thresholds[0] == 0 and thinned.thresholds[-1] == 999
    assert len(thinned.thresholds) == 10


def test_a_label_the_model_never_saw_is_an_error():
    with pytest.raises(ComponentInputError, match=r"never saw in training: \[2\]"):
        classification_metrics(
            np.array([0, 1, 2]), np.array([0, 1, 1]), np.full((3, 2), 0.5), np.array([0, 1])
        )


def test_a_class_missing_from_the_test_split_is_an_error():
    with pytest.raises(ComponentInputError, match=r"no rows of class\(es\) \[1\]"):
        classification_metrics(
            np.array([0, 0]), np.array([0, 1]), np.full((2, 2), 0.5), np.array([0, 1])
        )


def test_random_forest_on_breast_cancer_matches_sklearn(forest_model, breast_cancer_splits):
    evaluation = evaluate_model(str(forest_model), breast_cancer_splits["test"], "target")
    test = read_parquet(breast_cancer_splits["test"])
    model = load_sklearn_model(forest_model)
    frame = feature_frame(test, list(model.feature_names_in_))
    y_true = test.column("target").to_numpy()
    predicted = model.predict(frame)
    scalars = evaluation.result.scalars
    assert scalars["accuracy"] >= 0.90
    assert scalars["accuracy"] == skm.accuracy_score(y_true, predicted)
    assert scalars["f1"] == skm.f1_score(y_true, predicted, pos_label=1)
    assert scalars["roc_auc"] == skm.roc_auc_score(y_true, model.predict_proba(frame)[:, 1])
    assert evaluation.test_rows == test.num_rows
    assert evaluation.test_fingerprint == fingerprint(test)


def test_files_hold_the_artifacts_content(forest_model, breast_cancer_splits, tmp_path):
    evaluation = evaluate_to_files(
        str(forest_model),
        breast_cancer_splits["test"],
        "target",
        str(tmp_path / "metrics"),
        str(tmp_path / "classification"),
    )
    written = json.loads((tmp_path / "metrics").read_text())
    assert written == evaluation.metrics_content()
    assert set(written) == {*SCALAR_METRICS, "averaging", "test_rows", "test_fingerprint"}
    classification = json.loads((tmp_path / "classification").read_text())
    assert classification["confusionMatrix"]["annotationSpecs"] == [
        {"displayName": "0"},
        {"displayName": "1"},
    ]
    rows = [row["row"] for row in classification["confusionMatrix"]["rows"]]
    assert sum(map(sum, rows)) == evaluation.test_rows
    assert 2 <= len(classification["confidenceMetrics"]) <= MAX_ROC_POINTS
    assert sorted(tmp_path.iterdir()) == [tmp_path / "classification", tmp_path / "metrics"]


def test_missing_target_in_the_test_split(forest_model, breast_cancer_splits):
    with pytest.raises(ComponentInputError, match="target column 'label' not found in the test"):
        evaluate_model(str(forest_model), breast_cancer_splits["test"], "label")
