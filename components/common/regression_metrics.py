"""The task of a model, and scoring a fitted regressor on a labelled table.

A model's task (``classification`` or ``regression``) is written by its training step into the
Model artifact's metadata (``task``), logged by registration as the MLflow tag ``task``, and
written by evaluation into the Metrics artifact's metadata; every later stage reads it from there,
or from the pipeline (one pipeline per task), never from the data.

The regression metrics (their direction is in :data:`.metrics.LOWER_IS_BETTER`; only ``r2`` is
better when larger):

- ``rmse``: the square root of the mean squared residual; ``mae``: the mean absolute residual;
- ``r2``: 1 - (residual sum of squares) / (total sum of squares around the test mean), as
  ``sklearn.metrics.r2_score``; a model no better than predicting the test mean scores 0;
- ``mape``: the mean of ``|residual| / |actual|``, a share (0.1 is 10 %), over the rows whose actual
  value is not 0. sklearn's ``mean_absolute_percentage_error`` divides by a machine epsilon there
  instead, which turns one zero target into a value of order 1e15; leaving those rows out and
  counting them (``mape_excluded_rows``) keeps MAPE a readable share. With every actual value 0
  it is undefined and scoring fails, saying so;
- ``median_absolute_error`` and ``max_error``: the median and the largest absolute residual.

The residuals are computed once in float64 with numpy, reusing buffers (the median partitions the
absolute residuals in place), which bench/bench_regression.py compares with the six separate
``sklearn.metrics`` calls.
"""

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import REGRESSION_METRICS, SCALAR_METRICS

TASKS = ("classification", "regression")
"""The tasks a model can have."""

CLASSIFICATION_ONLY = frozenset(SCALAR_METRICS)
"""Metrics that only a classifier's evaluation reports."""


def check_task(task: str) -> str:
    """``task`` when it is one of :data:`TASKS`; raises naming them otherwise."""
    if task not in TASKS:
        raise ComponentInputError(f"task {task!r} is not one of {', '.join(TASKS)}")
    return task


def check_thresholds_for_task(task: str, thresholds: Mapping[str, object]) -> None:
    """Refuses regression thresholds that name a classification metric.

    Raises:
        ComponentInputError: ``task`` is regression and a threshold names a classification
            metric (the message names it and the regression metrics).
    """
    if task != "regression":
        return
    wrong = sorted(name for name in thresholds if name in CLASSIFICATION_ONLY)
    if wrong:
        raise ComponentInputError(
            f"threshold(s) {', '.join(wrong)} name classification metrics, but the model is a "
            f"regressor; regression metrics: {', '.join(REGRESSION_METRICS)}"
        )


@dataclasses.dataclass(frozen=True)
class RegressionResult:
    """The metrics of one set of predictions, and the predictions (for the report's plots)."""

    scalars: dict[str, float]
    mape_excluded_rows: int
    actual: np.ndarray
    predicted: np.ndarray


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> RegressionResult:
    """RMSE, MAE, R², MAPE, median and max absolute error of ``y_pred`` against ``y_true``.

    Raises:
        ComponentInputError: No rows, lengths differ, a value is not a finite number, or every
            actual value is 0 (MAPE undefined).
    """
    actual = np.asarray(y_true, dtype=np.float64).reshape(-1)
    predicted = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if actual.size == 0:
        raise ComponentInputError("no rows to score")
    if actual.shape != predicted.shape:
        raise ComponentInputError(
            f"{predicted.size} predictions for {actual.size} rows; they must be as many"
        )
    residual = np.subtract(predicted, actual)
    squared = float(np.dot(residual, residual))
    if not math.isfinite(squared):  # some residual is NaN or infinite: say which side it is
        if not np.isfinite(actual).all():
            raise ComponentInputError(
                "the target holds NaN or infinite values; they cannot be scored"
            )
        raise ComponentInputError("the model predicted NaN or infinite values (or overflowed)")
    absolute = np.abs(residual, out=residual)  # residual is not needed any more
    centred = np.subtract(actual, actual.mean())
    total = float(np.dot(centred, centred))
    nonzero = np.not_equal(actual, 0.0)
    kept = int(np.count_nonzero(nonzero))
    if kept == 0:
        raise ComponentInputError(
            "MAPE is undefined: every actual value of the target is 0 (it divides by them)"
        )
    # |residual| / |actual| where the actual value is not 0, and 0 elsewhere (not counted).
    shares = np.divide(absolute, actual, out=centred, where=nonzero)
    shares[~nonzero] = 0.0
    mape = float(np.abs(shares, out=shares).sum() / kept)
    # A constant test target has no variance to explain: sklearn's r2_score convention then.
    r2 = 1.0 - squared / total if total > 0 else float(squared == 0)
    scalars = {
        "rmse": math.sqrt(squared / actual.size),
        "mae": float(absolute.mean()),
        "r2": float(r2),
        "mape": mape,
        "median_absolute_error": 0.0,
        "max_error": float(absolute.max()),
    }
    # Last: the median partitions ``absolute`` in place rather than copying it.
    scalars["median_absolute_error"] = float(np.median(absolute, overwrite_input=True))
    return RegressionResult(scalars, actual.size - kept, actual, predicted)


def regression_target(table: pa.Table, target_column: str, what: str) -> np.ndarray:
    """The target column as float64; raises when it is missing, not numeric, or not finite."""
    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found in the {what}; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    column = table.column(target_column)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise ComponentInputError(
            f"target column {target_column!r} of the {what} is {column.type}, not numeric: a "
            "regressor predicts numbers; for class labels use the tabular-classification pipeline"
        )
    if column.null_count:
        raise ComponentInputError(
            f"target column {target_column!r} of the {what} has {column.null_count} missing values"
        )
    values = column.to_numpy().astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise ComponentInputError(
            f"target column {target_column!r} of the {what} has {bad} NaN or infinite values"
        )
    return values


def score_regressor(
    model: Any, table: pa.Table, target_column: str, what: str, source: str
) -> RegressionResult:
    """The :func:`regression_metrics` of a fitted regressor on a labelled table.

    Args:
        model: The regressor: ``predict`` and ``feature_names_in_`` (an sklearn Pipeline fitted on
            a DataFrame).
        table: The labelled rows: the model's feature columns and the target.
        target_column: The target column.
        what: What ``table`` is, for messages (``test split``).
        source: Where the model came from, for messages (a folder).

    Raises:
        ComponentInputError: See :func:`regression_target` and :func:`regression_metrics`; or the
            table is empty, or the model was not fitted on named columns or is a classifier.
    """
    actual = regression_target(table, target_column, what)
    if table.num_rows == 0:
        raise ComponentInputError(f"the {what} has no rows")
    if hasattr(model, "predict_proba"):
        raise ComponentInputError(
            f"the model {source} is a classifier (it has predict_proba); evaluate it with "
            "evaluate_classifier"
        )
    feature_columns = getattr(model, "feature_names_in_", None)
    if feature_columns is None:
        raise ComponentInputError(
            f"the model {source} was not fitted on named columns, so the {what}'s feature "
            "columns cannot be chosen; train it with train_sklearn_regressor"
        )
    # Imported here: features imports scikit-learn, which the gates do not need.
    from kfp_mlops.components.common.features import feature_frame

    frame = feature_frame(table, list(feature_columns), what)
    return regression_metrics(actual, model.predict(frame))
