"""What a tuning trial trains: a model fitted step by step and scored on validation as it goes.

Pruning needs intermediate scores, so a trainer yields one :class:`StepScore` per step, where the
step counts the resource spent so far (trees, boosting iterations, epochs). Steps are compared
across trials by this count, so a bad configuration is stopped after its first few trees instead of
after all of them.

scikit-learn estimators that grow (forests and boosting) are fitted with ``warm_start``, adding
trees or iterations up to the sampled count and reporting at 10, 20, 40, ... and at the end; the
finished model is exactly the one a single ``fit`` gives (same seed, same trees), so the best
trial's score is what the training step reproduces. Other estimators (linear models, a single tree,
nearest neighbours) have nothing to grow and report once, when fitted.

Another framework plugs in by registering a :class:`TrainerFamily` for its estimator names with
:func:`register`: an epoch-based trainer (PyTorch) yields one StepScore per epoch.
"""

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np
from sklearn.base import ClassifierMixin

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import ESTIMATORS, REGRESSORS, make_estimator
from kfp_mlops.components.common.features import (
    feature_frame,
    feature_layout,
    preprocessor,
    target_values,
)
from kfp_mlops.components.common.regression_metrics import regression_target
from kfp_mlops.components.common.tables import fingerprint, read_parquet
from kfp_mlops.components.tuning import scores

FIRST_REPORT = 10
"""The resource count (trees, iterations) at which a growing estimator first reports."""


@dataclasses.dataclass(frozen=True)
class StepScore:
    """The validation score after ``step`` units of training (trees, iterations, epochs).

    ``final`` marks the score of the finished model, the trial's result; a trial is never pruned
    there, only between steps.
    """

    step: int
    score: float
    final: bool = False


class Trainer(Protocol):
    """Fits one configuration on the train split, scoring it on the validation split as it goes."""

    data_fingerprint: str
    """Identifies the train and validation data, so a resumed study can refuse other data."""

    def fit_steps(self, hyperparameters: Mapping[str, object], seed: int) -> Iterator[StepScore]:
        """Yields the validation score after each step; the last one scores the finished model."""
        ...


class TrainerFamily(Protocol):
    """A framework's estimators as tuning sees them."""

    def check(self, estimator: str, hyperparameters: Mapping[str, object]) -> None:
        """Raises ComponentInputError when ``estimator`` refuses these hyperparameters."""
        ...

    def default_search_space(self, estimator: str) -> dict[str, dict[str, object]]:
        """The space searched when the user gives none."""
        ...

    def trainer(
        self,
        estimator: str,
        train_path: str,
        validation_path: str,
        target_column: str,
        metric: str,
    ) -> Trainer:
        """Loads the splits once and returns a trainer for any number of trials."""
        ...


def report_points(total: int, first: int = FIRST_REPORT) -> list[int]:
    """The resource counts to report at: ``first``, doubling while below ``total``, then ``total``.

    ``report_points(100)`` is ``[10, 20, 40, 80, 100]``; every trial reports at the same counts,
    so the pruner compares configurations that have spent the same effort.
    """
    points = []
    point = first
    while point < total:
        points.append(point)
        point *= 2
    return [*points, total]


GROWING = {
    "random_forest": "n_estimators",
    "gradient_boosting": "n_estimators",
    "hist_gradient_boosting": "max_iter",
}
"""Estimators fitted step by step with ``warm_start``, and the count that grows."""

_DEFAULT_SPACES: dict[str, dict[str, dict[str, object]]] = {
    "random_forest": {
        "n_estimators": {"type": "int", "low": 50, "high": 300, "log": True},
        "max_depth": {"type": "int", "low": 2, "high": 32, "log": True},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 10},
        "max_features": {"type": "categorical", "choices": ["sqrt", "log2", 0.5]},
    },
    "gradient_boosting": {
        "n_estimators": {"type": "int", "low": 50, "high": 300, "log": True},
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
        "max_depth": {"type": "int", "low": 2, "high": 6},
        "subsample": {"type": "float", "low": 0.5, "high": 1.0},
    },
    "hist_gradient_boosting": {
        "max_iter": {"type": "int", "low": 50, "high": 300, "log": True},
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
        "max_leaf_nodes": {"type": "int", "low": 8, "high": 64, "log": True},
        "l2_regularization": {"type": "float", "low": 1e-6, "high": 10.0, "log": True},
    },
    "logistic_regression": {
        "C": {"type": "float", "low": 1e-3, "high": 100.0, "log": True},
    },
    "decision_tree": {
        "max_depth": {"type": "int", "low": 2, "high": 20},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 20},
        "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
    },
    "k_nearest_neighbors": {
        "n_neighbors": {"type": "int", "low": 1, "high": 50, "log": True},
        "weights": {"type": "categorical", "choices": ["uniform", "distance"]},
    },
}


_DEFAULT_REGRESSION_SPACES: dict[str, dict[str, dict[str, object]]] = {
    "ridge": {"alpha": {"type": "float", "low": 1e-3, "high": 100.0, "log": True}},
    "linear_regression": {"fit_intercept": {"type": "categorical", "choices": [True, False]}},
    "elastic_net": {
        "alpha": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
        "l1_ratio": {"type": "float", "low": 0.05, "high": 1.0},
    },
    "random_forest": {
        **_DEFAULT_SPACES["random_forest"],
        "max_features": {"type": "categorical", "choices": ["sqrt", 0.5, 1.0]},
    },
    "gradient_boosting": _DEFAULT_SPACES["gradient_boosting"],
    "hist_gradient_boosting": _DEFAULT_SPACES["hist_gradient_boosting"],
    "decision_tree": {
        "max_depth": {"type": "int", "low": 2, "high": 20},
        "min_samples_leaf": {"type": "int", "low": 1, "high": 20},
        "criterion": {"type": "categorical", "choices": ["squared_error", "absolute_error"]},
    },
    "k_nearest_neighbors": _DEFAULT_SPACES["k_nearest_neighbors"],
}
"""The regressors' default spaces: the classifiers' where the knobs are the same."""


def _classes_of_train(labels: np.ndarray, target_column: str) -> np.ndarray:
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ComponentInputError(
            f"target column {target_column!r} of the train split has {len(classes)} class(es); "
            "a classifier needs at least two"
        )
    return classes


class SklearnTrainer:
    """Fits scikit-learn estimators on preprocessed arrays of the train split.

    The preprocessing (the training step's: imputation, scaling, one-hot encoding) is fitted on the
    train split once, when the trainer is made; every trial reuses the transformed arrays.
    """

    def __init__(
        self,
        estimator: str,
        train_path: str,
        validation_path: str,
        target_column: str,
        metric: str,
        task: str = "classification",
    ) -> None:
        scores.metric(metric)
        train = read_parquet(train_path)
        validation = read_parquet(validation_path)
        if validation.num_rows == 0:
            raise ComponentInputError(f"the validation split {validation_path} has no rows")
        if target_column not in validation.column_names:
            raise ComponentInputError(
                f"target column {target_column!r} not found in the validation split"
            )
        layout = feature_layout(train, target_column)
        self.estimator = estimator
        self.metric = metric
        self.task = task
        if task == "regression":
            self.y_train = regression_target(train, target_column, "train split")
            self.y_validation = regression_target(validation, target_column, "validation split")
        else:
            self.y_train = target_values(train, target_column, "train split")
            self.y_validation = target_values(validation, target_column, "validation split")
            self.classes = _classes_of_train(self.y_train, target_column)
        transform = preprocessor(layout)
        self.x_train = transform.fit_transform(
            feature_frame(train, layout.feature_columns, "train split")
        )
        self.x_validation = transform.transform(
            feature_frame(validation, layout.feature_columns, "validation split")
        )
        self.data_fingerprint = f"{fingerprint(train)}+{fingerprint(validation)}"

    def _score(self, model: ClassifierMixin) -> float:
        if self.task == "regression":
            predicted = model.predict(self.x_validation)
            return scores.score_predictions(self.metric, self.y_validation, predicted)
        probabilities = model.predict_proba(self.x_validation)
        return scores.score(self.metric, self.y_validation, probabilities, model.classes_)

    def fit_steps(self, hyperparameters: Mapping[str, object], seed: int) -> Iterator[StepScore]:
        """Yields the validation score at each report point (growing estimators) or once."""
        model = make_estimator(self.estimator, dict(hyperparameters), seed, self.task)
        grown = GROWING.get(self.estimator)
        if grown is None:
            model.fit(self.x_train, self.y_train)
            yield StepScore(1, self._score(model), final=True)
            return
        total = int(model.get_params()[grown])
        model.set_params(warm_start=True)
        for point in report_points(total):
            model.set_params(**{grown: point})
            model.fit(self.x_train, self.y_train)
            yield StepScore(point, self._score(model), final=point == total)


class SklearnFamily:
    """The scikit-learn estimators of the training stage (``train_sklearn``)."""

    def check(self, estimator: str, hyperparameters: Mapping[str, object]) -> None:
        """Builds the estimator with ``hyperparameters``; refuses what tuning sets itself."""
        if estimator in GROWING and "warm_start" in hyperparameters:
            raise ComponentInputError(
                f"hyperparameter 'warm_start' of {estimator} is set by tuning (it grows the model "
                "step by step); leave it out"
            )
        make_estimator(estimator, dict(hyperparameters))

    def default_search_space(self, estimator: str) -> dict[str, dict[str, object]]:
        """A space around scikit-learn's defaults, for the estimator's most telling knobs."""
        return _DEFAULT_SPACES[estimator]

    def trainer(
        self, estimator: str, train_path: str, validation_path: str, target_column: str, metric: str
    ) -> SklearnTrainer:
        """A trainer holding the preprocessed splits."""
        return SklearnTrainer(estimator, train_path, validation_path, target_column, metric)


class SklearnRegressionFamily:
    """The scikit-learn regressors of the training stage (``train_sklearn_regressor``)."""

    def check(self, estimator: str, hyperparameters: Mapping[str, object]) -> None:
        """Builds the regressor with ``hyperparameters``; refuses what tuning sets itself."""
        if estimator in GROWING and "warm_start" in hyperparameters:
            raise ComponentInputError(
                f"hyperparameter 'warm_start' of {estimator} is set by tuning (it grows the model "
                "step by step); leave it out"
            )
        make_estimator(estimator, dict(hyperparameters), task="regression")

    def default_search_space(self, estimator: str) -> dict[str, dict[str, object]]:
        """A space around scikit-learn's defaults, for the regressor's most telling knobs."""
        return _DEFAULT_REGRESSION_SPACES[estimator]

    def trainer(
        self, estimator: str, train_path: str, validation_path: str, target_column: str, metric: str
    ) -> SklearnTrainer:
        """A trainer holding the preprocessed splits, scoring predictions."""
        return SklearnTrainer(
            estimator, train_path, validation_path, target_column, metric, "regression"
        )


_FAMILIES: dict[str, TrainerFamily] = dict.fromkeys(ESTIMATORS, SklearnFamily())


def register(estimator: str, family: TrainerFamily) -> None:
    """Makes ``estimator`` tunable: trials of it are trained by ``family``."""
    _FAMILIES[estimator] = family


_REGRESSION_FAMILIES: dict[str, TrainerFamily] = dict.fromkeys(
    REGRESSORS, SklearnRegressionFamily()
)


def family_for(estimator: str, task: str = "classification") -> TrainerFamily:
    """The family that trains ``estimator`` for ``task``.

    A study's task is its metric's (see :func:`.scores.task_of`); an unknown name names the tunable
    ones.
    """
    families = _REGRESSION_FAMILIES if task == "regression" else _FAMILIES
    try:
        return families[estimator]
    except KeyError:
        raise ComponentInputError(
            f"estimator {estimator!r} cannot be tuned"
            f"{' for regression' if task == 'regression' else ''}; tunable estimators: "
            f"{', '.join(sorted(families))}"
        ) from None
