"""The scikit-learn classifiers and regressors a training step can fit, and their hyperparameters.

Every classifier here has ``predict_proba`` (evaluation needs probabilities for ROC AUC and log
loss), and every estimator is seeded with ``random_state`` when it has one, so the same data,
hyperparameters and seed give the same model.

Hyperparameters arrive from a pipeline as a JSON object, and KFP carries JSON numbers as doubles:
``{"n_estimators": 200}`` reaches the step as ``200.0``. A whole float is therefore turned into
an int where the estimator accepts an int but not that float (``n_estimators``, ``max_depth``), and
kept as a float where a float is valid (``C=1.0``; ``max_features=1.0`` stays "all features").
"""

from __future__ import annotations  # BaseEstimator is imported for type checking only

import dataclasses
import difflib
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

from kfp_mlops.components.common.errors import ComponentInputError


@dataclasses.dataclass(frozen=True)
class EstimatorSpec:
    """One selectable estimator: its class, the defaults we change, and what it is for.

    The class is named (``"sklearn.ensemble.RandomForestClassifier"``) and imported when first
    used, so that a step checking an estimator's name does not import scikit-learn (each pipeline
    task is a fresh process; see BENCHMARKS.md, "Pipeline").
    """

    class_path: str
    defaults: dict[str, object]
    description: str

    @property
    def cls(self) -> type[BaseEstimator]:
        """The estimator's class, imported on first use."""
        module, _, name = self.class_path.rpartition(".")
        return getattr(importlib.import_module(module), name)


ESTIMATORS: dict[str, EstimatorSpec] = {
    "logistic_regression": EstimatorSpec(
        "sklearn.linear_model.LogisticRegression",
        {"max_iter": 1000},
        "Linear model; a strong baseline on scaled numeric features. max_iter raised to 1000 so "
        "that lbfgs converges on unscaled-looking data.",
    ),
    "random_forest": EstimatorSpec(
        "sklearn.ensemble.RandomForestClassifier",
        {},
        "Bagged decision trees; robust default for tabular data.",
    ),
    "gradient_boosting": EstimatorSpec(
        "sklearn.ensemble.GradientBoostingClassifier",
        {},
        "Boosted shallow trees (exact splits); accurate, slower on large data.",
    ),
    "hist_gradient_boosting": EstimatorSpec(
        "sklearn.ensemble.HistGradientBoostingClassifier",
        {},
        "Histogram-based boosting; fast on tens of thousands of rows and more.",
    ),
    "decision_tree": EstimatorSpec(
        "sklearn.tree.DecisionTreeClassifier",
        {},
        "A single tree; with a small max_depth a deliberately weak, readable model.",
    ),
    "k_nearest_neighbors": EstimatorSpec(
        "sklearn.neighbors.KNeighborsClassifier",
        {},
        "Votes of the nearest training rows; has no random_state.",
    ),
}
"""Estimator name (the ``estimator`` input of the training component) to its specification."""

REGRESSORS: dict[str, EstimatorSpec] = {
    "ridge": EstimatorSpec(
        "sklearn.linear_model.Ridge",
        {},
        "Linear least squares with an L2 penalty (alpha 1.0); a strong baseline on scaled "
        "features, and tabular-regression's default.",
    ),
    "linear_regression": EstimatorSpec(
        "sklearn.linear_model.LinearRegression", {}, "Ordinary least squares; has no random_state."
    ),
    "elastic_net": EstimatorSpec(
        "sklearn.linear_model.ElasticNet",
        {},
        "Linear with L1 and L2 penalties (alpha 1.0, l1_ratio 0.5); sparse weights.",
    ),
    "random_forest": EstimatorSpec(
        "sklearn.ensemble.RandomForestRegressor",
        {},
        "Bagged regression trees; robust on non-linear data.",
    ),
    "gradient_boosting": EstimatorSpec(
        "sklearn.ensemble.GradientBoostingRegressor",
        {},
        "Boosted shallow trees (exact splits), squared error.",
    ),
    "hist_gradient_boosting": EstimatorSpec(
        "sklearn.ensemble.HistGradientBoostingRegressor",
        {},
        "Histogram-based boosting; fast on large data.",
    ),
    "decision_tree": EstimatorSpec(
        "sklearn.tree.DecisionTreeRegressor",
        {},
        "A single tree; with a small max_depth a deliberately weak, readable model.",
    ),
    "k_nearest_neighbors": EstimatorSpec(
        "sklearn.neighbors.KNeighborsRegressor",
        {},
        "Mean of the nearest training rows; has no random_state.",
    ),
}
"""Regressor name (the ``estimator`` input of train_sklearn_regressor) to its specification."""

ESTIMATORS_BY_TASK = {"classification": ESTIMATORS, "regression": REGRESSORS}
"""The estimators offered for each task (see :mod:`.regression_metrics`)."""


def _suggestion(word: str, choices: list[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""


def estimator_spec(name: str, task: str = "classification") -> EstimatorSpec:
    """The specification registered under ``name`` for ``task``.

    An unknown name is an input error naming the known ones.
    """
    offered = ESTIMATORS_BY_TASK[task]
    kind = "regressor" if task == "regression" else "estimator"
    try:
        return offered[name]
    except KeyError:
        raise ComponentInputError(
            f"unknown {kind} {name!r}{_suggestion(name, list(offered))}; "
            f"known {kind}s: {', '.join(offered)}"
        ) from None


def _validate(cls: type[BaseEstimator], key: str, value: object) -> None:
    """Raises InvalidParameterError when ``value`` breaks the estimator's constraint on ``key``."""
    # Private module, but the only way to check a value against an estimator's declared
    # constraints before fitting; scikit-learn is pinned (pyproject), so a change here is seen
    # when it is bumped.
    from sklearn.utils._param_validation import validate_parameter_constraints

    validate_parameter_constraints(
        {key: cls._parameter_constraints[key]}, {key: value}, caller_name=cls.__name__
    )


def _accepts(cls: type[BaseEstimator], key: str, value: object) -> bool:
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        _validate(cls, key, value)
    except InvalidParameterError:
        return False
    return True


def _coerce(cls: type[BaseEstimator], key: str, value: object) -> object:
    """Turns a whole float into an int where the estimator accepts the int but not the float."""
    if (
        isinstance(value, float)
        and value.is_integer()
        and not _accepts(cls, key, value)
        and _accepts(cls, key, int(value))
    ):
        return int(value)
    return value


def make_estimator(
    name: str,
    hyperparameters: dict[str, object] | None = None,
    seed: int = 42,
    task: str = "classification",
) -> BaseEstimator:
    """Builds the estimator ``name`` with ``hyperparameters`` on top of our defaults, seeded.

    Args:
        name: A key of :data:`ESTIMATORS` (classification) or :data:`REGRESSORS` (regression).
        hyperparameters: Constructor arguments; each key must be one of the estimator's
            ``get_params()``. Unset ones keep our defaults, then scikit-learn's.
        seed: Becomes ``random_state`` where the estimator has one.
        task: ``classification`` or ``regression``: which estimators ``name`` is looked up in.

    Raises:
        ComponentInputError: Unknown estimator, unknown hyperparameter (close matches suggested),
            ``random_state`` given as a hyperparameter (use ``seed``), or a value the estimator
            refuses.
    """
    spec = estimator_spec(name, task)
    estimator = spec.cls()
    known = list(estimator.get_params(deep=False))
    given = dict(hyperparameters or {})
    if "random_state" in given:
        raise ComponentInputError(
            "hyperparameter 'random_state' is set from the seed input: pass "
            f"seed={given['random_state']!r} instead of hyperparameters['random_state']"
        )
    unknown = [key for key in given if key not in known]
    if unknown:
        problems = "; ".join(f"{key!r}{_suggestion(key, known)}" for key in unknown)
        raise ComponentInputError(
            f"unknown hyperparameter(s) for {name} ({spec.cls.__name__}): {problems}; "
            f"valid: {', '.join(known)}"
        )
    params = {**spec.defaults, **given}
    params = {key: _coerce(spec.cls, key, value) for key, value in params.items()}
    from sklearn.utils._param_validation import InvalidParameterError

    for key, value in params.items():
        try:
            _validate(spec.cls, key, value)
        except InvalidParameterError as error:
            raise ComponentInputError(f"hyperparameter {key!r} of {name}: {error}") from error
    if "random_state" in known:
        params["random_state"] = seed
    return estimator.set_params(**params)


def resolved_hyperparameters(estimator: BaseEstimator) -> dict[str, object]:
    """Every constructor argument of ``estimator`` as JSON-friendly values, for metadata."""
    return {key: _plain(value) for key, value in estimator.get_params(deep=False).items()}


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return repr(value)
