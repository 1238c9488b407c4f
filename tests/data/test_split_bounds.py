"""The split's bounds, each on its exact value: a class with exactly the rows a stratified split
needs, an exactly integral share, a time cut that would fall on the first or the last row, two
cuts on one time, an empty table.

(Added for the surviving boundary mutants of split.py, see MUTATION.md; tests only: the module
belongs to the data work.)
"""

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.split import PARTS, allocate, stratified_split, time_split

TOO_FEW = "time column 'time' has too few distinct times to cut"


def test_a_class_with_exactly_the_rows_needed_reaches_every_part():
    # 0.7/0.15/0.15 needs ceil(1 / 0.15) = 7 rows of each class; 6 are refused (test_split.py).
    labels = [0] * 50 + [1] * 7
    table = pa.table({"row": range(len(labels)), "y": pa.array(labels, pa.int64())})

    splits = stratified_split(table, "y")

    ones = [getattr(splits, part).column("y").to_pylist().count(1) for part in PARTS]
    assert ones == [5, 1, 1]


def test_an_integral_share_is_never_rounded_up():
    # The second class's train share is exactly 7 rows: it gets 7, and the row left over goes to
    # validation, whose share (1.5) is fractional, not to train as an 8th.
    assert allocate(np.array([5, 10]), np.array([0.7, 0.15, 0.15])).tolist() == [
        [3, 1, 1],
        [7, 2, 1],
    ]


@pytest.mark.parametrize(
    "fractions",
    [(0.04, 0.46, 0.5), (0.5, 0.46, 0.04)],
    ids=["train-cut-on-the-first-row", "test-cut-after-the-last-row"],
)
def test_a_cut_at_either_end_of_the_rows_is_refused(fractions):
    # Ten distinct times: round(10 * 0.04) = 0 rows of train, round(10 * 0.96) = 10 rows before
    # test; either leaves a part empty.
    table = pa.table({"time": np.arange(10)})
    with pytest.raises(ComponentInputError, match=TOO_FEW):
        time_split(table, "time", *fractions)


def test_two_cuts_on_one_time_are_refused():
    # Both cuts (rows 7 and 8 of 10) fall on the time shared by rows 5..9: validation would be
    # empty.
    table = pa.table({"time": [0, 1, 2, 3, 4, 5, 5, 5, 5, 5]})
    with pytest.raises(ComponentInputError, match=TOO_FEW):
        time_split(table, "time")


def test_an_empty_table_is_refused_as_too_few_times():
    table = pa.table({"time": pa.array([], pa.int64())})
    with pytest.raises(ComponentInputError, match=TOO_FEW):
        time_split(table, "time")


def test_the_smallest_cuts_that_leave_every_part_a_row():
    # Three distinct times and 1/3 each: one row per part, the cuts on rows 1 and 2.
    splits = time_split(pa.table({"time": [2, 0, 1]}), "time", 1 / 3, 1 / 3, 1 / 3)
    assert [getattr(splits, part).column("time").to_pylist() for part in PARTS] == [[0], [1], [2]]
