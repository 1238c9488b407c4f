"""validate_table's rule thresholds on their bounds: 0 and 1 are valid rates and balances.

(Added for surviving boundary mutants of validate.py, see MUTATION.md; tests only: the module
belongs to the data work.)
"""

import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.validate import NUMERIC_TEXT_SHARE, validate_table


@pytest.fixture
def table() -> pa.Table:
    return pa.table({"x": [float(i) for i in range(20)], "target": [0, 1] * 10})


@pytest.mark.parametrize("rule", ["max_missing_rate", "min_class_balance"])
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_0_and_1_are_accepted(table, rule, value):
    report = validate_table(table, "target", min_rows=1, **{rule: value})
    assert report.passed  # no missing values; the two classes are perfectly balanced (1.0)


@pytest.mark.parametrize("rule", ["max_missing_rate", "min_class_balance"])
@pytest.mark.parametrize("value", [math.nextafter(0.0, -1.0), math.nextafter(1.0, 2.0)])
def test_just_outside_0_and_1_is_refused(table, rule, value):
    with pytest.raises(ComponentInputError, match=f"{rule} {value} is not between 0 and 1"):
        validate_table(table, "target", min_rows=1, **{rule: value})


def _numeric_text(numbers: int, texts: int) -> list:
    values = pa.array([str(n) for n in range(numbers)] + ["n/a"] * texts)
    table = pa.table({"x": values, "target": [0, 1] * ((numbers + texts) // 2)})
    report = validate_table(table, "target", min_rows=1)
    return [(f.subject, f.passed, f.observed) for f in report.findings if f.rule == RULE]


RULE = "numeric column holds text"


def test_a_text_column_exactly_at_the_numeric_share_is_numeric_with_text():
    # 9 of 10 values are numbers: exactly NUMERIC_TEXT_SHARE (9 / 10 == 0.9 in floating point).
    assert NUMERIC_TEXT_SHARE == 9 / 10
    assert _numeric_text(9, 1) == [("x", False, "1 text values")]


def test_a_text_column_just_below_the_numeric_share_is_text():
    assert _numeric_text(17, 3) == []  # 0.85


def test_zero_class_counts_cannot_occur():
    # Why `count > 0` in _class_balance has no boundary to test: the class counts come from
    # Arrow's value_counts, which reports only values present, even for a dictionary column with
    # unused categories (the only way a value could be known with no row).
    column = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], pa.int32()), ["a", "b", "c"])
    counts = pc.value_counts(column)
    assert counts.field("counts").to_pylist() == [2, 1]
    assert counts.field("values").to_pylist() == ["a", "b"]


def test_a_numeric_column_with_text_shows_three_examples_and_no_more():
    values = [str(n) for n in range(196)] + ["a", "b", "c", "d"]
    table = pa.table({"x": values, "target": [0, 1] * 100})
    report = validate_table(table, "target", min_rows=1)
    (problem,) = [f.problem for f in report.findings if f.rule == RULE]
    assert problem == "column 'x' is numeric but 4 of 200 values are text (e.g. 'a', 'b', 'c')"
