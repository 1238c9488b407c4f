"""Model quality of a regression champion: its error metrics degrade upwards."""

import pyarrow.compute as pc
import pytest

from kfp_mlops.components.monitoring.quality import check_quality, compare_metric


def test_error_metrics_degrade_upwards_and_r2_downwards():
    assert compare_metric("rmse", 50.0, 53.0, 0.05).degraded is True  # +6 %
    assert compare_metric("rmse", 50.0, 52.0, 0.05).degraded is False  # +4 %
    assert compare_metric("mae", 40.0, 30.0, 0.05).degraded is False  # better
    assert compare_metric("r2", 0.5, 0.47, 0.05).degraded is True  # -6 %


@pytest.fixture(scope="module")
def regression_champion(tmp_path_factory, diabetes_splits) -> str:
    """An MLflow store whose model "reg" has a ridge version with alias "champion", trained,
    evaluated and registered by this library's own steps."""
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet
    from kfp_mlops.components.evaluation.regression import evaluate_regressor_model
    from kfp_mlops.components.registry.register import DatasetPart, register_training
    from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

    folder = tmp_path_factory.mktemp("regression-champion")
    model_dir = folder / "model"
    metadata = train_regressor_to_directory(diabetes_splits["train"], str(model_dir), "target")
    evaluation = evaluate_regressor_model(str(model_dir), diabetes_splits["test"], "target")
    parts = {
        name: DatasetPart(path=path, uri=path, metadata=dataset_metadata(read_parquet(path)))
        for name, path in diabetes_splits.items()
    }
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    register_training(
        model_dir=str(model_dir),
        model_metadata=metadata,
        metrics_metadata=evaluation.metrics_content(),
        datasets=parts,
        tracking_uri=tracking_uri,
        registered_model_name="reg",
        alias="champion",
    )
    return tracking_uri


@pytest.mark.slow
def test_a_regression_champion_is_tagged_scored_and_flagged(
    regression_champion, diabetes_splits, tmp_path
):
    from kfp_mlops.components.common.tables import read_parquet, write_parquet

    same = check_quality(diabetes_splits["test"], "target", regression_champion, "reg")
    assert same.champion.tags["task"] == "regression"
    assert [item.name for item in same.comparisons] == ["rmse", "mae", "r2"]
    assert same.degraded is False

    # New labels 30 higher: the champion's errors grow far beyond 5 %.
    test = read_parquet(diabetes_splits["test"])
    shifted = pc.add(test.column("target"), 30.0)
    path = tmp_path / "shifted.parquet"
    write_parquet(test.set_column(test.column_names.index("target"), "target", shifted), path)
    worse = check_quality(str(path), "target", regression_champion, "reg", metric_names=["rmse"])
    assert worse.degraded is True
    assert worse.reasons[0].startswith("rmse ") and "degraded beyond 5%" in worse.reasons[0]
