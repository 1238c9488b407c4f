"""Parsing, checking and sampling the search space dict."""

import optuna
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.tuning.search_space import (
    Categorical,
    NumberRange,
    as_dict,
    grid,
    grid_size,
    parse_search_space,
    suggest,
)


def test_ranges_and_choices_parse_with_kfp_floats_turned_into_ints():
    space = parse_search_space(
        {
            "n_estimators": {"type": "int", "low": 50.0, "high": 400.0, "log": True},
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "max_features": {"type": "categorical", "choices": ["sqrt", 0.5, None]},
        }
    )
    assert list(space) == ["learning_rate", "max_features", "n_estimators"]
    assert space["n_estimators"] == NumberRange("int", 50, 400, log=True)
    assert isinstance(space["n_estimators"].low, int)
    assert space["max_features"] == Categorical(("sqrt", 0.5, None))
    assert as_dict(space)["learning_rate"] == {
        "type": "float",
        "low": 0.01,
        "high": 0.3,
        "log": True,
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "integer", "low": 1, "high": 2}, r"'depth': unknown type 'integer'"),
        ({"type": "int", "high": 2}, r"'depth': an int range needs 'low'"),
        ({"type": "int", "low": 1.5, "high": 4}, r"'depth': low 1.5 is not a whole number"),
        ({"type": "int", "low": 4, "high": 4}, r"'depth': low 4 must be below high 4"),
        (
            {"type": "float", "low": 0, "high": 1, "log": True},
            r"'depth': a log scale needs low > 0",
        ),
        ({"type": "float", "low": 1, "high": 9, "log": True, "step": 1}, r"step and log"),
        (
            {"type": "int", "low": 1, "high": 9, "stpe": 2},
            r"unknown key.*'stpe' \(did you mean 'step'",
        ),
        ({"type": "float", "low": "a", "high": 2}, r"'depth': low must be a number"),
        ({"type": "categorical", "choices": []}, r"'depth': choices must be a non-empty list"),
        ({"type": "categorical", "choices": [1, 1]}, r"'depth': choices repeat a value"),
        ({"type": "categorical", "choices": [[1]]}, r"'depth': choice \[1\] is not a string"),
        (3, r"'depth': expected an object with a 'type'"),
    ],
)
def test_a_bad_entry_names_the_parameter(entry, message):
    with pytest.raises(ComponentInputError, match=message):
        parse_search_space({"depth": entry})


def test_an_empty_space_is_refused():
    with pytest.raises(ComponentInputError, match="the search space is empty"):
        parse_search_space({})


def test_suggest_samples_inside_the_space():
    space = parse_search_space(
        {
            "a": {"type": "int", "low": 2, "high": 10, "step": 2},
            "b": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
            "c": {"type": "categorical", "choices": ["x", "y"]},
        }
    )
    sampled = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        values = suggest(sampled.ask(), space)
        assert values["a"] in (2, 4, 6, 8, 10)
        assert 0.001 <= values["b"] <= 1.0
        assert values["c"] in ("x", "y")


def test_grid_needs_steps_or_choices():
    space = parse_search_space(
        {
            "a": {"type": "int", "low": 1, "high": 7, "step": 3},
            "b": {"type": "float", "low": 0.1, "high": 0.3, "step": 0.1},
            "c": {"type": "categorical", "choices": [True, False]},
        }
    )
    assert grid(space) == {"a": [1, 4, 7], "b": [0.1, 0.2, 0.3], "c": [True, False]}
    assert grid_size(space) == 18
    with pytest.raises(ComponentInputError, match="'d': grid search needs a finite set"):
        grid(parse_search_space({"d": {"type": "float", "low": 0.1, "high": 0.3}}))
