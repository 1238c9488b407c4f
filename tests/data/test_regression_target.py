"""A continuous target: the regression validation rules and the split on its quantile bins."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.split import split_to_parquet
from kfp_mlops.components.data.target_bins import quantile_bins
from kfp_mlops.components.data.validate import validate_table, validate_to_report


def _table(target: list | np.ndarray, **columns: object) -> pa.Table:
    rows = len(target)
    return pa.table({"x": np.arange(rows, dtype=float), "target": target, **columns})


def _failures(table: pa.Table) -> list[str]:
    report = validate_table(table, "target", min_rows=10, task="regression")
    return [finding.problem for finding in report.findings if not finding.passed]


def test_a_continuous_target_passes_without_a_class_balance_rule():
    report = validate_table(
        _table(np.linspace(0.5, 99.5, 200)), "target", min_rows=10, task="regression"
    )
    assert report.passed
    rules = {finding.rule for finding in report.findings}
    assert "class balance (normalized entropy)" not in rules
    assert {"regression target is numeric", "regression target is not constant"} <= rules


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (["a", "b"] * 50, "target column 'target' is string, not numeric"),
        ([3.5] * 100, "target column 'target' is constant (3.5): there is nothing to predict"),
        ([1.5, float("nan")] * 50, "target column 'target' has 50 NaN and 0 infinite values"),
        ([1.5, float("inf")] * 50, "target column 'target' has 0 NaN and 50 infinite values"),
        ([0, 1, 2] * 40, "holds only 3 distinct whole numbers (0, 1, 2): it looks like a class"),
        ([True, False] * 50, "target column 'target' is bool, not numeric"),
    ],
)
def test_bad_regression_targets_fail_naming_the_problem(target, expected):
    failures = _failures(_table(target))
    assert any(expected in problem for problem in failures), failures


def test_a_class_label_points_to_the_classification_pipeline(tmp_path: Path):
    path = tmp_path / "data.parquet"
    pq.write_table(_table([0, 1] * 60), path)
    with pytest.raises(ComponentInputError) as raised:
        validate_to_report(str(path), str(tmp_path / "report"), "target", task="regression")
    message = str(raised.value)
    assert "\n" not in message
    assert "use the tabular-classification pipeline" in message
    assert not (tmp_path / "report").exists()


def test_the_same_labels_still_pass_as_classification():
    assert validate_table(_table([0, 1] * 60), "target", min_rows=10).passed


def test_quantile_bins_have_equal_counts_and_merge_short_ones():
    bins = quantile_bins(np.arange(100.0), 10, 7)
    assert np.bincount(bins).tolist() == [10] * 10
    assert np.all(np.diff(bins) >= 0)  # ordered by value
    ties = np.array([0.0] * 95 + [1.0, 2.0, 3.0, 4.0, 5.0])
    merged = quantile_bins(ties, 10, 7)
    assert np.bincount(merged).min() >= 7


def test_quantile_bins_refuse_a_non_finite_target():
    with pytest.raises(ComponentInputError, match="NaN or infinite"):
        quantile_bins(np.array([1.0, np.nan, 3.0]), 2, 1)


def test_every_part_covers_the_targets_range(tmp_path: Path):
    # A skewed target: a plain shuffle can leave the test part without the long tail.
    target = np.random.default_rng(3).lognormal(0.0, 1.5, 400)
    path = tmp_path / "data.parquet"
    pq.write_table(_table(target), path)
    outputs = {name: str(tmp_path / f"{name}.parquet") for name in ("train", "validation", "test")}
    metadata = split_to_parquet(str(path), outputs, "target", seed=1, target_bins=10)
    assert metadata["test"]["target_bins"] == 10
    assert metadata["test"]["stratified_by"] == "target"
    deciles = np.quantile(target, np.linspace(0, 1, 11))
    for name, part in outputs.items():
        values = pd.read_parquet(part)["target"].to_numpy()
        counts = np.histogram(values, deciles)[0]
        share = {"train": 0.7, "validation": 0.15, "test": 0.15}[name]
        assert np.all(np.abs(counts - share * 40) <= 1), (name, counts)
    rows = sum(len(pd.read_parquet(part)) for part in outputs.values())
    assert rows == 400


def test_an_unknown_task_is_refused():
    with pytest.raises(ComponentInputError, match="task 'regresion' is not one of"):
        validate_table(_table(np.arange(20.0)), "target", min_rows=1, task="regresion")
