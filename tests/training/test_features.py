"""Column kinds, the input frame, and preprocessing that selects columns by position."""

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.features import (
    feature_frame,
    feature_layout,
    preprocessor,
    target_values,
)

from .conftest import mixed_table


def test_columns_are_sorted_into_numeric_categorical_and_excluded_in_table_order():
    layout = feature_layout(mixed_table(20, seed=0), "label")
    assert layout.feature_columns == ["amount", "count", "flag", "colour"]
    assert layout.numeric == ["amount", "count", "flag"]
    assert layout.categorical == ["colour"]
    assert layout.excluded == ["seen_at"]


def test_missing_target_names_the_columns():
    with pytest.raises(ComponentInputError, match=r"target column 'y' not found; .*amount"):
        feature_layout(mixed_table(5, seed=0), "y")


def test_a_table_without_usable_features_is_refused():
    table = mixed_table(5, seed=0).select(["seen_at", "label"])
    with pytest.raises(ComponentInputError, match=r"no usable feature column .*excluded: seen_at"):
        feature_layout(table, "label")


def test_feature_frame_makes_numbers_float_and_marks_missing_text_as_nan():
    table = mixed_table(30, seed=0)
    frame = feature_frame(table, feature_layout(table, "label").feature_columns)
    assert list(frame.columns) == ["amount", "count", "flag", "colour"]
    assert [str(dtype) for dtype in frame.dtypes[:3]] == ["float64"] * 3
    assert frame["amount"].isna().sum() == table.column("amount").null_count
    missing_text = frame["colour"][frame["colour"].isna()]
    assert len(missing_text) == table.column("colour").null_count
    assert all(isinstance(value, float) and np.isnan(value) for value in missing_text)


def test_feature_frame_names_missing_feature_columns():
    table = mixed_table(5, seed=0).drop_columns(["colour"])
    with pytest.raises(ComponentInputError, match=r"the test split lacks feature column.*colour"):
        feature_frame(table, ["amount", "colour"], "test split")


def test_missing_labels_are_an_error_not_a_class():
    table = pa.table({"x": [1.0, 2.0, 3.0], "y": ["a", None, "b"]})
    with pytest.raises(ComponentInputError, match="'y' of the train split has 1 missing labels"):
        target_values(table, "y", "train split")


def test_preprocessor_selects_columns_by_integer_position():
    layout = feature_layout(mixed_table(5, seed=0), "label")
    transformer = preprocessor(layout)
    selections = {name: columns for name, _, columns in transformer.transformers}
    assert selections == {"numeric": [0, 1, 2], "categorical": [3]}
