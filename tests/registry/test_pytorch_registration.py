"""Registering a PyTorch Model: its ONNX export as the MLflow model, every format as artifacts."""

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from support.torch_training import train_small_mlp

from kfp_mlops.components.common.mlflow_registry import version_with_alias
from kfp_mlops.components.common.torch_artifact import load_onnx_classifier
from kfp_mlops.components.evaluation.evaluate import evaluate_model
from kfp_mlops.components.registry.register import register_training


@pytest.mark.slow
def test_a_pytorch_model_is_registered_as_its_onnx_export(
    breast_cancer_splits, dataset_parts, tracking_uri, tmp_path
):
    model_dir = tmp_path / "model"
    metadata = train_small_mlp(breast_cancer_splits, model_dir)
    metrics = evaluate_model(str(model_dir), breast_cancer_splits["test"], "target")

    registration = register_training(
        str(model_dir),
        metadata,
        metrics.metrics_content(),
        dataset_parts,
        tracking_uri,
        "digits-torch",
    )

    client = MlflowClient(tracking_uri)
    assert version_with_alias(tracking_uri, "digits-torch", "challenger").version == "1"
    run = client.get_run(registration.run_id)
    assert run.data.params["estimator"] == "pytorch_mlp"
    assert run.data.params["hidden_sizes"] == "[16]"
    assert run.data.metrics["accuracy"] == pytest.approx(metrics.result.scalars["accuracy"])
    artifacts = {item.path for item in client.list_artifacts(registration.run_id, "pytorch_model")}
    assert {"pytorch_model/state_dict.pt", "pytorch_model/model_torchscript"} <= artifacts
    mlflow.set_tracking_uri(tracking_uri)
    loaded = mlflow.pyfunc.load_model(registration.model_uri)
    rows = pd.read_parquet(breast_cancer_splits["test"])[metadata["feature_columns"]].head(4)
    served = np.asarray(loaded.predict(rows.astype("float32"))).reshape(4, 2)
    expected = load_onnx_classifier(model_dir).predict_proba(rows)
    np.testing.assert_allclose(served, expected, rtol=1e-6)


@pytest.mark.slow
def test_a_pytorch_regressor_is_registered_with_its_task(diabetes_splits, tracking_uri, tmp_path):
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet
    from kfp_mlops.components.common.torch_artifact import load_onnx_model
    from kfp_mlops.components.evaluation.regression import evaluate_regressor_model
    from kfp_mlops.components.registry.register import DatasetPart

    model_dir = tmp_path / "model"
    metadata = train_small_mlp(diabetes_splits, model_dir, task="regression")
    metrics = evaluate_regressor_model(str(model_dir), diabetes_splits["test"], "target")
    parts = {
        name: DatasetPart(path=path, uri=path, metadata=dataset_metadata(read_parquet(path)))
        for name, path in diabetes_splits.items()
    }

    registration = register_training(
        str(model_dir), metadata, metrics.metrics_content(), parts, tracking_uri, "diabetes-torch"
    )

    client = MlflowClient(tracking_uri)
    version = client.get_model_version("diabetes-torch", registration.model_version)
    assert version.tags["task"] == "regression"
    run = client.get_run(registration.run_id)
    assert run.data.tags["task"] == "regression"
    assert run.data.metrics["rmse"] == pytest.approx(metrics.result.scalars["rmse"])
    mlflow.set_tracking_uri(tracking_uri)
    loaded = mlflow.pyfunc.load_model(registration.model_uri)
    rows = pd.read_parquet(diabetes_splits["test"])[metadata["feature_columns"]].head(4)
    served = np.asarray(loaded.predict(rows.astype("float32"))).reshape(4)
    np.testing.assert_allclose(served, load_onnx_model(model_dir).predict(rows), rtol=1e-6)
