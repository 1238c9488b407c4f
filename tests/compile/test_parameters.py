"""`--param KEY=VALUE` becomes a typed pipeline argument, or a clear error."""

from typing import Optional

import pytest
from kfp import dsl

from kfp_mlops.compile import parameters


@dsl.component(base_image="python:3.11-slim")
def _echo(text: str) -> str:
    return text


@dsl.pipeline(name="typed")
def _typed(
    name: str,
    count: int,
    ratio: float,
    flag: bool,
    options: dict,
    items: list,
    maybe: Optional[str] = None,
    with_default: int = 3,
):
    _echo(text=name)


def test_values_are_typed_by_the_pipeline_signature():
    arguments = parameters.parse_arguments(
        _typed,
        [
            "name=a=b",
            "count=3",
            "ratio=0.5",
            "flag=TRUE",
            'options={"a": 1}',
            "items=[1, 2]",
        ],
    )
    assert arguments == {
        "name": "a=b",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "options": {"a": 1},
        "items": [1, 2],
    }


def test_required_parameters_are_those_without_default():
    assert parameters.required_parameters(_typed) == [
        "count",
        "flag",
        "items",
        "name",
        "options",
        "ratio",
    ]


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("count=three", "count='three' is not an integer"),
        ("ratio=x", "is not a number"),
        ("flag=yes", "is not true or false"),
        ("options=[1]", "is not a JSON object"),
        ("items={", "is not a JSON list"),
        ("nope=1", "unknown parameter 'nope'"),
        ("novalue", "is not of the form KEY=VALUE"),
    ],
)
def test_bad_values_name_the_parameter(pair, message):
    with pytest.raises(ValueError, match=message):
        parameters.parse_arguments(_typed, [pair])


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (
            'thresholds={"accuracy": NaN}',
            """parameter thresholds='{"accuracy": NaN}' holds NaN: use finite numbers""",
        ),
        (
            'thresholds={"accuracy": -Infinity}',
            """parameter thresholds='{"accuracy": -Infinity}' holds -Infinity: use finite""",
        ),
    ],
)
def test_non_finite_numbers_in_json_are_refused_before_anything_runs(pair, message):
    from kfp_mlops.pipelines import tabular_classification

    with pytest.raises(ValueError) as raised:
        parameters.parse_arguments(tabular_classification, [pair])
    assert str(raised.value).startswith(message)


def test_run_refuses_a_nan_threshold_with_exit_2(tmp_path):
    from click.testing import CliRunner

    from kfp_mlops.compile.cli import main

    result = CliRunner().invoke(
        main,
        [
            "run",
            "tabular-classification",
            "--run-dir",
            str(tmp_path / "run"),
            "--param",
            "data_uri=x.csv",
            "--param",
            "target_column=y",
            "--param",
            'thresholds={"accuracy": NaN}',
        ],
    )
    assert result.exit_code == 2
    assert "holds NaN: use finite numbers" in result.output
    assert not (tmp_path / "run").exists()
