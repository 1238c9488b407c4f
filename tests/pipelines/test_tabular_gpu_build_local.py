"""tabular-classification built for a GPU profile runs the PyTorch MLP end to end (here on CPU)."""

import pytest

from kfp_mlops.compile import local_run, summary
from kfp_mlops.pipelines import PIPELINES, placement
from kfp_mlops.pipelines.hardware import PROFILES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Task 'train-pytorch'.*no effect:UserWarning"),
]


def test_the_gpu_build_trains_registers_and_serves_the_mlp(breast_cancer_csv, tmp_path):
    pipeline = placement.build(
        PIPELINES["tabular-classification"], placement.BuildOptions(gpu=PROFILES["nvidia-l4"])
    )
    run = local_run.run_locally(
        pipeline,
        {
            "data_uri": str(breast_cancer_csv),
            "target_column": "target",
            "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "mlp_hyperparameters": {"hidden_sizes": [32]},
            "mlp_max_epochs": 30,
        },
        tmp_path / "run",
    )
    result = summary.summarize(run)

    assert result["status"] == "succeeded", result["error"]
    steps = {step["name"]: step["status"] for step in result["steps"]}
    assert steps["train-pytorch"] == "succeeded" and "train-sklearn" not in steps
    assert steps["register-model-with-card"] == steps["serve-check"] == "succeeded"
    assert result["metrics"]["accuracy"] >= 0.9
    assert result["registry"]["model_version"] == "1"
    log = (tmp_path / "run" / "pipeline.log").read_text()
    assert "training mlp on cpu" in log


def test_the_gpu_build_of_regression_trains_evaluates_and_serves_the_mlp_regressor(
    diabetes_csv, tmp_path
):
    from mlflow import MlflowClient

    pipeline = placement.build(
        PIPELINES["tabular-regression"], placement.BuildOptions(gpu=PROFILES["nvidia-l4"])
    )
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = local_run.run_locally(
        pipeline,
        {
            "data_uri": str(diabetes_csv),
            "target_column": "target",
            "mlflow_tracking_uri": tracking_uri,
            "mlp_hyperparameters": {"hidden_sizes": [32]},
            "mlp_max_epochs": 60,
        },
        tmp_path / "run",
    )
    result = summary.summarize(run)

    assert result["status"] == "succeeded", result["error"]
    steps = {step["name"]: step["status"] for step in result["steps"]}
    assert steps["train-pytorch"] == "succeeded" and "train-sklearn-regressor" not in steps
    assert steps["evaluate-regressor"] == steps["serve-check"] == "succeeded"
    assert steps["register-model"] == "succeeded"
    assert result["metrics"]["r2"] >= 0.3  # the pipeline's default threshold approved it
    version = MlflowClient(tracking_uri).get_model_version("tabular-regressor", "1")
    assert version.tags["task"] == "regression"
    assert "a numeric target" in (tmp_path / "run" / "pipeline.log").read_text()
