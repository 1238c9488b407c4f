"""Tuning a regressor: the rmse/mae/r2 metrics, the regressors' default spaces, growing ensembles
scored as they grow (for pruning)."""

import numpy as np
import pytest
from sklearn import metrics as skm

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import REGRESSORS
from kfp_mlops.components.tuning import given, scores, study, trainers


def _config(estimator: str, metric: str = "rmse") -> study.StudyConfig:
    return study.build_config(estimator, None, None, metric, "tpe", "median", 42, 4, 1)


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_each_regressor_has_a_valid_default_space(name):
    config = _config(name)
    default = trainers.SklearnRegressionFamily().default_search_space(name)
    assert set(config.search_space) == set(default)
    assert config.direction == "minimize"


def test_the_metrics_directions_and_tasks():
    assert _config("ridge", "r2").direction == "maximize"
    assert _config("ridge", "mae").direction == "minimize"
    assert scores.task_of("rmse") == "regression" and scores.task_of("f1") == "classification"


def test_a_classifier_is_not_tuned_on_a_regression_metric():
    with pytest.raises(
        ComponentInputError, match="'logistic_regression' cannot be tuned for regression"
    ):
        _config("logistic_regression", "rmse")


def test_a_forest_is_scored_as_it_grows(diabetes_splits):
    trainer = trainers.SklearnRegressionFamily().trainer(
        "random_forest", diabetes_splits["train"], diabetes_splits["validation"], "target", "rmse"
    )
    steps = list(trainer.fit_steps({"n_estimators": 40}, seed=0))
    assert [step.step for step in steps] == [10, 20, 40]
    assert [step.final for step in steps] == [False, False, True]
    assert all(40.0 < step.score < 90.0 for step in steps)  # rmse in the target's units


def test_a_linear_model_reports_once_with_sklearns_score(diabetes_splits):
    trainer = trainers.SklearnRegressionFamily().trainer(
        "ridge", diabetes_splits["train"], diabetes_splits["validation"], "target", "r2"
    )
    (step,) = trainer.fit_steps({"alpha": 1.0}, seed=0)
    model = trainers.make_estimator("ridge", {"alpha": 1.0}, 0, "regression")
    model.fit(trainer.x_train, trainer.y_train)
    expected = skm.r2_score(trainer.y_validation, model.predict(trainer.x_validation))
    assert step.final and step.score == pytest.approx(expected)
    assert np.isfinite(step.score)


def test_given_hyperparameters_are_checked_against_the_regressor():
    assert given.check_given("ridge", {"alpha": 2.0}, task="regression") == {"alpha": 2.0}
    with pytest.raises(ComponentInputError, match="unknown regressor 'logistic_regression'"):
        given.check_given("logistic_regression", {}, task="regression")
