"""validate_table's rule thresholds on their bounds: 0 and 1 are valid rates and balances.

(Added for surviving boundary mutants of validate.py, see MUTATION.md; tests only: the module
belongs to the data work.)
"""

import math

import pyarrow as pa
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.validate import validate_table


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
