"""Parquet splits into tensors: which columns are features, missing values, classes."""

import numpy as np
import pyarrow as pa
import pytest
import torch

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.training.torch_data import (
    class_indices,
    feature_tensor,
    read_training_data,
    tensor_columns,
)


def test_numbers_and_booleans_are_features_text_and_timestamps_are_left_out(mixed_splits):
    data = read_training_data(
        str(mixed_splits["train"]), str(mixed_splits["test"]), target_column="label"
    )
    assert data.feature_columns == ["amount", "count", "flag"]
    assert data.excluded_columns == ["colour", "seen_at"]
    assert data.classes == ["no", "yes"]
    assert data.train.features.dtype == torch.float32
    assert data.train.features.shape == (300, 3)
    assert torch.isnan(data.train.features[0, 0])  # every 9th amount is missing
    assert set(data.train.features[:, 2].tolist()) == {0.0, 1.0}
    assert data.train.labels.dtype == torch.int64
    assert set(data.train.labels.tolist()) == {0, 1}
    assert data.validation.rows == 100
    assert data.train.fingerprint.startswith("sha256:")


def test_feature_tensor_keeps_column_order_and_nulls():
    table = pa.table({"b": pa.array([1, None], pa.int32()), "a": [0.5, 1.5]})
    tensor = feature_tensor(table, ["a", "b"], "test split")
    assert tensor[:, 0].tolist() == [0.5, 1.5]
    assert tensor[0, 1].item() == 1.0 and torch.isnan(tensor[1, 1])


def test_feature_tensor_names_a_missing_or_text_column():
    table = pa.table({"a": [1.0], "s": ["x"]})
    with pytest.raises(ComponentInputError, match=r"lacks feature column.*: zz"):
        feature_tensor(table, ["a", "zz"], "test split")
    with pytest.raises(ComponentInputError, match="feature column 's' of the test split is string"):
        feature_tensor(table, ["s"], "test split")


def test_a_table_without_numbers_is_refused():
    table = pa.table({"s": ["x", "y"], "target": [0, 1]})
    with pytest.raises(ComponentInputError, match=r"no numeric or boolean feature .*left out: s"):
        tensor_columns(table, "target")


def test_labels_unknown_to_training_are_named():
    with pytest.raises(ComponentInputError, match=r"label\(s\) the train split lacks: \['z'\]"):
        class_indices(np.array(["a", "z"]), np.array(["a", "b"]), "validation split")
    assert class_indices(np.array([3, 1]), np.array([1, 3]), "x").tolist() == [1, 0]


def test_one_class_or_empty_validation_is_refused(tmp_path):
    write_parquet(pa.table({"x": [1.0, 2.0], "target": [1, 1]}), tmp_path / "one.parquet")
    write_parquet(pa.table({"x": [1.0, 2.0], "target": [0, 1]}), tmp_path / "two.parquet")
    write_parquet(
        pa.table({"x": pa.array([], pa.float64()), "target": pa.array([], pa.int64())}),
        tmp_path / "empty.parquet",
    )
    with pytest.raises(ComponentInputError, match="has 1 class"):
        read_training_data(str(tmp_path / "one.parquet"), str(tmp_path / "two.parquet"), "target")
    with pytest.raises(ComponentInputError, match=r"validation split .* has no rows"):
        read_training_data(str(tmp_path / "two.parquet"), str(tmp_path / "empty.parquet"), "target")
