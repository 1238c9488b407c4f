"""retrain-on-drift retrains a regression champion as a regressor, through the command users run."""

from pathlib import Path

import pandas as pd
import pytest
from support.cli_runs import run_pipeline, step_statuses

pytestmark = pytest.mark.slow

SHIFTED = ("bmi", "s5")
"""Diabetes features moved by one standard deviation in the current data."""


@pytest.fixture()
def regression_champion(diabetes_splits, tmp_path) -> str:
    """An MLflow store whose "tabular-regressor" has a ridge champion, registered by our steps."""
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet
    from kfp_mlops.components.evaluation.regression import evaluate_regressor_model
    from kfp_mlops.components.registry.register import DatasetPart, register_training
    from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

    model_dir = tmp_path / "champion"
    metadata = train_regressor_to_directory(diabetes_splits["train"], str(model_dir), "target")
    evaluation = evaluate_regressor_model(str(model_dir), diabetes_splits["test"], "target")
    parts = {
        name: DatasetPart(path=path, uri=path, metadata=dataset_metadata(read_parquet(path)))
        for name, path in diabetes_splits.items()
    }
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    register_training(
        model_dir=str(model_dir),
        model_metadata=metadata,
        metrics_metadata=evaluation.metrics_content(),
        datasets=parts,
        tracking_uri=tracking_uri,
        registered_model_name="tabular-regressor",
        alias="champion",
    )
    return tracking_uri


def test_drifted_data_retrains_the_regression_champion_as_a_regressor(
    regression_champion, diabetes_csv: Path, tmp_path: Path
):
    frame = pd.read_csv(diabetes_csv)
    for column in SHIFTED:
        frame[column] = frame[column] + frame[column].std()
    current = tmp_path / "current.csv"
    frame.to_csv(current, index=False)

    code, summary = run_pipeline(
        "retrain-on-drift",
        tmp_path / "run",
        (
            f"reference_uri={diabetes_csv}",
            f"current_uri={current}",
            "target_column=target",
            f"mlflow_tracking_uri={regression_champion}",
            "registered_model_name=tabular-regressor",
        ),
    )

    monitoring = summary["monitoring"]
    assert monitoring["drift_detected"] is True and monitoring["retrain"] is True
    assert set(SHIFTED) <= set(monitoring["drifted_features"])
    # check_model_quality scored the champion as a regressor: its regression metrics, by default
    quality = [reason for reason in monitoring["reasons"] if reason.startswith("quality: ")]
    assert sorted(reason.split()[1] for reason in quality) == ["mae", "r2", "rmse"], quality
    steps = step_statuses(summary)
    for step in (
        "check-model-quality",
        "validate-regression-dataset",
        "split-regression-dataset",
        "train-sklearn-regressor",
        "evaluate-regressor",
    ):
        assert steps[step] == "succeeded", step
    assert steps["train-sklearn"] == steps["evaluate-classifier"] == "skipped"
    assert set(summary["metrics"]) >= {"rmse", "mae", "r2"}
    # Ridge absorbs a shift of its features in its intercept: the retrained regressor is as good
    # as the champion, within the 5 % margin, and becomes version 2.
    assert summary["gate"]["approved"] is True, summary["gate"]["reasons"]
    assert code == 0, summary["error"]
    assert summary["registry"]["model_version"] == "2"
