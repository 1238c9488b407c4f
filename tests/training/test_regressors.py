"""Each offered regressor trains on the diabetes split into a Model the KServe runtime loads."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import REGRESSORS, make_estimator
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

KSERVE_REFUSED = {"gradient_boosting"}
"""Regressors whose joblib file KServe's restricted unpickler refuses (README, Known limits)."""


@pytest.mark.parametrize("name", sorted(set(REGRESSORS) - KSERVE_REFUSED))
def test_each_regressor_trains_a_model_directory(name, diabetes_splits, tmp_path: Path):
    folder = tmp_path / "model"
    metadata = train_regressor_to_directory(
        diabetes_splits["train"],
        str(folder),
        "target",
        name,
        validation_path=diabetes_splits["validation"],
    )
    # one model file for the sklearn runtime; the ONNX export is a Triton repository beside it
    assert sorted(path.name for path in folder.iterdir()) == ["model.joblib", "onnx"]
    assert metadata["task"] == "regression"
    assert metadata["estimator"] == name
    assert metadata["onnx"]["exported"] is True
    assert metadata["validation_rows"] == 66
    assert np.isfinite(metadata["validation_rmse"])
    model = load_model_dir(folder)  # the restricted unpickler of the KServe sklearn runtime
    test = pd.read_parquet(diabetes_splits["test"])
    predicted = model.predict(test[metadata["feature_columns"]])
    assert predicted.dtype.kind == "f" and predicted.shape == (len(test),)


def test_gradient_boosting_loads_under_our_restricted_unpickler(diabetes_splits, tmp_path):
    """Its pickle rebuilds arrays with numpy._core.numeric._frombuffer, which numpy 2 emits and the
    restricted unpickler admits (common/model_loading.py)."""
    folder = tmp_path / "model"
    train_regressor_to_directory(
        diabetes_splits["train"], str(folder), "target", "gradient_boosting"
    )
    test = read_parquet(diabetes_splits["test"]).drop_columns(["target"]).to_pandas()
    assert load_model_dir(folder).predict(test).shape == (len(test),)


def test_whole_floats_from_kfp_become_ints():
    forest = make_estimator("random_forest", {"n_estimators": 20.0}, task="regression")
    assert forest.n_estimators == 20 and isinstance(forest.n_estimators, int)


def test_a_classifier_name_is_not_a_regressor():
    with pytest.raises(ComponentInputError, match="unknown regressor 'logistic_regression'"):
        make_estimator("logistic_regression", task="regression")


def test_an_unknown_hyperparameter_names_the_valid_ones():
    with pytest.raises(ComponentInputError, match="'alpah' \\(did you mean 'alpha'\\?\\)"):
        make_estimator("ridge", {"alpah": 1.0}, task="regression")


def test_a_text_target_is_refused(breast_cancer_splits, tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(breast_cancer_splits["train"])
    labels = pa.array(["yes" if value else "no" for value in table.column("target").to_pylist()])
    table = table.set_column(table.column_names.index("target"), "target", labels)
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    with pytest.raises(ComponentInputError, match=r"not numeric.*tabular-classification"):
        train_regressor_to_directory(str(path), str(tmp_path / "model"), "target")
    assert not (tmp_path / "model").exists()
