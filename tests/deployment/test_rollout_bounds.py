"""Rollout's own bounds: a canary of 1 % is a canary, 0 % is refused; a timeout must be above 0.

(Added for the surviving boundary mutants of rollout.py, see MUTATION.md.)
"""

import math

import pytest
from deployment.test_rollout import NAME, NAMESPACE, Smoke, live, manifest, rollout

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.deployment.rollout import traffic


def test_a_canary_of_1_percent_is_checked_on_1_percent_of_the_traffic(kube):
    kube.put(manifest("m1"))
    smoke = Smoke(kube)

    result = rollout(kube, smoke, "m2", canary_traffic_percent=1).run()

    assert result.action == "canary-promoted"
    (seen,) = smoke.traffic_seen
    assert {(item["revisionName"], item["percent"]) for item in seen} == {
        (f"{NAME}-predictor-00002", 1),
        (f"{NAME}-predictor-00001", 99),
    }
    assert kube.patches[0]["spec"]["predictor"]["canaryTrafficPercent"] == 1
    assert [(item["revisionName"], item["percent"]) for item in traffic(live(kube))] == [
        (f"{NAME}-predictor-00002", 100)
    ]


@pytest.mark.parametrize("percent", [0, 101])
def test_a_canary_outside_1_to_100_is_refused_before_any_request(kube, percent):
    with pytest.raises(ComponentInputError) as raised:
        rollout(kube, Smoke(), "m2", canary_traffic_percent=percent)
    assert str(raised.value) == f"canary_traffic_percent {percent} is not between 1 and 100"
    assert kube.stored(NAMESPACE, NAME) is None


def test_a_timeout_of_0_is_refused_and_the_least_positive_one_accepted(kube):
    with pytest.raises(ComponentInputError) as raised:
        rollout(kube, Smoke(), "m2", timeout=0.0)
    assert str(raised.value) == "ready timeout 0.0 s is not positive"
    rollout(kube, Smoke(), "m2", timeout=math.nextafter(0.0, 1.0))
