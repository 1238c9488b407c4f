"""Parquet splits read with pyarrow straight into tensors: float32 features and the labels.

The labels are int64 class indices (a classifier) or the float32 target (a regressor).

Features are the numeric and boolean columns other than the target, in table order (booleans as
0/1, nulls as NaN, which the model fills with the train split's medians). Columns of other types
(text, timestamps, nested) are left out and listed as ``excluded_columns``: a network needs numbers,
and text would need an encoding fitted and exported with the model. No pandas step in between:
each column is cast to float32 by Arrow and the columns are stacked into one tensor.
"""

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.regression_metrics import check_task, regression_target
from kfp_mlops.components.common.tables import fingerprint, read_parquet


@dataclasses.dataclass(frozen=True)
class TensorSplit:
    """One split as tensors.

    Attributes:
        features: ``[rows, n_features]`` float32, NaN where a value is missing.
        labels: ``[rows]`` int64 class indices into the model's classes; for a regressor, the
            float32 target values.
        fingerprint: The content fingerprint of the Parquet table it came from.
    """

    features: torch.Tensor
    labels: torch.Tensor
    fingerprint: str

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.labels.shape[0])


def _is_number(data_type: pa.DataType) -> bool:
    return (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
    )


def tensor_columns(table: pa.Table, target_column: str) -> tuple[list[str], list[str]]:
    """The feature columns (numeric and boolean, in table order) and the excluded ones.

    Raises:
        ComponentInputError: The target is missing, or no numeric or boolean feature is left.
    """
    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    features, excluded = [], []
    for field in table.schema:
        if field.name == target_column:
            continue
        (features if _is_number(field.type) else excluded).append(field.name)
    if not features:
        raise ComponentInputError(
            f"no numeric or boolean feature column besides target {target_column!r} "
            f"(left out: {', '.join(excluded) or 'none'}); a PyTorch model needs numbers"
        )
    return features, excluded


def feature_tensor(table: pa.Table, feature_columns: list[str], what: str) -> torch.Tensor:
    """The ``feature_columns`` of ``table`` as one ``[rows, n]`` float32 tensor (NaN for nulls).

    Raises:
        ComponentInputError: A feature column is missing or not numeric or boolean.
    """
    missing = [name for name in feature_columns if name not in table.column_names]
    if missing:
        raise ComponentInputError(
            f"the {what} lacks feature column(s) the model uses: {', '.join(missing)}"
        )
    columns = []
    for name in feature_columns:
        column = table.column(name)
        if not _is_number(column.type):
            raise ComponentInputError(
                f"feature column {name!r} of the {what} is {column.type}, not numeric or boolean"
            )
        values = pc.cast(column, pa.float32()).to_numpy(zero_copy_only=False)
        columns.append(np.asarray(values, dtype=np.float32))
    return torch.from_numpy(np.column_stack(columns))


def label_values(table: pa.Table, target_column: str, what: str) -> np.ndarray:
    """The target column as numpy values; a missing label is an error."""
    if target_column not in table.column_names:
        raise ComponentInputError(f"target column {target_column!r} not found in the {what}")
    column = table.column(target_column)
    if column.null_count:
        raise ComponentInputError(
            f"target column {target_column!r} of the {what} has {column.null_count} missing labels"
        )
    return column.to_numpy(zero_copy_only=False)


def class_indices(labels: np.ndarray, classes: np.ndarray, what: str) -> torch.Tensor:
    """Each label's position in the sorted ``classes``.

    Raises:
        ComponentInputError: A label is not one of ``classes``.
    """
    positions = np.searchsorted(classes, labels)
    positions = np.clip(positions, 0, len(classes) - 1)
    unknown = labels[classes[positions] != labels]
    if len(unknown):
        raise ComponentInputError(
            f"the {what} has label(s) the train split lacks: "
            f"{sorted(set(unknown.tolist()), key=str)[:10]}; the classes are {classes.tolist()}"
        )
    return torch.from_numpy(positions.astype(np.int64))


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """The train and validation splits as tensors, and what the model is fitted on."""

    train: TensorSplit
    validation: TensorSplit
    feature_columns: list[str]
    excluded_columns: list[str]
    classes: list[object]


def _regression_data(
    train_table: pa.Table,
    validation_path: str,
    target_column: str,
    feature_columns: list[str],
    excluded: list[str],
) -> TrainingData:
    """Both splits with the float32 target as labels; no classes."""
    validation_table = read_parquet(validation_path)
    if validation_table.num_rows == 0:
        raise ComponentInputError(f"the validation split {validation_path} has no rows")
    splits = []
    for table, what in ((train_table, "train split"), (validation_table, "validation split")):
        target = regression_target(table, target_column, what).astype(np.float32)
        features = feature_tensor(table, feature_columns, what)
        splits.append(TensorSplit(features, torch.from_numpy(target), fingerprint(table)))
    return TrainingData(splits[0], splits[1], feature_columns, excluded, classes=[])


def read_training_data(
    train_path: str, validation_path: str, target_column: str, task: str = "classification"
) -> TrainingData:
    """Reads both splits; the train split decides the feature columns and the classes.

    Args:
        train_path: Parquet file of the training rows.
        validation_path: Parquet file of the validation rows.
        target_column: The label (classification) or the number to predict (regression).
        task: ``classification`` (labels become class indices) or ``regression`` (the target
            must be numeric and finite; labels are its float32 values).

    Raises:
        ComponentInputError: Missing target, no usable feature, missing labels, fewer than two
            classes, an empty split, or validation labels the train split lacks; for a regressor,
            a target that is not numeric or holds NaN, infinite or missing values.
    """
    check_task(task)
    train_table = read_parquet(train_path)
    feature_columns, excluded = tensor_columns(train_table, target_column)
    if task == "regression":
        if train_table.num_rows == 0:
            raise ComponentInputError(f"the train split {train_path} has no rows")
        return _regression_data(
            train_table, validation_path, target_column, feature_columns, excluded
        )
    labels = label_values(train_table, target_column, "train split")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ComponentInputError(
            f"target column {target_column!r} of the train split has {len(classes)} class(es); "
            "a classifier needs at least two"
        )
    validation_table = read_parquet(validation_path)
    if validation_table.num_rows == 0:
        raise ComponentInputError(f"the validation split {validation_path} has no rows")
    validation_labels = label_values(validation_table, target_column, "validation split")
    return TrainingData(
        train=TensorSplit(
            feature_tensor(train_table, feature_columns, "train split"),
            class_indices(labels, classes, "train split"),
            fingerprint(train_table),
        ),
        validation=TensorSplit(
            feature_tensor(validation_table, feature_columns, "validation split"),
            class_indices(validation_labels, classes, "validation split"),
            fingerprint(validation_table),
        ),
        feature_columns=feature_columns,
        excluded_columns=excluded,
        classes=classes.tolist(),
    )
