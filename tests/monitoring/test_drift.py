"""Drift statistics and the decision: PSI, KS as scipy computes it, Holm, breast cancer cases."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from support.monitoring_data import SHIFTED, table

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.monitoring import drift
from kfp_mlops.components.monitoring.drift import Thresholds, compare_datasets


def test_held_out_rows_of_the_same_data_do_not_drift(reference_and_held_out):
    reference, held_out = reference_and_held_out
    result = compare_datasets(table(reference), table(held_out), exclude_columns=["target"])

    assert result.drift_detected is False
    assert result.drifted_features == []
    assert len(result.features) == 30
    assert "target" not in {feature.name for feature in result.features}
    assert result.reasons  # the warnings, or the largest PSI when nothing warned


def test_two_shifted_features_drift_and_only_they(reference_and_held_out, shifted_held_out):
    reference, _ = reference_and_held_out
    result = compare_datasets(table(reference), table(shifted_held_out), exclude_columns=["target"])

    assert result.drift_detected is True
    assert sorted(result.drifted_features) == sorted(SHIFTED)
    assert [reason.split(":")[0] for reason in result.reasons[:2]] == [
        name for name in table(reference).column_names if name in SHIFTED
    ]
    for feature in result.features:
        if feature.name in SHIFTED:
            assert feature.psi >= 0.2 and feature.ks.rejected
            assert "drift: PSI" in feature.reason and "KS p-value" in feature.reason


def test_psi_matches_its_formula():
    reference = np.array([50.0, 30.0, 20.0, 0.0])
    current = np.array([40.0, 30.0, 20.0, 10.0])
    p = np.maximum(reference / 100, drift.PSI_EPSILON)
    q = np.maximum(current / 100, drift.PSI_EPSILON)
    expected = float(np.sum((q - p) * np.log(q / p)))

    assert drift.population_stability_index(reference, current) == pytest.approx(expected)
    assert drift.population_stability_index(reference, reference) == 0.0


@pytest.mark.parametrize(
    ("size_reference", "size_current", "integers"),
    [(400, 170, False), (30_000, 12_000, False), (30_000, 12_000, True), (12_000, 30_000, True)],
    ids=["exact", "asymptotic", "ties", "ties-swapped"],
)
def test_ks_is_scipys(size_reference: int, size_current: int, integers: bool):
    rng = np.random.default_rng(3)
    if integers:
        reference = rng.integers(0, 40, size_reference).astype(float)
        current = rng.integers(1, 41, size_current).astype(float)
    else:
        reference = rng.normal(0.0, 1.0, size_reference)
        current = rng.normal(0.05, 1.0, size_current)
    ours = drift.ks_two_sample(np.sort(reference), np.sort(current))
    theirs = stats.ks_2samp(reference, current)

    assert ours.statistic == theirs.statistic
    assert ours.pvalue == theirs.pvalue


def test_holm_steps_down_and_stops_at_the_first_failure():
    pvalues = {"a": 0.001, "b": 0.04, "c": 0.014, "d": 0.03}
    verdicts = drift.holm(pvalues, 0.05)

    # a: 0.001 <= 0.05/4; c: 0.014 <= 0.05/3; d: 0.03 > 0.05/2 stops; b is not reached.
    assert verdicts == {
        "a": (0.0125, True),
        "c": (pytest.approx(0.05 / 3), True),
        "d": (0.025, False),
        "b": (None, False),
    }
    bonferroni = {name: p <= 0.05 / 4 for name, p in pvalues.items()}
    assert sum(bonferroni.values()) == 1  # Holm flags c too, Bonferroni does not


def test_numeric_bins_are_reference_quantiles_and_missing_has_its_own_bin():
    reference = pa.chunked_array([np.arange(100, dtype=float)])
    current = pa.chunked_array([pa.array([1.0, 2.0, None, np.nan, 95.0], from_pandas=False)])
    feature = drift.compare_numeric("x", reference, current, bins=4)

    assert feature.bin_labels == [
        "< 24.75",
        "[24.75, 49.5)",
        "[49.5, 74.25)",
        ">= 74.25",
        "(missing)",
    ]
    assert feature.reference_shares == [0.25, 0.25, 0.25, 0.25, 0.0]
    assert feature.current_shares == [0.4, 0.0, 0.0, 0.2, 0.4]
    assert feature.ks is not None  # on the three values present


def test_repeated_quantiles_merge_into_fewer_bins():
    reference = pa.chunked_array([[0.0] * 80 + [1.0] * 20])
    feature = drift.compare_numeric("flag", reference, reference, bins=10)

    # Deciles 0.1 to 0.7 are all 0, 0.8 interpolates to 0.2, 0.9 is 1: three distinct edges.
    assert feature.bin_labels == ["< 0", "[0, 0.2)", "[0.2, 1)", ">= 1"]
    assert feature.reference_shares == [0.0, 0.8, 0.0, 0.2]
    assert feature.psi == 0.0


def test_categorical_bins_keep_the_most_frequent_values_then_other_and_missing():
    reference = pa.chunked_array([["a"] * 5 + ["b"] * 3 + ["c"] * 2 + [None]])
    current = pa.chunked_array([["a"] * 2 + ["z"] * 2 + [None] * 1])
    feature = drift.compare_categorical("colour", reference, current, max_categories=2)

    assert feature.kind == "categorical" and feature.ks is None
    assert feature.bin_labels == ["a", "b", "(other)", "(missing)"]
    assert feature.reference_shares == pytest.approx([5 / 11, 3 / 11, 2 / 11, 1 / 11])
    assert feature.current_shares == pytest.approx([0.4, 0.0, 0.4, 0.2])


def test_categorical_feature_drifts_on_psi_alone():
    reference = pa.table({"colour": ["red"] * 50 + ["blue"] * 50, "n": list(range(100))})
    current = pa.table({"colour": ["red"] * 90 + ["blue"] * 10, "n": list(range(100))})
    result = compare_datasets(reference, current)

    assert result.drifted_features == ["colour"]
    (colour,) = [feature for feature in result.features if feature.name == "colour"]
    assert colour.reason == f"colour: drift: PSI {colour.psi:.3f} >= 0.2"


def test_large_psi_without_a_significant_ks_test_only_warns():
    # Twelve rows: PSI is large by chance, and KS cannot reject.
    reference = pa.table({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    current = pa.table({"x": [1.5, 1.6, 1.7, 5.5, 5.6, 5.7]})
    result = compare_datasets(reference, current, Thresholds(bins=3))

    (feature,) = result.features
    assert feature.psi >= 0.2 and not feature.ks.rejected
    assert feature.status == "warn" and result.drift_detected is False


def test_a_significant_but_tiny_move_on_many_rows_only_warns():
    rng = np.random.default_rng(0)
    reference = pa.table({"x": rng.normal(0.0, 1.0, 200_000)})
    current = pa.table({"x": rng.normal(0.03, 1.0, 200_000)})
    result = compare_datasets(reference, current)

    (feature,) = result.features
    assert feature.ks.rejected and feature.psi < 0.1
    assert feature.status == "warn" and result.drift_detected is False


def test_metrics_name_psi_and_ks_per_feature(reference_and_held_out):
    reference, held_out = reference_and_held_out
    result = compare_datasets(
        table(reference), table(held_out), feature_columns=["mean radius", "mean texture"]
    )
    metrics = result.metrics()

    assert set(metrics) == {
        "psi.mean radius",
        "psi.mean texture",
        "ks_pvalue.mean radius",
        "ks_pvalue.mean texture",
        "features_compared",
        "features_drifted",
        "max_psi",
    }
    assert metrics["features_compared"] == 2.0


def test_temporal_columns_are_skipped_and_said_so():
    when = pa.array([0, 1, 2], type=pa.timestamp("s"))
    reference = pa.table({"when": when, "x": [1.0, 2.0, 3.0]})
    result = compare_datasets(reference, reference)

    assert [feature.name for feature in result.features] == ["x"]
    assert "when" in result.skipped and "timestamp" in result.skipped["when"]


@pytest.mark.parametrize(
    ("reference", "current", "options", "message"),
    [
        (pa.table({"x": [1.0]}), pa.table({"y": [1.0]}), {}, "column 'x' of the reference"),
        (pa.table({"x": [1.0]}), pa.table({"x": ["a"]}), {}, "column 'x' is numeric (double)"),
        (pa.table({"x": [1.0]}), pa.table({"x": pa.array([], pa.float64())}), {}, "current"),
        (
            pa.table({"x": [1.0]}),
            pa.table({"x": [1.0]}),
            {"feature_columns": ["nope"]},
            "feature column 'nope'",
        ),
        (
            pa.table({"x": [1.0]}),
            pa.table({"x": [1.0]}),
            {"exclude_columns": ["label"]},
            "excluded column 'label'",
        ),
    ],
    ids=["missing-column", "kind-changed", "empty-current", "unknown-feature", "unknown-exclude"],
)
def test_bad_inputs_fail_with_one_line_naming_the_column(reference, current, options, message):
    with pytest.raises(ComponentInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compare_datasets(reference, current, **options)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"psi_warn": 0.0}, "psi_warn"),
        ({"psi_warn": 0.3, "psi_drift": 0.2}, "psi_drift"),
        ({"ks_alpha": 1.5}, "ks_alpha"),
        ({"bins": 1}, "bins"),
        ({"max_categories": 0}, "max_categories"),
    ],
)
def test_bad_thresholds_are_refused(settings: dict, message: str):
    with pytest.raises(ComponentInputError, match=message):
        Thresholds(**settings)
