"""The validation score a tuning study optimizes, computed from predicted probabilities.

The conventions are those of the evaluation stage: in a binary problem the positive class is the
second of the sorted classes; in a multiclass one F1 is the macro average and ROC AUC the macro
one-vs-rest average.
"""

import dataclasses
import difflib
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from kfp_mlops.components.common.errors import ComponentInputError


def _accuracy(y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    return skm.accuracy_score(y_true, classes[probabilities.argmax(axis=1)])


def _f1(y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    predicted = classes[probabilities.argmax(axis=1)]
    if len(classes) == 2:
        return skm.f1_score(y_true, predicted, pos_label=classes[1], zero_division=0)
    return skm.f1_score(y_true, predicted, average="macro", labels=classes, zero_division=0)


def _roc_auc(y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    if len(classes) == 2:
        return skm.roc_auc_score(y_true == classes[1], probabilities[:, 1])
    return skm.roc_auc_score(
        y_true, probabilities, multi_class="ovr", average="macro", labels=classes
    )


def _log_loss(y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    return skm.log_loss(y_true, probabilities, labels=classes)


@dataclasses.dataclass(frozen=True)
class Metric:
    """A validation metric and whether a study maximizes or minimizes it."""

    name: str
    direction: str
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], float]


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", "maximize", _roc_auc),
        Metric("accuracy", "maximize", _accuracy),
        Metric("f1", "maximize", _f1),
        Metric("log_loss", "minimize", _log_loss),
    )
}
"""The metrics a study can optimize, by name."""


REGRESSION_METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "rmse", "minimize", lambda y, predicted, _: skm.root_mean_squared_error(y, predicted)
        ),
        Metric("mae", "minimize", lambda y, predicted, _: skm.mean_absolute_error(y, predicted)),
        Metric("r2", "maximize", lambda y, predicted, _: skm.r2_score(y, predicted)),
    )
}
"""The metrics a study of a regressor can optimize; each is computed from the predictions."""


def metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name names the known ones."""
    known = {**METRICS, **REGRESSION_METRICS}
    try:
        return known[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ComponentInputError(
            f"unknown tuning metric {name!r}{hint}; choose one of: {', '.join(known)}"
        ) from None


def task_of(name: str) -> str:
    """The task a tuning metric belongs to: ``regression`` or ``classification``.

    ``regression`` for rmse, mae and r2, else ``classification``; a study's metric decides which
    estimators it tunes.
    """
    metric(name)
    return "regression" if name in REGRESSION_METRICS else "classification"


def score_predictions(name: str, y_true: np.ndarray, predicted: np.ndarray) -> float:
    """The regression metric ``name`` of a regressor's predictions."""
    return float(REGRESSION_METRICS[name].compute(y_true, predicted, None))


def score(name: str, y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """The metric ``name`` of ``probabilities`` (one column per class, ``classes`` order).

    Raises:
        ComponentInputError: The labels include a class the model never saw, or (ROC AUC) a class
            the model knows has no validation rows.
    """
    unseen = sorted(set(np.unique(y_true).tolist()) - set(classes.tolist()), key=str)
    if unseen:
        raise ComponentInputError(
            f"the validation split has label(s) the train split lacks: {unseen}"
        )
    if name == "roc_auc" and len(np.unique(y_true)) < len(classes):
        raise ComponentInputError(
            "the validation split lacks some classes, so ROC AUC is undefined: use a stratified "
            "split or another tuning metric"
        )
    return float(metric(name).compute(y_true, probabilities, classes))
