"""Which columns a model uses, how a table becomes its input frame, and the preprocessing it fits.

The preprocessing is a ``ColumnTransformer`` that selects columns by integer position, so the fitted
pipeline takes either a pandas DataFrame with the feature columns or a 2-D numpy array with them in
``feature_columns`` order, which is what the stock KServe sklearn runtime passes for V1
``{"instances": [[...]]}`` requests (kserve 0.21.0 ``kserve/utils/utils.py``,
``get_predict_input``: ``np.array(instances)``; dict instances become a DataFrame, and so does a V2
request with ``content_type`` "pd"): a float array for all-numeric rows, a string or object array
for rows that mix numbers and text (a JSON ``null`` in a numeric column is read as missing and
imputed). The pipeline holds only scikit-learn classes, no functions, so our restricted unpickler
(``common.model_loading``) loads it.

Column kinds, from the Arrow type of each column of the training table:

- numeric (integers, floats, booleans as 0/1): median imputation, then standard scaling. A V1 row
  that mixes text and booleans should send the booleans as 0/1: ``np.array`` turns such a row into
  strings, and ``"True"`` is not a number;
- categorical (strings, dictionary-encoded): most-frequent imputation (of NaN, then of None, the
  two ways a missing text value arrives), then one-hot encoding that ignores categories unseen in
  training;
- anything else (timestamps, dates, binary, nested types) is left out of the features and listed in
  the model's ``excluded_columns`` metadata.

A DataFrame with the feature columns selects them by name (the pipeline was fitted on one), so
its column order does not matter; a numpy array is read by position and scikit-learn warns that it
has no feature names, which is expected and harmless.
"""

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from kfp_mlops.components.common.errors import ComponentInputError


@dataclasses.dataclass(frozen=True)
class FeatureLayout:
    """The model's input columns in order, and which of them are numeric or categorical."""

    feature_columns: list[str]
    numeric: list[str]
    categorical: list[str]
    excluded: list[str]

    def positions(self, names: list[str]) -> list[int]:
        """The positions of ``names`` among the feature columns."""
        return [self.feature_columns.index(name) for name in names]


def _is_numeric(data_type: pa.DataType) -> bool:
    return (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
    )


def _is_categorical(data_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_dictionary(data_type)
    )


def feature_layout(table: pa.Table, target_column: str) -> FeatureLayout:
    """Every column but the target, in table order, sorted into numeric, categorical or excluded.

    Raises:
        ComponentInputError: The target column is missing, or no column is usable as a feature.
    """
    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    numeric, categorical, excluded = [], [], []
    for field in table.schema:
        if field.name == target_column:
            continue
        if _is_numeric(field.type):
            numeric.append(field.name)
        elif _is_categorical(field.type):
            categorical.append(field.name)
        else:
            excluded.append(field.name)
    features = [name for name in table.column_names if name in numeric or name in categorical]
    if not features:
        raise ComponentInputError(
            f"no usable feature column besides target {target_column!r}: features must be numeric, "
            f"boolean or text (excluded: {', '.join(excluded) or 'none'})"
        )
    return FeatureLayout(features, numeric, categorical, excluded)


def feature_frame(
    table: pa.Table, feature_columns: list[str], what: str = "dataset"
) -> pd.DataFrame:
    """The ``feature_columns`` of ``table`` as the DataFrame a model is fitted on or predicts.

    Numeric columns become float64 (nulls NaN); text columns object columns whose missing values
    are NaN, the marker the imputers replace.

    Raises:
        ComponentInputError: ``table`` lacks some of the feature columns.
    """
    missing = [name for name in feature_columns if name not in table.column_names]
    if missing:
        raise ComponentInputError(
            f"the {what} lacks feature column(s) the model uses: {', '.join(missing)}"
        )
    selected = table.select(feature_columns)
    frame = selected.to_pandas()
    for field in selected.schema:
        if _is_numeric(field.type):
            frame[field.name] = frame[field.name].astype("float64")
        elif _is_categorical(field.type):
            column = frame[field.name].astype(object)
            frame[field.name] = column.where(column.notna(), np.nan)
    return frame


def target_values(table: pa.Table, target_column: str, what: str = "dataset") -> np.ndarray:
    """The label column as a numpy array; a missing label is an error, not a class."""
    column = table.column(target_column)
    if column.null_count:
        raise ComponentInputError(
            f"target column {target_column!r} of the {what} has {column.null_count} missing labels"
        )
    return column.to_numpy(zero_copy_only=False)


def preprocessor(layout: FeatureLayout) -> ColumnTransformer:
    """The unfitted preprocessing for ``layout``, selecting columns by position."""
    transformers = []
    if layout.numeric:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        transformers.append(("numeric", numeric, layout.positions(layout.numeric)))
    if layout.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                # A JSON null arrives as None, which the NaN imputer above leaves alone.
                ("impute_none", SimpleImputer(missing_values=None, strategy="most_frequent")),
                ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, layout.positions(layout.categorical)))
    return ColumnTransformer(transformers, remainder="drop")
