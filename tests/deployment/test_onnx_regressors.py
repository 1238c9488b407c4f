"""Each offered regressor's ONNX export (skl2onnx): its Triton layout and its float32 tolerance."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import REGRESSORS
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.onnx_model import OnnxRegressor
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.serving.check import ONNX_MIN_R2, compare_onnx_regressor
from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

EXACT = ("decision_tree", "elastic_net", "k_nearest_neighbors", "linear_regression", "ridge")
"""Regressors whose float32 export equals the float64 model within rounding on every row (no
ensemble of trees whose splits float32 can move)."""


@pytest.fixture(scope="module")
def test_rows(diabetes_splits):
    return read_parquet(diabetes_splits["test"]).to_pandas().drop(columns=["target"])


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_each_regressor_is_exported_within_the_stated_tolerance(
    name, diabetes_splits, test_rows, tmp_path
):
    folder = tmp_path / "model"
    metadata = train_regressor_to_directory(diabetes_splits["train"], str(folder), "target", name)

    onnx = metadata["onnx"]
    assert onnx["exported"] is True and onnx["task"] == "regression"
    assert onnx["outputs"] == ["predictions"] and "label_datatype" not in onnx
    config = (folder / "onnx" / "model" / "config.pbtxt").read_text()
    assert 'name: "predictions"\n    data_type: TYPE_FP32\n    dims: [ -1, 1 ]' in config
    assert "label" not in config and "probabilities" not in config
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib", "onnx"]

    model = load_model_dir(folder)
    comparison = compare_onnx_regressor(str(folder), model, test_rows, onnx)
    assert comparison.r2 >= ONNX_MIN_R2
    if name in EXACT:
        assert comparison.agreement == 1.0
        produced = OnnxRegressor(folder, metadata).predict(test_rows)
        np.testing.assert_allclose(produced, model.predict(test_rows), rtol=1e-5)


def test_an_export_that_answers_other_numbers_is_refused(diabetes_splits, test_rows, tmp_path):
    folder = tmp_path / "model"
    metadata = train_regressor_to_directory(diabetes_splits["train"], str(folder), "target")
    other = DummyRegressor().fit(test_rows, np.arange(len(test_rows), dtype=float))
    with pytest.raises(ComponentInputError, match=r"reach R² -?[0-9.]+ .*at least 0.999 needed"):
        compare_onnx_regressor(str(folder), other, test_rows, metadata["onnx"])
