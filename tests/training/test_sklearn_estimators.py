"""Estimators chosen by name, and the hyperparameters a user (or a KFP dict) gives them."""

import json

import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import (
    ESTIMATORS,
    make_estimator,
    resolved_hyperparameters,
)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("logistic_regression", LogisticRegression),
        ("random_forest", RandomForestClassifier),
        ("gradient_boosting", GradientBoostingClassifier),
        ("decision_tree", DecisionTreeClassifier),
    ],
)
def test_estimator_is_chosen_by_name_and_seeded(name, cls):
    estimator = make_estimator(name, None, seed=7)
    assert type(estimator) is cls
    assert estimator.get_params()["random_state"] == 7


def test_every_estimator_has_probabilities_and_takes_the_seed_where_it_can():
    for name in ESTIMATORS:
        estimator = make_estimator(name, {}, seed=3)
        assert hasattr(estimator, "predict_proba"), name
        params = estimator.get_params()
        if "random_state" in params:
            assert params["random_state"] == 3, name
    assert "random_state" not in make_estimator("k_nearest_neighbors").get_params()


def test_hyperparameters_override_our_defaults_and_sklearn_defaults():
    estimator = make_estimator("logistic_regression", {"C": 0.5})
    assert estimator.C == 0.5
    assert estimator.max_iter == 1000  # our default
    assert make_estimator("logistic_regression", {"max_iter": 50}).max_iter == 50
    tree = make_estimator("decision_tree", {"max_depth": 1})
    assert tree.max_depth == 1


def test_unknown_estimator_names_the_close_match_and_the_known_ones():
    with pytest.raises(ComponentInputError) as raised:
        make_estimator("random_forrest")
    message = str(raised.value)
    assert "'random_forrest'" in message
    assert "did you mean 'random_forest'" in message
    assert "logistic_regression" in message
    assert "\n" not in message


def test_unknown_hyperparameter_is_named_with_its_close_matches_in_one_line():
    with pytest.raises(ComponentInputError) as raised:
        make_estimator("random_forest", {"n_estimator": 10, "max_dept": 3})
    message = str(raised.value)
    assert "'n_estimator' (did you mean 'n_estimators'?)" in message
    assert "'max_dept' (did you mean 'max_depth'" in message
    assert "RandomForestClassifier" in message
    assert "\n" not in message


def test_random_state_is_refused_as_a_hyperparameter():
    with pytest.raises(ComponentInputError, match="pass seed=5 instead"):
        make_estimator("random_forest", {"random_state": 5})


def test_a_value_the_estimator_refuses_fails_before_fitting():
    with pytest.raises(ComponentInputError, match="'n_estimators' of random_forest"):
        make_estimator("random_forest", {"n_estimators": "many"})
    with pytest.raises(ComponentInputError, match="'max_depth'"):
        make_estimator("decision_tree", {"max_depth": 2.5})


def test_whole_floats_from_kfp_become_ints_only_where_the_float_is_invalid():
    # KFP carries JSON numbers as doubles: {"n_estimators": 200} arrives as 200.0.
    forest = make_estimator(
        "random_forest",
        {"n_estimators": 200.0, "max_depth": 4.0, "max_features": 1.0, "min_samples_split": 4.0},
    )
    assert forest.n_estimators == 200 and isinstance(forest.n_estimators, int)
    assert forest.max_depth == 4 and isinstance(forest.max_depth, int)
    assert forest.min_samples_split == 4 and isinstance(forest.min_samples_split, int)
    # 1.0 is a valid fraction ("all features"), so it stays a float and does not mean "1 feature".
    assert isinstance(forest.max_features, float)
    assert isinstance(make_estimator("logistic_regression", {"C": 1.0}).C, float)


def test_resolved_hyperparameters_are_every_constructor_argument_as_json():
    estimator = make_estimator("gradient_boosting", {"n_estimators": 30}, seed=11)
    resolved = resolved_hyperparameters(estimator)
    assert resolved["n_estimators"] == 30
    assert resolved["random_state"] == 11
    assert resolved["learning_rate"] == 0.1
    assert set(resolved) == set(GradientBoostingClassifier().get_params())
    json.dumps(resolved)
