"""The training step: one model.joblib, train-only preprocessing, inputs KServe sends, metadata."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_iris

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.model_io import load_sklearn_model
from kfp_mlops.components.common.tables import fingerprint, read_parquet, write_parquet
from kfp_mlops.components.data.split import split_to_parquet
from kfp_mlops.components.training.train import train_to_directory

MODEL_KEYS = {
    "framework",
    "task",
    "estimator",
    "hyperparameters",
    "feature_columns",
    "excluded_columns",
    "target_column",
    "classes",
    "train_fingerprint",
    "train_rows",
    "sklearn_version",
    "onnx",
}


@pytest.fixture(scope="module")
def mixed_model(mixed_splits, tmp_path_factory) -> tuple[Path, dict]:
    """A logistic regression trained on the mixed table, and its metadata."""
    model_dir = tmp_path_factory.mktemp("mixed_model") / "model"
    metadata = train_to_directory(
        str(mixed_splits["train"]), str(model_dir), "label", "logistic_regression"
    )
    return model_dir, metadata


def _json_rows(frame: pd.DataFrame) -> list[list[object]]:
    """Rows as a V1 request body carries them: JSON numbers, strings and nulls."""
    rows = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return json.loads(json.dumps(rows))


def test_model_directory_holds_exactly_one_model_joblib(mixed_model):
    model_dir, _ = mixed_model
    files = sorted(path.name for path in model_dir.iterdir() if path.is_file())
    assert files == ["model.joblib"]
    assert sorted(path.name for path in model_dir.iterdir() if path.is_dir()) == ["onnx"]


def test_metadata_follows_the_model_contract(mixed_model, mixed_splits):
    _, metadata = mixed_model
    assert set(metadata) == MODEL_KEYS
    assert metadata["framework"] == "sklearn"
    assert metadata["task"] == "classification"
    assert metadata["estimator"] == "logistic_regression"
    assert metadata["hyperparameters"]["max_iter"] == 1000
    assert metadata["hyperparameters"]["random_state"] == 42
    assert metadata["feature_columns"] == ["amount", "count", "flag", "colour"]
    assert metadata["excluded_columns"] == ["seen_at"]
    assert metadata["target_column"] == "label"
    assert metadata["classes"] == ["no", "yes"]
    assert metadata["train_rows"] == 300
    assert metadata["train_fingerprint"] == fingerprint(read_parquet(mixed_splits["train"]))
    json.dumps(metadata)


def test_preprocessing_is_fitted_on_the_train_split_only(mixed_model, mixed_splits):
    model = load_sklearn_model(mixed_model[0])
    train = read_parquet(mixed_splits["train"]).to_pandas()
    everything = pd.concat([train, read_parquet(mixed_splits["test"]).to_pandas()])
    preprocess = model.named_steps["preprocess"]
    numeric = preprocess.named_transformers_["numeric"]
    columns = ["amount", "count", "flag"]
    train_medians = train[columns].astype(float).median().to_numpy()
    np.testing.assert_allclose(numeric.named_steps["impute"].statistics_, train_medians)
    # The whole data has other medians, so the check above tells the two apart.
    assert everything["amount"].median() != train["amount"].median()
    imputed = train[columns].astype(float).fillna(dict(zip(columns, train_medians, strict=True)))
    np.testing.assert_allclose(numeric.named_steps["scale"].mean_, imputed.mean().to_numpy())
    categorical = preprocess.named_transformers_["categorical"]
    assert categorical.named_steps["impute"].statistics_.tolist() == [train["colour"].mode()[0]]


def test_dataframe_object_array_and_string_array_predict_identically(mixed_model, mixed_splits):
    model = load_sklearn_model(mixed_model[0])
    test = read_parquet(mixed_splits["test"])
    frame = feature_frame(test, mixed_model[1]["feature_columns"])
    rows = _json_rows(frame)
    assert any(None in row for row in rows)  # missing numbers and text travel as JSON null
    expected = model.predict_proba(frame)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        as_objects = model.predict_proba(np.array(rows, dtype=object))
        # What the KServe runtime builds with np.array(instances): text when no null is present.
        complete = [row for row in rows if None not in row]
        as_text = model.predict_proba(np.array(complete))
    assert np.array(complete).dtype.kind == "U"
    np.testing.assert_allclose(as_objects, expected)
    complete_index = [i for i, row in enumerate(rows) if None not in row]
    np.testing.assert_allclose(as_text, expected[complete_index])


def test_numeric_model_takes_float_arrays_and_dataframes_in_any_column_order(
    breast_cancer_splits, tmp_path
):
    metadata = train_to_directory(
        breast_cancer_splits["train"], str(tmp_path / "model"), "target", "random_forest"
    )
    model = load_sklearn_model(tmp_path / "model")
    frame = feature_frame(read_parquet(breast_cancer_splits["test"]), metadata["feature_columns"])
    expected = model.predict_proba(frame)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        np.testing.assert_allclose(model.predict_proba(frame.to_numpy(dtype=float)), expected)
        objects = np.array(_json_rows(frame), dtype=object)
        np.testing.assert_allclose(model.predict_proba(objects), expected)
    np.testing.assert_allclose(model.predict_proba(frame[frame.columns[::-1]]), expected)


def test_unseen_category_is_ignored_not_an_error(mixed_model):
    model = load_sklearn_model(mixed_model[0])
    row = pd.DataFrame({"amount": [50.0], "count": [3.0], "flag": [1.0], "colour": ["ultraviolet"]})
    assert model.predict(row)[0] in ("no", "yes")


def test_validation_accuracy_and_rows_are_recorded(breast_cancer_splits, tmp_path):
    metadata = train_to_directory(
        breast_cancer_splits["train"],
        str(tmp_path / "model"),
        "target",
        "random_forest",
        validation_path=breast_cancer_splits["validation"],
    )
    validation = read_parquet(breast_cancer_splits["validation"])
    model = load_sklearn_model(tmp_path / "model")
    frame = feature_frame(validation, metadata["feature_columns"])
    expected = float(np.mean(model.predict(frame) == validation.column("target").to_numpy()))
    assert metadata["validation_accuracy"] == pytest.approx(expected)
    assert metadata["validation_accuracy"] >= 0.9
    assert metadata["validation_rows"] == validation.num_rows
    assert metadata["train_rows"] == read_parquet(breast_cancer_splits["train"]).num_rows


def test_multiclass_iris(tmp_path):
    source = tmp_path / "iris.parquet"
    write_parquet(pa.Table.from_pandas(load_iris(as_frame=True).frame), source)
    paths = {name: str(tmp_path / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(source), paths, "target")
    for estimator in ("logistic_regression", "random_forest"):
        metadata = train_to_directory(
            paths["train"],
            str(tmp_path / estimator),
            "target",
            estimator,
            validation_path=paths["validation"],
        )
        assert metadata["classes"] == [0, 1, 2]
        assert metadata["validation_accuracy"] >= 0.85, estimator


def test_same_seed_same_model_other_seed_other_model(breast_cancer_splits, tmp_path):
    def probabilities(seed: int, name: str) -> np.ndarray:
        metadata = train_to_directory(
            breast_cancer_splits["train"],
            str(tmp_path / name),
            "target",
            "random_forest",
            {"n_estimators": 20},
            seed,
        )
        frame = feature_frame(
            read_parquet(breast_cancer_splits["test"]), metadata["feature_columns"]
        )
        return load_sklearn_model(tmp_path / name).predict_proba(frame)

    first, again, other = probabilities(1, "a"), probabilities(1, "b"), probabilities(2, "c")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_failed_training_leaves_no_model_directory(mixed_splits, tmp_path):
    model_dir = tmp_path / "model"
    with pytest.raises(ComponentInputError, match="n_estimator"):
        train_to_directory(
            str(mixed_splits["train"]),
            str(model_dir),
            "label",
            "random_forest",
            {"n_estimator": 5},
        )
    with pytest.raises(ComponentInputError, match=r"lacks feature column.*colour"):
        broken = tmp_path / "validation.parquet"
        write_parquet(read_parquet(mixed_splits["test"]).drop_columns(["colour"]), broken)
        train_to_directory(
            str(mixed_splits["train"]), str(model_dir), "label", validation_path=str(broken)
        )
    assert not model_dir.exists()
    assert list(tmp_path.iterdir()) == [broken]


def test_a_single_class_cannot_be_learned(tmp_path):
    path = tmp_path / "train.parquet"
    write_parquet(pa.table({"x": [1.0, 2.0, 3.0], "y": [1, 1, 1]}), path)
    with pytest.raises(ComponentInputError, match=r"has 1 class\(es\) \(1\)"):
        train_to_directory(str(path), str(tmp_path / "model"), "y")
