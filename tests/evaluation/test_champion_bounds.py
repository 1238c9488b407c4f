"""The champion comparison exactly on its bound: the bound itself passes, the next float fails.

Values are chosen so that the bound is exact in binary floating point (0.75 - 0.5 * 0.75 is
0.375 with no rounding), so the tests decide on ``>=`` against ``>`` and not on rounding luck.
"""

import math

import pytest

from kfp_mlops.components.common.mlflow_registry import RegisteredVersion
from kfp_mlops.components.evaluation.champion import decide_against_champion

NAME = "breast-cancer"


def champion(metric: str, value: float) -> RegisteredVersion:
    return RegisteredVersion(
        name=NAME,
        version="3",
        model_uri=f"models:/{NAME}/3",
        run_id="run",
        aliases=["champion"],
        tags={},
        metrics={metric: value},
    )


def approved(metric: str, ours: float, theirs: float, threshold: float, **rule) -> bool:
    decision = decide_against_champion(
        {metric: ours}, {metric: threshold}, champion(metric, theirs), NAME, "champion", **rule
    )
    assert decision.absolute.approved  # only the comparison decides here
    return decision.approved


@pytest.mark.parametrize(
    ("metric", "theirs", "rule", "bound", "worse"),
    [
        # higher is better: at least champion - margin * |champion|
        ("accuracy", 0.75, {"relative_margin": 0.5}, 0.375, -math.inf),
        ("accuracy", 0.75, {"relative_margin": 0.0}, 0.75, -math.inf),
        # lower is better: at most champion + margin * |champion|
        ("log_loss", 0.5, {"relative_margin": 0.5}, 0.75, math.inf),
        # min_improvement: beat the champion by at least that much
        ("accuracy", 0.5, {"min_improvement": 0.25}, 0.75, -math.inf),
        ("log_loss", 0.5, {"min_improvement": 0.25}, 0.25, math.inf),
    ],
    ids=["margin", "zero-margin", "margin-lower-is-better", "improvement", "improvement-lower"],
)
def test_exactly_on_the_bound_passes_and_the_next_float_fails(metric, theirs, rule, bound, worse):
    threshold = 10.0 if worse > 0 else 0.0  # an absolute threshold every value here passes
    assert approved(metric, bound, theirs, threshold, **rule)
    assert not approved(metric, math.nextafter(bound, worse), theirs, threshold, **rule)


def test_the_report_names_the_exact_bound():
    decision = decide_against_champion(
        {"accuracy": 0.375},
        {"accuracy": 0.1},
        champion("accuracy", 0.75),
        NAME,
        "champion",
        relative_margin=0.5,
    )
    (comparison,) = decision.comparisons
    assert comparison.bound == 0.375
    assert comparison.reason == (
        "accuracy 0.3750 is 50.00% worse than champion version 3's 0.7500: within the 50.00% "
        "margin (must be >= 0.3750)"
    )
