"""Regression metrics against scikit-learn, the evaluation step's artifacts, and the gates'
directions for error metrics."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import REGRESSION_METRICS, lower_is_better
from kfp_mlops.components.common.mlflow_registry import RegisteredVersion
from kfp_mlops.components.common.regression_metrics import regression_metrics
from kfp_mlops.components.evaluation.champion import decide_against_champion
from kfp_mlops.components.evaluation.gate import decide
from kfp_mlops.components.evaluation.regression import evaluate_regressor_to_files
from kfp_mlops.components.training.train_regressor import train_regressor_to_directory


def test_metrics_equal_scikit_learns():
    random = np.random.default_rng(0)
    actual = random.normal(50, 20, 500)
    predicted = actual + random.normal(0, 5, 500)
    scores = regression_metrics(actual, predicted).scalars
    assert list(scores) == list(REGRESSION_METRICS)
    assert scores["rmse"] == pytest.approx(skm.root_mean_squared_error(actual, predicted))
    assert scores["mae"] == pytest.approx(skm.mean_absolute_error(actual, predicted))
    assert scores["r2"] == pytest.approx(skm.r2_score(actual, predicted))
    assert scores["mape"] == pytest.approx(skm.mean_absolute_percentage_error(actual, predicted))
    assert scores["median_absolute_error"] == pytest.approx(
        skm.median_absolute_error(actual, predicted)
    )
    assert scores["max_error"] == pytest.approx(skm.max_error(actual, predicted))


def test_mape_leaves_out_zero_targets_and_counts_them():
    actual = np.array([0.0, 10.0, 20.0, 0.0])
    predicted = np.array([1.0, 11.0, 18.0, -2.0])
    result = regression_metrics(actual, predicted)
    assert result.mape_excluded_rows == 2
    assert result.scalars["mape"] == pytest.approx((0.1 + 0.1) / 2)
    # scikit-learn divides by an epsilon instead: a share of order 1e15
    assert skm.mean_absolute_percentage_error(actual, predicted) > 1e10


def test_mape_of_an_all_zero_target_is_refused():
    with pytest.raises(ComponentInputError, match="MAPE is undefined: every actual value"):
        regression_metrics(np.zeros(5), np.ones(5))


def test_a_mean_predictor_scores_r2_zero():
    actual = np.arange(10.0)
    assert regression_metrics(actual, np.full(10, actual.mean())).scalars["r2"] == 0.0


def test_error_metrics_are_lower_is_better_and_r2_higher():
    assert all(lower_is_better(name) for name in REGRESSION_METRICS if name != "r2")
    assert not lower_is_better("r2")


def test_an_error_threshold_is_a_maximum():
    metrics = {"task": "regression", "rmse": 50.0, "r2": 0.5}
    assert decide(metrics, {"rmse": 60.0, "r2": 0.3}).approved
    rejected = decide(metrics, {"rmse": 40.0})
    assert not rejected.approved
    assert rejected.reasons == ["rmse 50.0000 > 40.0000 (failed by 10.0000)"]


def test_a_classification_threshold_on_regression_metrics_fails_the_step():
    with pytest.raises(ComponentInputError) as raised:
        decide({"task": "regression", "r2": 0.5}, {"accuracy": 0.9, "r2": 0.3})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("threshold(s) accuracy name classification metrics")
    assert "rmse, mae, r2" in message


def _champion(metrics: dict[str, float]) -> RegisteredVersion:
    return RegisteredVersion(
        name="m",
        version="1",
        model_uri="models:/m/1",
        run_id="r",
        aliases=["champion"],
        metrics=metrics,
        tags={},
    )


def test_a_weaker_regressor_is_rejected_with_the_margin_named():
    decision = decide_against_champion(
        {"task": "regression", "rmse": 56.0, "r2": 0.45},
        {"rmse": 70.0, "r2": 0.3},
        _champion({"rmse": 52.0, "r2": 0.55}),
        "m",
    )
    assert not decision.approved
    r2, rmse = decision.comparisons  # sorted by metric name
    assert rmse.reason == (
        "rmse 56.0000 is 7.69% worse than champion version 1's 52.0000: outside the 5.00% "
        "margin (must be <= 54.6000)"
    )
    assert r2.reason.startswith("r2 0.4500 is 18.18% worse than champion version 1's 0.5500")
    assert "outside the 5.00% margin (must be >= 0.5225)" in r2.reason


def test_a_lower_error_is_better_than_the_champion():
    decision = decide_against_champion(
        {"task": "regression", "rmse": 50.0}, {"rmse": 70.0}, _champion({"rmse": 52.0}), "m"
    )
    assert decision.approved
    assert "better than champion version 1's" in decision.comparisons[0].reason


@pytest.fixture(scope="module")
def ridge_model(tmp_path_factory, diabetes_splits) -> Path:
    folder = tmp_path_factory.mktemp("ridge") / "model"
    train_regressor_to_directory(diabetes_splits["train"], str(folder), "target", "ridge")
    return folder


def test_evaluation_writes_metrics_and_a_self_contained_report(
    ridge_model, diabetes_splits, tmp_path
):
    metrics_path, report_path = tmp_path / "metrics", tmp_path / "report.html"
    evaluation = evaluate_regressor_to_files(
        str(ridge_model), diabetes_splits["test"], "target", str(metrics_path), str(report_path)
    )
    written = json.loads(metrics_path.read_text())
    assert written["task"] == "regression"
    assert written["test_rows"] == evaluation.test_rows == 66
    assert 0.4 < written["r2"] < 0.7  # ridge on diabetes; the mean scores 0
    report = report_path.read_text()
    assert "http://" not in report and "https://" not in report and "<script" not in report
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", report)
    assert len(images) == 2
    for image in images:
        png = base64.b64decode(image)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 500 and height >= 400
    assert "predicted against actual" in report and "residuals" in report


def test_a_classifier_is_not_evaluated_as_a_regressor(breast_cancer_splits, tmp_path):
    from kfp_mlops.components.training.train import train_to_directory

    model = tmp_path / "classifier"
    train_to_directory(breast_cancer_splits["train"], str(model), "target", "decision_tree")
    with pytest.raises(ComponentInputError, match=r"is a classifier .* evaluate_classifier"):
        evaluate_regressor_to_files(
            str(model),
            breast_cancer_splits["test"],
            "target",
            str(tmp_path / "m"),
            str(tmp_path / "r"),
        )
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()
