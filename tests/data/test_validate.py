"""Data validation rules, their report, and the step that fails on broken rules."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.data.validate import ValidationReport, validate_table, validate_to_report


@pytest.fixture
def table() -> pa.Table:
    """200 clean rows: floats, integers, words, a balanced label."""
    rng = np.random.default_rng(5)
    return pa.table(
        {
            "x": rng.normal(size=200),
            "n": rng.integers(0, 10, 200),
            "word": np.array(["red", "green", "blue", "grey"], dtype=object)[np.arange(200) % 4],
            "target": np.tile([0, 1], 100),
        }
    )


def _replace(table: pa.Table, name: str, values: list | np.ndarray | pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, pa.array(values))


def _findings(report: ValidationReport, rule: str) -> dict[str, bool]:
    return {f.subject: f.passed for f in report.findings if f.rule == rule}


def _only_problem(report: ValidationReport) -> str:
    problems = [f.problem for f in report.findings if not f.passed]
    assert len(problems) == 1, problems
    return problems[0]


def test_clean_table_passes_every_rule(table: pa.Table):
    report = validate_table(table, "target")
    assert report.passed
    assert {f.rule for f in report.findings} == {
        "minimum rows",
        "missing rate",
        "target has no missing values",
        "classes in target",
        "class balance (normalized entropy)",
    }
    assert all(f.problem == "" for f in report.findings)


def test_minimum_rows(table: pa.Table):
    assert validate_table(table, "target", min_rows=200).passed
    report = validate_table(table, "target", min_rows=201)
    assert _only_problem(report) == "the dataset has 200 rows, fewer than min_rows=201"


@pytest.mark.parametrize(
    ("column", "missing_value"),
    [("x", None), ("x", float("nan")), ("n", None), ("word", None), ("word", ""), ("word", "  ")],
)
def test_missing_rate_counts_nulls_nan_and_empty_text(table: pa.Table, column, missing_value):
    values = table.column(column).to_pylist()
    at_limit = [missing_value if i < 10 else v for i, v in enumerate(values)]  # 5.0 %
    assert validate_table(_replace(table, column, at_limit), "target").passed
    over = [missing_value if i < 11 else v for i, v in enumerate(values)]  # 5.5 %
    report = validate_table(_replace(table, column, over), "target")
    assert _findings(report, "missing rate")[column] is False
    assert _only_problem(report) == f"column {column!r} is 5.5% missing (max_missing_rate 5.0%)"


def test_missing_rate_threshold_is_configurable(table: pa.Table):
    values = [None if i % 5 < 3 else v for i, v in enumerate(table.column("x").to_pylist())]
    mostly_missing = _replace(table, "x", values)
    assert _only_problem(validate_table(mostly_missing, "target")) == (
        "column 'x' is 60.0% missing (max_missing_rate 5.0%)"
    )
    assert validate_table(mostly_missing, "target", max_missing_rate=0.6).passed


def test_target_with_missing_labels(table: pa.Table):
    labels = [None if i == 3 else v for i, v in enumerate(table.column("target").to_pylist())]
    report = validate_table(_replace(table, "target", labels), "target")
    assert _findings(report, "target has no missing values") == {"target": False}
    assert _only_problem(report) == "target column 'target' has 1 rows with no label"


def test_target_with_one_class(table: pa.Table):
    report = validate_table(_replace(table, "target", [1] * 200), "target")
    assert _findings(report, "classes in target") == {"target": False}
    assert _only_problem(report) == (
        "target column 'target' has a single class 1: a classifier needs at least two"
    )


def test_class_balance(table: pa.Table):
    skewed = _replace(table, "target", [1] * 190 + [0] * 10)  # normalized entropy 0.286
    report = validate_table(skewed, "target")
    assert _only_problem(report) == (
        "target column 'target' is imbalanced: normalized class entropy 0.286 is below 0.8"
    )
    assert validate_table(skewed, "target", min_class_balance=0.28).passed


def test_text_in_a_numeric_column(table: pa.Table):
    values = [str(v) for v in table.column("x").to_pylist()]
    values[7] = values[40] = "abc"
    values[99] = "n/a "
    report = validate_table(_replace(table, "x", values), "target")
    assert _findings(report, "numeric column holds text") == {"x": False}
    assert _only_problem(report) == (
        "column 'x' is numeric but 3 of 200 values are text (e.g. 'abc', 'n/a')"
    )


def test_a_real_text_column_is_not_numeric_with_text(table: pa.Table):
    values = ["12", "7.5", *table.column("word").to_pylist()[2:]]  # mostly words
    assert validate_table(_replace(table, "word", values), "target").passed


def test_numbers_stored_as_text_only_are_fine(table: pa.Table):
    values = [f"{v:.3f}" for v in table.column("x").to_pylist()]
    assert validate_table(_replace(table, "x", values), "target").passed


def test_declared_string_column_is_not_checked_for_numbers(table: pa.Table):
    values = [str(v) for v in table.column("n").to_pylist()]
    values[0] = "abc"
    report = validate_table(_replace(table, "n", values), "target", expected_types={"n": "string"})
    assert report.passed


@pytest.mark.parametrize(
    ("expected_types", "passed"),
    [
        ({"x": "numeric", "n": "integer", "word": "string"}, True),
        ({"x": "float", "n": "numeric"}, True),
        ({"x": "float64", "n": "int64"}, True),
        ({"n": "float"}, False),
        ({"x": "int64"}, False),
        ({"word": "numeric"}, False),
        ({"target": "boolean"}, False),
    ],
)
def test_expected_types(table: pa.Table, expected_types: dict, passed: bool):
    report = validate_table(table, "target", expected_types=expected_types)
    assert report.passed is passed
    if not passed:
        [(name, expected)] = expected_types.items()
        actual = table.schema.field(name).type
        assert _only_problem(report) == f"column {name!r} is {actual}, expected {expected}"


def test_expected_type_of_timestamps(table: pa.Table):
    times = pa.array(np.arange(200) * 1000, pa.timestamp("ms"))
    with_times = table.append_column("when", times)
    assert validate_table(with_times, "target", expected_types={"when": "timestamp"}).passed
    report = validate_table(with_times, "target", expected_types={"when": "numeric"})
    assert _only_problem(report) == "column 'when' is timestamp[ms], expected numeric"


def test_expected_column_that_is_absent(table: pa.Table):
    report = validate_table(table, "target", expected_types={"age": "numeric"})
    assert _findings(report, "expected column") == {"age": False}
    assert _only_problem(report) == "expected column 'age' (numeric) is missing"


def test_unknown_expected_type_is_a_malformed_rule(table: pa.Table):
    with pytest.raises(ComponentInputError, match="expected type 'number' is neither one of"):
        validate_table(table, "target", expected_types={"x": "number"})


def test_value_ranges(table: pa.Table):
    assert validate_table(table, "target", value_ranges={"n": [0, 9], "x": [-10, 10]}).passed
    assert validate_table(table, "target", value_ranges={"n": [None, 9]}).passed
    assert validate_table(table, "target", value_ranges={"n": [0, None]}).passed
    report = validate_table(table, "target", value_ranges={"n": [1, 8]})
    outside = sum(1 for v in table.column("n").to_pylist() if v < 1 or v > 8)
    assert _findings(report, "value range") == {"n": False}
    assert _only_problem(report) == f"column 'n' has {outside} values outside [1, 8] (seen 0 to 9)"
    below = validate_table(table, "target", value_ranges={"n": [5, None]})
    assert "values outside [5, ]" in _only_problem(below)


@pytest.mark.parametrize(
    ("value_ranges", "message"),
    [
        ({"age": [0, 1]}, "value_ranges names column 'age', which the dataset does not have"),
        ({"word": [0, 1]}, "value_ranges names column 'word', which is string, not numeric"),
        ({"n": [0, 1, 2]}, "value_ranges['n'] must be [minimum, maximum]"),
    ],
)
def test_malformed_value_ranges(table: pa.Table, value_ranges: dict, message: str):
    with pytest.raises(ComponentInputError) as raised:
        validate_table(table, "target", value_ranges=value_ranges)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"max_missing_rate": 1.5}, "max_missing_rate 1.5 is not between 0 and 1"),
        ({"min_class_balance": -0.1}, "min_class_balance -0.1 is not between 0 and 1"),
    ],
)
def test_malformed_thresholds(table: pa.Table, rules: dict, message: str):
    with pytest.raises(ComponentInputError, match=message):
        validate_table(table, "target", **rules)


def test_absent_target_column(table: pa.Table):
    with pytest.raises(ComponentInputError) as raised:
        validate_table(table, "label")
    assert str(raised.value) == (
        "target column 'label' not found; the columns are: x, n, word, target"
    )


def test_several_broken_rules_make_one_line(table: pa.Table):
    broken = _replace(_replace(table, "target", [1] * 200), "x", [None] * 200)
    report = validate_table(broken, "target", min_rows=500)
    message = report.failure_message()
    assert "\n" not in message
    assert message.startswith("data validation failed: the dataset has 200 rows")
    assert message.count("; ") == 2
    assert "column 'x' is 100.0% missing" in message
    assert "has a single class 1" in message


def test_markdown_report(table: pa.Table):
    values = [None if i < 11 else v for i, v in enumerate(table.column("x").to_pylist())]
    report = validate_table(_replace(table, "x", values), "target")
    lines = report.to_markdown().splitlines()
    assert lines[0] == "# Data validation FAILED"
    assert "200 rows, 4 columns." in lines
    assert "| rule | column | result | observed | limit |" in lines
    assert "| minimum rows | (dataset) | pass | 200 | >= 100 |" in lines
    assert "| missing rate | x | **FAIL** | 5.5% | <= 5.0% |" in lines
    assert "| class balance (normalized entropy) | target | pass | 1.000 | >= 0.8 |" in lines
    assert "## Columns" in lines
    assert "| column | type | missing | min | max |" in lines
    assert "| n | int64 | 0.0% | 0 | 9 |" in lines
    assert "| word | string | 0.0% |  |  |" in lines
    assert validate_table(table, "target").to_markdown().startswith("# Data validation passed\n")


def test_markdown_escapes_column_names_that_would_break_the_table(table: pa.Table):
    renamed = table.rename_columns(["a|b", "line\nbreak", "word", "target"])
    markdown = validate_table(renamed, "target").to_markdown()
    assert "| missing rate | a\\|b | pass |" in markdown
    assert "| missing rate | line break | pass |" in markdown


def test_validate_to_report_writes_the_report_when_every_rule_passes(
    table: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture
):
    write_parquet(table, tmp_path / "data.parquet")
    report = validate_to_report(str(tmp_path / "data.parquet"), str(tmp_path / "r.md"), "target")
    assert report.passed
    assert (tmp_path / "r.md").read_text() == report.to_markdown()
    assert "# Data validation passed" in capsys.readouterr().out


def test_validate_to_report_fails_without_writing_the_report(
    table: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture
):
    write_parquet(_replace(table, "target", [0] * 200), tmp_path / "data.parquet")
    with pytest.raises(ComponentInputError) as raised:
        validate_to_report(
            str(tmp_path / "data.parquet"), str(tmp_path / "r.md"), "target", min_rows=10
        )
    assert str(raised.value) == (
        "data validation failed: target column 'target' has a single class 0: "
        "a classifier needs at least two"
    )
    assert not (tmp_path / "r.md").exists()
    assert "# Data validation FAILED" in capsys.readouterr().out  # the log still explains


# Issue 14, finding 8: infinities, and short messages about absent columns.


@pytest.mark.parametrize("text", ["inf", "1e309", "-inf"])
def test_infinite_values_fail_naming_the_column(table: pa.Table, tmp_path: Path, text: str):
    import pyarrow.csv as pacsv

    pairs = zip(table.column("x").to_pylist(), table.column("target").to_pylist(), strict=True)
    lines = ["x,target"] + [f"{x},{target}" for x, target in pairs]
    lines[5] = f"{text},1"
    path = tmp_path / "inf.csv"
    path.write_text("\n".join(lines) + "\n")
    report = validate_table(pacsv.read_csv(path), "target")
    assert _only_problem(report) == (
        "column 'x' holds 1 infinite values (inf, or a number too large for float64 such as 1e309)"
    )


def test_an_absent_target_among_many_columns_names_the_closest_and_the_count():
    wide = pa.table(
        {f"feature_{index:02d}": [0.0, 1.0] * 60 for index in range(40)} | {"labels": [0, 1] * 60}
    )
    with pytest.raises(ComponentInputError) as raised:
        validate_table(wide, "label")
    message = str(raised.value)
    assert message == "target column 'label' not found; the closest are: labels (of 41 columns)"
