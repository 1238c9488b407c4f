"""Drift's thresholds and tests exactly on their bounds (the surviving boundary mutants of
drift.py in MUTATION.md): each bound itself is on the documented side, the next float is not."""

import math

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.monitoring import drift
from kfp_mlops.components.monitoring.drift import Thresholds, compare_datasets


def test_psi_drift_may_equal_psi_warn():
    assert Thresholds(psi_warn=0.2, psi_drift=0.2).psi_drift == 0.2
    with pytest.raises(ComponentInputError, match="psi_drift"):
        Thresholds(psi_warn=0.2, psi_drift=math.nextafter(0.2, 0))


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_ks_alpha_of_0_or_1_is_refused(alpha):
    with pytest.raises(ComponentInputError, match=f"ks_alpha {alpha} must lie between 0 and 1"):
        Thresholds(ks_alpha=alpha)


def test_ks_alpha_just_inside_0_and_1_is_accepted():
    Thresholds(ks_alpha=math.nextafter(0.0, 1.0))
    Thresholds(ks_alpha=math.nextafter(1.0, 0.0))


def test_two_bins_and_one_category_are_the_least_accepted():
    assert Thresholds(bins=2).bins == 2
    assert Thresholds(max_categories=1).max_categories == 1
    with pytest.raises(ComponentInputError, match="bins 1 must be 2 or more"):
        Thresholds(bins=1)
    with pytest.raises(ComponentInputError, match="max_categories 0 must be 1 or more"):
        Thresholds(max_categories=0)


def test_holm_rejects_a_p_value_exactly_on_its_threshold():
    verdicts = drift.holm({"a": 0.025, "b": 0.5}, 0.05)
    assert verdicts == {"a": (0.025, True), "b": (0.05, False)}


def test_ks_uses_scipys_exact_test_up_to_and_including_the_row_limit():
    rng = np.random.default_rng(0)
    reference = np.sort(rng.normal(size=drift.EXACT_KS_MAX_ROWS))
    current = np.sort(rng.normal(0.3, size=40))
    expected = stats.ks_2samp(reference, current)

    found = drift.ks_two_sample(reference, current)

    assert (found.statistic, found.pvalue) == (float(expected.statistic), float(expected.pvalue))


def categorical(current_blue: int) -> tuple[pa.Table, pa.Table]:
    reference = pa.table({"colour": ["red"] * 50 + ["blue"] * 50})
    current = pa.table({"colour": ["red"] * (100 - current_blue) + ["blue"] * current_blue})
    return reference, current


def numeric() -> tuple[pa.Table, pa.Table]:
    # Twenty rows moved by two: a PSI above 0, a KS test that cannot reject.
    return pa.table({"n": np.arange(20.0)}), pa.table({"n": np.arange(2.0, 22.0)})


@pytest.mark.parametrize("tables", [categorical(60), numeric()], ids=["categorical", "numeric"])
def test_a_psi_exactly_on_psi_warn_warns_and_just_below_it_is_ok(tables):
    reference, current = tables
    (feature,) = compare_datasets(reference, current).features
    assert feature.ks is None or not feature.ks.rejected
    psi = feature.psi
    assert psi > 0

    (on,) = compare_datasets(reference, current, Thresholds(psi_warn=psi, psi_drift=10.0)).features
    above = Thresholds(psi_warn=math.nextafter(psi, math.inf), psi_drift=10.0)
    (below,) = compare_datasets(reference, current, above).features

    assert on.status == "warn"
    assert f">= {psi}" in on.reason
    assert below.status == "ok"
    assert f"< {above.psi_warn}" in below.reason
