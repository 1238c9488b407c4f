"""Metric names, their direction, and scoring a fitted classifier on a labelled table.

Every stage that compares or computes metrics (evaluation, the gates, model-quality monitoring,
tuning) reads them from here. The classification metrics are computed with ``sklearn.metrics``,
imported by the functions that score: the gates and the model card read only the names and
directions, and do not pay scikit-learn's import.

Conventions (they decide what a threshold on a metric means):

- The model's classes are sorted (scikit-learn's ``classes_``). In a **binary** problem the positive
  class is the second of them: ``1`` for 0/1 labels, ``"yes"`` for ``"no"``/``"yes"``. Precision,
  recall and F1 are those of the positive class, ROC AUC and the ROC curve score its probability.
- In a **multiclass** problem precision, recall and F1 are macro averages (every class counts the
  same), and ROC AUC is the macro average of one-vs-rest AUCs. No ROC curve is recorded: one curve
  would describe one arbitrary class, and the confusion matrix shows every class.
- Log loss uses the predicted probabilities of every class (lower is better).

Every class the model knows must appear in the test split (otherwise ROC AUC is undefined), and the
test split may hold no label the model never saw.
"""

import dataclasses
from typing import Any

import numpy as np
import pyarrow as pa

from kfp_mlops.components.common.errors import ComponentInputError

MAX_ROC_POINTS = 200
"""The most points of the ROC curve recorded (the KFP UI plots them; more add nothing visible)."""

SCALAR_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
"""The metrics evaluation reports, in the order of the component's outputs."""

REGRESSION_METRICS = ("rmse", "mae", "r2", "mape", "median_absolute_error", "max_error")
"""The metrics regression evaluation reports (see :mod:`.regression_metrics`), in output order."""

LOWER_IS_BETTER = frozenset(
    {"log_loss", "rmse", "mae", "mape", "median_absolute_error", "max_error"}
)
"""Metrics for which a smaller value is better; every other metric (r2 too) is better when
larger."""


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (its threshold is then a maximum)."""
    return metric in LOWER_IS_BETTER


@dataclasses.dataclass(frozen=True)
class RocCurve:
    """Points of a ROC curve, ordered by decreasing threshold."""

    false_positive_rate: list[float]
    true_positive_rate: list[float]
    thresholds: list[float]


@dataclasses.dataclass(frozen=True)
class ClassificationResult:
    """The metrics of one set of predictions."""

    scalars: dict[str, float]
    classes: list[object]
    confusion_matrix: list[list[int]]
    roc_curve: RocCurve | None
    averaging: str


def thin_curve(curve: RocCurve, max_points: int = MAX_ROC_POINTS) -> RocCurve:
    """At most ``max_points`` points spread evenly along the curve, keeping its two ends."""
    count = len(curve.thresholds)
    if count <= max_points:
        return curve
    keep = np.unique(np.linspace(0, count - 1, max_points).round().astype(int)).tolist()
    return RocCurve(
        [curve.false_positive_rate[i] for i in keep],
        [curve.true_positive_rate[i] for i in keep],
        [curve.thresholds[i] for i in keep],
    )


def _check_labels(y_true: np.ndarray, classes: np.ndarray) -> None:
    present = set(np.unique(y_true).tolist())
    known = set(classes.tolist())
    unseen = sorted(present - known, key=str)
    if unseen:
        raise ComponentInputError(
            f"the test split has label(s) the model never saw in training: {unseen}; "
            f"the model's classes are {sorted(known, key=str)}"
        )
    absent = sorted(known - present, key=str)
    if absent:
        raise ComponentInputError(
            f"the test split has no rows of class(es) {absent}: ROC AUC is undefined; "
            "use a test split with every class (a stratified split gives one)"
        )


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
) -> ClassificationResult:
    """Accuracy, precision, recall, F1, ROC AUC, log loss, confusion matrix and ROC curve.

    Args:
        y_true: The true labels.
        y_pred: The predicted labels.
        probabilities: ``predict_proba`` output, one column per class in ``classes`` order.
        classes: The model's classes, sorted; with two, the second is the positive class.

    Raises:
        ComponentInputError: A label outside ``classes``, or a class without test rows.
    """
    from sklearn import metrics as skm  # here: importing the metric names must stay cheap

    _check_labels(y_true, classes)
    binary = len(classes) == 2
    if binary:
        positive = classes[1]
        averaged = {"average": "binary", "pos_label": positive}
        roc_auc = skm.roc_auc_score(y_true == positive, probabilities[:, 1])
        fpr, tpr, thresholds = skm.roc_curve(y_true == positive, probabilities[:, 1])
        # The first threshold is +inf ("predict nothing positive"); 1.0 reads the same for
        # probabilities and keeps the value JSON-serializable.
        curve = thin_curve(
            RocCurve(fpr.tolist(), tpr.tolist(), np.minimum(thresholds, 1.0).tolist())
        )
        averaging = f"binary, positive class {classes.tolist()[1]!r}"
    else:
        averaged = {"average": "macro"}
        roc_auc = skm.roc_auc_score(
            y_true, probabilities, multi_class="ovr", average="macro", labels=classes
        )
        curve = None
        averaging = "macro (one-vs-rest ROC AUC)"
    scalars = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0, **averaged),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0, **averaged),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0, **averaged),
        "roc_auc": roc_auc,
        "log_loss": skm.log_loss(y_true, probabilities, labels=classes),
    }
    matrix = skm.confusion_matrix(y_true, y_pred, labels=classes)
    return ClassificationResult(
        scalars={name: float(value) for name, value in scalars.items()},
        classes=classes.tolist(),
        confusion_matrix=matrix.tolist(),
        roc_curve=curve,
        averaging=averaging,
    )


def score_classifier(
    model: Any, table: pa.Table, target_column: str, what: str, source: str
) -> ClassificationResult:
    """The :func:`classification_metrics` of a fitted classifier on a labelled table.

    The model picks its feature columns by name (``feature_names_in_``), as an sklearn Pipeline
    fitted on a DataFrame and the ONNX predictor of a PyTorch Model both do.

    Args:
        model: The classifier: ``predict``, ``predict_proba``, ``classes_``, ``feature_names_in_``.
        table: The labelled rows: the model's feature columns and the target.
        target_column: The label column.
        what: What ``table`` is, for messages (``test split``, ``labelled data``).
        source: Where the model came from, for messages (a folder or a model URI).

    Raises:
        ComponentInputError: The target column is missing, the table is empty, the model was not
            fitted on named columns, a feature column is missing, a label is missing or unseen, or
            a class has no rows.
    """
    from kfp_mlops.components.common.features import feature_frame, target_values

    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found in the {what}; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    if table.num_rows == 0:
        raise ComponentInputError(f"the {what} has no rows")
    feature_columns = getattr(model, "feature_names_in_", None)
    if feature_columns is None:
        raise ComponentInputError(
            f"the model {source} was not fitted on named columns, so the {what}'s feature "
            "columns cannot be chosen; train it with train_sklearn or train_pytorch"
        )
    frame = feature_frame(table, list(feature_columns), what)
    y_true = target_values(table, target_column, what)
    return classification_metrics(
        y_true, model.predict(frame), model.predict_proba(frame), model.classes_
    )
