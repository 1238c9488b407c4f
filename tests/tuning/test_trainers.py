"""Step-by-step training, validation scores, and the checks a study's configuration goes through."""

import numpy as np
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.training.train import train_to_directory
from kfp_mlops.components.tuning import given, scores, study
from kfp_mlops.components.tuning.trainers import SklearnTrainer, report_points


def test_report_points_double_from_ten_and_end_at_the_total():
    assert report_points(100) == [10, 20, 40, 80, 100]
    assert report_points(80) == [10, 20, 40, 80]
    assert report_points(7) == [7]


def test_a_forest_grown_in_steps_is_the_forest_training_fits(breast_cancer_splits, tmp_path):
    hyperparameters = {"n_estimators": 45, "max_depth": 4}
    trainer = SklearnTrainer(
        "random_forest",
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        "target",
        "accuracy",
    )
    steps = list(trainer.fit_steps(hyperparameters, seed=5))
    assert [step.step for step in steps] == [10, 20, 40, 45]
    assert [step.final for step in steps] == [False, False, False, True]
    trained = train_to_directory(
        breast_cancer_splits["train"],
        str(tmp_path / "model"),
        "target",
        "random_forest",
        hyperparameters,
        seed=5,
        validation_path=breast_cancer_splits["validation"],
    )
    assert steps[-1].score == trained["validation_accuracy"]


def test_an_estimator_that_does_not_grow_reports_once(breast_cancer_splits):
    trainer = SklearnTrainer(
        "logistic_regression",
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        "target",
        "log_loss",
    )
    (step,) = trainer.fit_steps({"C": 0.5}, seed=1)
    assert step.final and step.step == 1
    assert 0 < step.score < 0.5


def test_scores_follow_the_evaluation_conventions():
    classes = np.array(["no", "yes"])
    y_true = np.array(["no", "yes", "yes", "no"])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert scores.score("accuracy", y_true, probabilities, classes) == 0.5
    assert scores.score("roc_auc", y_true, probabilities, classes) == 0.75
    assert scores.metric("log_loss").direction == "minimize"
    with pytest.raises(ComponentInputError, match="unknown tuning metric 'auc'"):
        scores.metric("auc")
    with pytest.raises(ComponentInputError, match="ROC AUC is undefined"):
        scores.score("roc_auc", np.array(["no", "no"]), probabilities[:2], classes)


def config(**changes):
    arguments = {
        "estimator": "random_forest",
        "search_space_spec": {"max_depth": {"type": "int", "low": 2, "high": 8}},
        "hyperparameters": None,
        "metric": "roc_auc",
        "sampler": "tpe",
        "pruner": "median",
        "seed": 1,
        "n_trials": 10,
        "n_workers": 3,
        **changes,
    }
    return study.build_config(**arguments)


def test_shares_add_up_to_the_trial_budget():
    built = config(n_trials=10, n_workers=3)
    assert [built.share(worker) for worker in range(3)] == [4, 3, 3]
    with pytest.raises(ComponentInputError, match="worker 3 is out of range"):
        built.share(3)


def test_an_empty_space_means_the_estimators_default_space():
    built = config(search_space_spec={}, estimator="gradient_boosting")
    assert set(built.search_space) == {"n_estimators", "learning_rate", "max_depth", "subsample"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"search_space_spec": {"n_estimators": {"type": "int", "low": 0, "high": 9}}},
            r"search space parameter 'n_estimators': value 0 is refused",
        ),
        (
            {"search_space_spec": {"max_dept": {"type": "int", "low": 2, "high": 9}}},
            r"'max_dept': value 2 is refused: .*did you mean 'max_depth'",
        ),
        (
            {"hyperparameters": {"max_depth": 3}},
            r"'max_depth' are both fixed and searched",
        ),
        ({"hyperparameters": {"warm_start": True}}, r"'warm_start' of random_forest is set by"),
        ({"estimator": "svm"}, r"estimator 'svm' cannot be tuned; tunable estimators: "),
        ({"metric": "auc"}, r"unknown tuning metric 'auc'"),
        ({"sampler": "cmaes"}, r"unknown sampler 'cmaes'"),
        ({"n_trials": 0}, r"n_trials must be at least 1"),
        (
            {
                "sampler": "grid",
                "search_space_spec": {"max_depth": {"type": "int", "low": 2, "high": 8, "step": 2}},
            },
            r"n_trials 10 exceeds the 4 combinations of the grid",
        ),
    ],
)
def test_a_bad_study_configuration_fails_before_any_trial(changes, message):
    with pytest.raises(ComponentInputError, match=message):
        config(**changes)


def test_given_hyperparameters_are_checked_for_sklearn_estimators_only():
    assert given.check_given("random_forest", {"n_estimators": 10.0}) == {"n_estimators": 10.0}
    assert given.check_given("random_forest", None) == {}
    with pytest.raises(ComponentInputError, match="unknown hyperparameter"):
        given.check_given("random_forest", {"n_estimator": 10})
    assert given.check_given("torch_mlp", {"epochs": 3}) == {"epochs": 3}
    with pytest.raises(ComponentInputError, match="hyperparameter 'n_estimators' of random_forest"):
        given.check_given("random_forest", {"n_estimators": -1})
