"""The PyTorch MLP as a regressor: MSE training, exports answering numbers, evaluation reads it."""

import json

import numpy as np
import pyarrow as pa
import pytest
import torch
from support.torch_training import train_small_mlp

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.common.torch_artifact import (
    REGRESSOR_FORMAT,
    TorchOnnxRegressor,
    load_onnx_classifier,
)
from kfp_mlops.components.evaluation.regression import evaluate_regressor_model
from kfp_mlops.components.training.torch_export import load_state_dict
from kfp_mlops.components.training.torch_models import PredictionModule, build_regressor


@pytest.fixture(scope="module")
def regressor(diabetes_splits, tmp_path_factory) -> tuple:
    """A small MLP regressor trained on diabetes: its folder and metadata."""
    folder = tmp_path_factory.mktemp("torch-regressor") / "model"
    metadata = train_small_mlp(diabetes_splits, folder, task="regression")
    return folder, metadata


def test_metadata_and_manifest_say_regression(regressor, capsys):
    folder, metadata = regressor
    assert metadata["task"] == "regression" and metadata["framework"] == "pytorch"
    assert "classes" not in metadata and "validation_accuracy" not in metadata
    assert len(metadata["feature_columns"]) == 10
    # diabetes' target spans 25-346 (standard deviation about 77): a fitted model is far better
    assert 0 < metadata["validation_rmse"] < 65 and metadata["validation_r2"] > 0.3
    manifest = json.loads((folder / "kfp_mlops_model.json").read_text())
    assert manifest["format"] == REGRESSOR_FORMAT and manifest["task"] == "regression"
    assert manifest["output"] == {"name": "predictions", "datatype": "FP32", "shape": [-1, 1]}
    assert "classes" not in manifest
    config = (folder / "model" / "config.pbtxt").read_text()
    assert 'name: "predictions" data_type: TYPE_FP32 dims: [ -1, 1 ]' in config


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_state_dict_torchscript_and_onnx_answer_the_same_numbers(regressor, diabetes_splits):
    folder, metadata = regressor
    test = read_parquet(diabetes_splits["test"]).to_pandas()
    rows = test[metadata["feature_columns"]].to_numpy(dtype=np.float32)
    rows[0, 2] = np.nan  # a missing value is filled by the model itself

    rebuilt = build_regressor("mlp", metadata["hyperparameters"], 10)
    rebuilt.load_state_dict(load_state_dict(folder))
    scripted = torch.jit.load(str(folder / "model_torchscript" / "1" / "model.pt"))
    with torch.no_grad():
        from_state = PredictionModule(rebuilt.eval())(torch.from_numpy(rows)).numpy()
        from_script = scripted(torch.from_numpy(rows)).numpy()
    onnx = load_model_dir(folder)
    assert isinstance(onnx, TorchOnnxRegressor) and not hasattr(onnx, "predict_proba")
    from_onnx = onnx.predict(rows)

    assert from_state.shape == (len(rows), 1) and from_onnx.shape == (len(rows),)
    np.testing.assert_allclose(from_script[:, 0], from_state[:, 0], rtol=1e-5)
    np.testing.assert_allclose(from_onnx, from_state[:, 0], rtol=1e-5)
    # in the target's units, not standardized ones
    assert 25 < float(np.median(from_onnx)) < 346


def test_evaluate_regressor_scores_the_onnx_export(regressor, diabetes_splits):
    folder, metadata = regressor
    evaluation = evaluate_regressor_model(str(folder), diabetes_splits["test"], "target")
    scores = evaluation.result.scalars
    assert scores["r2"] > 0.3 and scores["rmse"] < 65
    test = read_parquet(diabetes_splits["test"]).to_pandas()
    expected = load_model_dir(folder).predict(test[metadata["feature_columns"]])
    np.testing.assert_allclose(evaluation.result.predicted, expected, rtol=1e-6)


def test_a_regressor_is_not_read_as_a_classifier(regressor):
    with pytest.raises(ComponentInputError, match=r"is a regressor .*evaluate_regressor"):
        load_onnx_classifier(regressor[0])


def test_a_text_or_infinite_target_is_refused_before_training(diabetes_splits, tmp_path):
    table = read_parquet(diabetes_splits["train"])
    labels = table.set_column(
        table.column_names.index("target"),
        "target",
        pa.array(["high" if v > 150 else "low" for v in table.column("target").to_pylist()]),
    )
    write_parquet(labels, tmp_path / "text.parquet")
    with pytest.raises(ComponentInputError, match=r"not numeric.*tabular-classification"):
        train_small_mlp(
            {"train": str(tmp_path / "text.parquet"), "validation": diabetes_splits["validation"]},
            tmp_path / "model",
            task="regression",
        )
    values = table.column("target").to_numpy().copy()
    values[3] = np.inf
    infinite = table.set_column(table.column_names.index("target"), "target", pa.array(values))
    write_parquet(infinite, tmp_path / "inf.parquet")
    with pytest.raises(ComponentInputError, match="1 NaN or infinite"):
        train_small_mlp(
            {"train": str(tmp_path / "inf.parquet"), "validation": diabetes_splits["validation"]},
            tmp_path / "model",
            task="regression",
        )
    assert not (tmp_path / "model").exists()


def test_an_unknown_task_is_named(diabetes_splits, tmp_path):
    with pytest.raises(ComponentInputError, match="task is 'ranking'; choose one of"):
        train_small_mlp(diabetes_splits, tmp_path / "model", task="ranking")
