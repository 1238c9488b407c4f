"""Every estimator the library offers trains, passes the serve-check (V1 and V2) and runs through
the local tabular-classification pipeline to a registered, promoted version."""

import json

import pytest
from support.cli_runs import run_pipeline, step_statuses

from kfp_mlops.components.common.estimators import ESTIMATORS
from kfp_mlops.components.serving.check import run_serve_check
from kfp_mlops.components.training.train import train_to_directory

pytestmark = pytest.mark.slow

CHEAP = {
    "logistic_regression": {},
    "random_forest": {"n_estimators": 10},
    "gradient_boosting": {"n_estimators": 20},
    "hist_gradient_boosting": {"max_iter": 20},
    "decision_tree": {"max_depth": 4},
    "k_nearest_neighbors": {},
}
"""Small hyperparameters per estimator, so that the loop stays cheap."""


def test_the_loop_covers_every_offered_estimator():
    assert sorted(CHEAP) == sorted(ESTIMATORS)


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_estimator_trains_and_passes_the_serve_check(estimator, breast_cancer_splits, tmp_path):
    metadata = train_to_directory(
        breast_cancer_splits["train"],
        str(tmp_path / "model"),
        "target",
        estimator,
        hyperparameters=CHEAP[estimator],
    )

    result = run_serve_check(
        str(tmp_path / "model"),
        breast_cancer_splits["test"],
        "target",
        str(tmp_path / "report.md"),
        str(tmp_path / "metrics.json"),
        feature_columns=metadata["feature_columns"],
        max_rows=20,
    )

    assert result.rows_checked == 20
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for protocol in ("v1_rows", "v1_pandas", "v2"):
        assert metrics[f"{protocol}_batch_latency_ms"] > 0


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_estimator_runs_through_the_local_pipeline(estimator, breast_cancer_csv, tmp_path):
    code, summary = run_pipeline(
        "tabular-classification",
        tmp_path,
        [
            f"data_uri={breast_cancer_csv}",
            "target_column=target",
            f"estimator={estimator}",
            f"hyperparameters={json.dumps(CHEAP[estimator])}",
            'thresholds={"accuracy": 0.8}',
        ],
    )

    assert code == 0, summary["error"]
    steps = step_statuses(summary)
    assert steps["serve-check"] == steps["register-model-with-card"] == "succeeded"
    assert summary["registry"]["model_version"] == "1"
    assert summary["registry"]["champion_version"] == "1"
    assert summary["serving"]["rows_checked"] > 0
