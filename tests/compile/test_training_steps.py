"""The shared training helpers of the tabular pipelines."""

import pytest

from kfp_mlops.pipelines.training_steps import arguments_for


def _helper(split, *, seed, estimator):  # the shape of train_gate_release
    return split, seed, estimator


def test_arguments_for_takes_the_keyword_only_parameters_by_name():
    values = {"split": "s", "seed": 1, "estimator": "ridge", "data_uri": "x"}
    assert arguments_for(_helper, values) == {"seed": 1, "estimator": "ridge"}


def test_a_pipeline_without_one_of_them_is_named():
    with pytest.raises(KeyError, match="estimator"):
        arguments_for(_helper, {"seed": 1})
