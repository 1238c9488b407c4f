"""PSI against values worked out by hand, and the drift decision exactly on its threshold."""

import math

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.monitoring import drift
from kfp_mlops.components.monitoring.drift import Thresholds, compare_datasets


def test_psi_of_a_half_half_split_moving_to_a_quarter_is_a_quarter_of_ln_3():
    # Shares p = (0.5, 0.5), q = (0.25, 0.75):
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 2 + 0.25 ln 1.5
    # = 0.25 ln 3 = 0.274653072167027...
    value = drift.population_stability_index(np.array([50.0, 50.0]), np.array([25.0, 75.0]))
    assert value == pytest.approx(0.274653072167027, abs=1e-12)


def test_psi_floors_an_empty_bin_at_epsilon():
    # p = (1, 0 -> 1e-4), q = (0.5, 0.5):
    # (0.5 - 1) ln(0.5) + (0.5 - 0.0001) ln(0.5 / 0.0001) = 0.5 ln 2 + 0.4999 ln 5000
    # ln 5000 = ln 5 + 3 ln 10 = 1.609437912434 + 6.907755278982 = 8.517193191416;
    # 0.4999 * 8.517193191416 = 4.258596595708 - 0.000851719319 = 4.257744876389;
    # + 0.5 ln 2 = 0.346573590280 gives 4.604318466669.
    value = drift.population_stability_index(np.array([100.0, 0.0]), np.array([50.0, 50.0]))
    assert value == pytest.approx(4.604318466669, abs=1e-11)
    assert drift.PSI_EPSILON == 1e-4


def test_psi_is_symmetric_in_the_two_samples_and_zero_only_for_equal_shares():
    a, b = np.array([10.0, 30.0, 60.0]), np.array([20.0, 20.0, 60.0])
    assert drift.population_stability_index(a, b) == pytest.approx(
        drift.population_stability_index(b, a), abs=1e-15
    )
    assert drift.population_stability_index(a, 3 * a) == 0.0


def frames(current_blue: int) -> tuple[pa.Table, pa.Table]:
    reference = pa.table({"colour": ["red"] * 50 + ["blue"] * 50})
    current = pa.table({"colour": ["red"] * (100 - current_blue) + ["blue"] * current_blue})
    return reference, current


def test_categorical_psi_through_the_report_is_the_hand_value():
    reference, current = frames(75)
    (feature,) = compare_datasets(reference, current).features
    assert feature.psi == pytest.approx(0.25 * math.log(3), abs=1e-12)
    assert feature.reason == "colour: drift: PSI 0.275 >= 0.2"


def test_a_psi_exactly_on_the_drift_threshold_drifts_and_just_below_only_warns():
    reference, current = frames(75)
    (feature,) = compare_datasets(reference, current).features
    exactly = Thresholds(psi_warn=0.1, psi_drift=feature.psi)
    above = Thresholds(psi_warn=0.1, psi_drift=math.nextafter(feature.psi, math.inf))

    assert compare_datasets(reference, current, exactly).drifted_features == ["colour"]
    result = compare_datasets(reference, current, above)
    assert result.drifted_features == []
    (warned,) = result.features
    assert warned.status == "warn"
