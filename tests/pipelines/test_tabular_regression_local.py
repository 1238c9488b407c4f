"""tabular-regression end to end on this machine, through the command users run."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression
from support.cli_runs import run_pipeline, step_statuses
from support.mlflow_store import aliases

pytestmark = pytest.mark.slow

PIPELINE = "tabular-regression"


def run(folder: Path, data: Path, *params: str) -> tuple[int, dict]:
    return run_pipeline(PIPELINE, folder, (f"data_uri={data}", "target_column=target", *params))


def test_diabetes_approved_then_a_weaker_regressor_rejected(diabetes_csv: Path, tmp_path: Path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    # 1. The default estimator (ridge) at the default thresholds ({"r2": 0.3}).
    code, first = run(tmp_path / "run-1", diabetes_csv, f"mlflow_tracking_uri={store}")
    assert code == 0, first["error"]
    assert first["gate"]["approved"] is True
    assert first["gate"]["reasons"][0].startswith("r2 0.5")
    assert set(first["metrics"]) >= {"rmse", "mae", "r2", "mape", "median_absolute_error"}
    steps = step_statuses(first)
    assert steps["train-sklearn-regressor"] == steps["evaluate-regressor"] == "succeeded"
    assert steps["serve-check"] == steps["register-model"] == "succeeded"
    assert first["registry"]["champion_version"] == "1"  # promoted in the registration step
    assert first["serving"]["rows_checked"] > 0
    assert aliases(store, "tabular-regressor") == {"champion": "1", "challenger": "1"}
    (report,) = (tmp_path / "run-1" / "outputs").glob("*/evaluate-regressor/report")
    assert report.read_text().count("data:image/png;base64,") == 2

    # 2. A stump passes r2 >= 0.3 and rmse <= 80 but falls more than 5 % behind the champion.
    code, weaker = run(
        tmp_path / "run-2",
        diabetes_csv,
        f"mlflow_tracking_uri={store}",
        "estimator=decision_tree",
        'hyperparameters={"max_depth": 1}',
        'thresholds={"r2": 0.3, "rmse": 80.0}',
    )
    assert code == 3  # succeeded, gate rejected
    failed = [reason for reason in weaker["gate"]["reasons"] if "outside" in reason]
    assert failed, weaker["gate"]["reasons"]
    assert all("worse than champion version 1's" in reason for reason in failed)
    assert all("outside the 5.00% margin" in reason for reason in failed)
    assert any(reason.startswith("rmse ") and "(must be <= " in reason for reason in failed)
    assert step_statuses(weaker)["register-model"] == "skipped"
    assert aliases(store, "tabular-regressor") == {"champion": "1", "challenger": "1"}


def test_make_regression_reaches_r2_of_0_9(tmp_path: Path):
    features, target = make_regression(2000, noise=10, random_state=0)
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(features.shape[1])])
    frame["target"] = target
    path = tmp_path / "regression.csv"
    frame.to_csv(path, index=False)
    code, summary = run(tmp_path / "run", path)
    assert code == 0, summary["error"]
    assert summary["metrics"]["r2"] >= 0.9


def _class_label_csv(folder: Path) -> Path:
    path = folder / "labels.csv"
    frame = pd.DataFrame({"x": np.arange(200.0), "target": [0, 1] * 100})
    frame.to_csv(path, index=False)
    return path


def _constant_csv(folder: Path) -> Path:
    path = folder / "constant.csv"
    pd.DataFrame({"x": np.arange(200.0), "target": 7.5}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("make", "params", "message"),
    [
        (
            _class_label_csv,
            (),
            "it looks like a class label, not a quantity; for class labels "
            "use the tabular-classification pipeline",
        ),
        (_constant_csv, (), "target column 'target' is constant (7.5)"),
    ],
)
def test_bad_targets_stop_at_validation(make, params, message, tmp_path: Path):
    code, summary = run(tmp_path / "run", make(tmp_path), *params)
    assert code == 1
    assert "\n" not in summary["error"] and message in summary["error"]
    steps = step_statuses(summary)
    assert steps["validate-regression-dataset"] == "failed"
    assert steps["train-sklearn-regressor"] == "skipped"


def test_a_classification_threshold_fails_the_gate_step(diabetes_csv: Path, tmp_path: Path):
    code, summary = run(tmp_path / "run", diabetes_csv, 'thresholds={"accuracy": 0.9}')
    assert code == 1
    assert "\n" not in summary["error"]
    assert "threshold(s) accuracy name classification metrics" in summary["error"]
    steps = step_statuses(summary)
    assert steps["champion-challenger-gate"] == "failed"
    assert steps["register-model"] == steps["record-rejection"] == "skipped"


def test_tuning_a_forest_on_rmse_trains_the_best_trial(diabetes_csv: Path, tmp_path: Path):
    code, summary = run(tmp_path / "run", diabetes_csv, "estimator=random_forest", "n_trials=4")
    assert code == 0, summary["error"]
    steps = step_statuses(summary)
    assert steps["create-study"] == steps["run-trials"] == steps["summarize-study"] == "succeeded"
    assert steps["given-regressor-hyperparameters"] == "skipped"
    (output,) = (tmp_path / "run" / "outputs").glob("*/summarize-study/executor_output.json")
    best = json.loads(output.read_text())["parameterValues"]
    assert 30.0 < best["best_score"] < 90.0  # validation rmse, in the target's units
    assert set(best["best_hyperparameters"]) == {
        "n_estimators",
        "max_depth",
        "min_samples_leaf",
        "max_features",
    }
