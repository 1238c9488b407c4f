"""The ONNX export written beside model.joblib: a Triton repository predicting the same labels."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import ESTIMATORS
from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.model_io import load_sklearn_model
from kfp_mlops.components.common.model_loading import find_model_file
from kfp_mlops.components.common.onnx_model import OnnxClassifier, OnnxLayout, v2_request
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.training.train import train_to_directory


def _train(splits, tmp_path: Path, estimator: str, target: str = "label") -> tuple[Path, dict]:
    model_dir = tmp_path / estimator
    metadata = train_to_directory(str(splits["train"]), str(model_dir), target, estimator)
    return model_dir, metadata


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_every_estimator_exports_an_onnx_model_predicting_the_same_labels(
    estimator, mixed_splits, tmp_path
):
    model_dir, metadata = _train(mixed_splits, tmp_path, estimator)
    test = read_parquet(mixed_splits["test"])
    frame = feature_frame(test, metadata["feature_columns"])

    labels, probabilities = OnnxClassifier(model_dir, metadata).run(frame)

    sklearn_model = load_sklearn_model(model_dir)
    agreement = (labels == sklearn_model.predict(frame)).mean()
    # float32 in the graph: a value within rounding of a split may take the other branch.
    assert agreement >= 0.98
    assert probabilities.shape == (len(frame), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_export_is_a_triton_repository_beside_the_one_joblib(mixed_splits, tmp_path):
    model_dir, metadata = _train(mixed_splits, tmp_path, "logistic_regression")

    assert find_model_file(model_dir).name == "model.joblib"
    onnx = metadata["onnx"]
    assert onnx["exported"] is True
    assert onnx["path"] == "onnx/model/1/model.onnx"
    assert (model_dir / onnx["path"]).is_file()
    config = (model_dir / "onnx" / "model" / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config
    assert "max_batch_size: 0" in config
    # One input per feature column, text as strings, labels as the classes' type (strings here).
    assert [item["column"] for item in onnx["inputs"]] == metadata["feature_columns"]
    assert {item["column"]: item["datatype"] for item in onnx["inputs"]} == {
        "amount": "FP32",
        "count": "FP32",
        "flag": "FP32",
        "colour": "BYTES",
    }
    assert config.count("data_type: TYPE_STRING") == 2  # colour and the label
    assert onnx["label_datatype"] == "BYTES"


def test_missing_values_are_imputed_as_in_the_joblib_model(mixed_splits, tmp_path):
    model_dir, metadata = _train(mixed_splits, tmp_path, "logistic_regression")
    frame = feature_frame(read_parquet(mixed_splits["test"]), metadata["feature_columns"])
    frame.loc[:9, "amount"] = np.nan
    frame.loc[5:14, "colour"] = np.nan

    labels, probabilities = OnnxClassifier(model_dir, metadata).run(frame)

    sklearn_model = load_sklearn_model(model_dir)
    assert (labels == sklearn_model.predict(frame)).all()
    np.testing.assert_allclose(probabilities, sklearn_model.predict_proba(frame), atol=1e-5)


def test_column_names_with_spaces_become_valid_input_names(breast_cancer_splits, tmp_path):
    _, metadata = _train(breast_cancer_splits, tmp_path, "random_forest", "target")
    names = {item["column"]: item["name"] for item in metadata["onnx"]["inputs"]}
    assert names["mean radius"] == "mean_radius"
    assert metadata["onnx"]["label_datatype"] == "INT64"


def test_float_classes_train_but_record_why_there_is_no_export(mixed_splits, tmp_path):
    table = read_parquet(mixed_splits["train"])
    labels = np.where(np.array(table.column("label").to_pylist()) == "yes", 1.0, 0.0)
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(labels))
    write_parquet(table, tmp_path / "train.parquet")

    metadata = train_to_directory(
        str(tmp_path / "train.parquet"), str(tmp_path / "model"), "label", "logistic_regression"
    )

    assert metadata["onnx"]["exported"] is False
    assert "float64" in metadata["onnx"]["reason"]
    assert not (tmp_path / "model" / "onnx").exists()
    with pytest.raises(ComponentInputError, match=r"no ONNX export: .*float64"):
        OnnxClassifier(tmp_path / "model", metadata)


def test_v2_request_carries_one_tensor_per_input(mixed_splits, tmp_path):
    _, metadata = _train(mixed_splits, tmp_path, "logistic_regression")
    layout = OnnxLayout.from_metadata(metadata)
    frame = feature_frame(read_parquet(mixed_splits["test"]), metadata["feature_columns"])
    complete = frame.dropna().head(3)

    body = v2_request(layout, complete, "smoke-1")

    assert body["id"] == "smoke-1"
    assert [tensor["name"] for tensor in body["inputs"]] == layout.input_names
    colour = body["inputs"][3]
    assert colour["datatype"] == "BYTES" and colour["shape"] == [3, 1]
    assert colour["data"] == complete["colour"].tolist()
    with pytest.raises(ComponentInputError, match="'amount' has a missing value"):
        v2_request(layout, frame[frame["amount"].isna()].head(1), "smoke-2")
