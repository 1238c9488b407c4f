"""Stratified and time splits into train, validation and test parts."""

import collections
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import BATCH_ROWS, fingerprint, write_parquet
from kfp_mlops.components.data.split import (
    allocate,
    split_to_parquet,
    stratified_split,
    time_split,
)

FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def _labelled(labels: np.ndarray) -> pa.Table:
    return pa.table(
        {"row": np.arange(len(labels)), "feature": np.sin(np.arange(len(labels))), "y": labels}
    )


def _rows(part: pa.Table) -> list[int]:
    return part.column("row").to_pylist()


def _parts(splits) -> dict[str, pa.Table]:
    return {"train": splits.train, "validation": splits.validation, "test": splits.test}


def _assert_every_row_exactly_once(parts: dict[str, pa.Table], rows: int):
    seen = [row for part in parts.values() for row in _rows(part)]
    assert sorted(seen) == list(range(rows))


def test_default_split_is_70_15_15():
    table = _labelled(np.array([0] * 600 + [1] * 400))
    parts = _parts(stratified_split(table, "y"))
    assert {name: part.num_rows for name, part in parts.items()} == {
        "train": 700,
        "validation": 150,
        "test": 150,
    }
    _assert_every_row_exactly_once(parts, 1000)


@pytest.mark.parametrize("seed", range(12))
def test_every_part_holds_each_class_share_within_one_row(seed: int):
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(80, 3000))
    classes = int(rng.integers(2, 6))
    labels = rng.choice(classes, rows, p=rng.dirichlet(np.full(classes, 4.0)))
    labels[: classes * 10] = np.repeat(np.arange(classes), 10)  # every class can reach every part
    table = _labelled(labels)
    parts = _parts(stratified_split(table, "y", seed=seed))
    _assert_every_row_exactly_once(parts, rows)
    sizes = np.bincount(labels, minlength=classes)
    for name, part in parts.items():
        counts = np.bincount(part.column("y").to_numpy(), minlength=classes)
        assert np.all(np.abs(counts - FRACTIONS[name] * sizes) < 1), (name, counts, sizes)
        assert abs(part.num_rows - FRACTIONS[name] * rows) <= 1


def test_string_labels_and_other_fractions():
    labels = np.array(["cat", "dog", "bird"] * 100, dtype=object)
    parts = _parts(stratified_split(_labelled(labels), "y", 0.5, 0.25, 0.25, seed=1))
    for name, share in (("train", 0.5), ("validation", 0.25), ("test", 0.25)):
        counts = collections.Counter(parts[name].column("y").to_pylist())
        assert all(abs(count - share * 100) < 1 for count in counts.values()), counts
        assert set(counts) == {"cat", "dog", "bird"}


def test_same_seed_same_parts_other_seed_other_parts():
    table = _labelled(np.tile([0, 1, 1], 200))
    first, again = stratified_split(table, "y", seed=7), stratified_split(table, "y", seed=7)
    other = stratified_split(table, "y", seed=8)
    for name in FRACTIONS:
        assert _rows(_parts(first)[name]) == _rows(_parts(again)[name])
    assert _rows(first.test) != _rows(other.test)


def test_rows_keep_their_order_and_values_inside_each_part():
    table = _labelled(np.tile([0, 1], 100))
    for part in _parts(stratified_split(table, "y")).values():
        rows = _rows(part)
        assert rows == sorted(rows)
        assert part.equals(table.take(rows))


def test_allocate_rounds_each_class_share_down_or_up_and_balances_totals():
    sizes = np.array([7, 10, 13, 101, 3, 55])
    fractions = np.array([0.7, 0.15, 0.15])
    allocation = allocate(sizes, fractions)
    exact = sizes[:, None] * fractions
    assert np.array_equal(allocation.sum(axis=1), sizes)
    assert np.all((allocation == np.floor(exact)) | (allocation == np.ceil(exact)))
    assert np.all(np.abs(allocation.sum(axis=0) - sizes.sum() * fractions) <= 1)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            [1] * 50,
            "target column 'y' has a single class 1; a stratified split needs two classes or more",
        ),
        ([], "target column 'y' has no rows; a stratified split needs two classes or more"),
        (
            [0] * 50 + [1] * 6,
            "class 1 of target column 'y' has only 6 rows; a stratified 0.7/0.15/0.15 split needs "
            "at least 7",
        ),
        (
            [0, 1] * 25 + [None],
            "target column 'y' has 1 rows with no label; a stratified split needs a class on "
            "every row",
        ),
    ],
)
def test_labels_that_cannot_be_stratified(labels: list, message: str):
    table = pa.table({"row": range(len(labels)), "y": pa.array(labels, pa.int64())})
    with pytest.raises(ComponentInputError) as raised:
        stratified_split(table, "y")
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.8, 0.2, 0.0), "test_fraction 0.0 is not between 0 and 1 (exclusive)"),
        ((1.0, 0.1, 0.1), "train_fraction 1.0 is not between 0 and 1 (exclusive)"),
        ((0.6, 0.2, 0.1), "train, validation and test fractions sum to 0.9, not 1"),
    ],
)
def test_fractions_must_make_a_whole(fractions: tuple, message: str):
    table = _labelled(np.tile([0, 1], 100))
    with pytest.raises(ComponentInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        stratified_split(table, "y", *fractions)
    with pytest.raises(ComponentInputError):
        time_split(table, "row", *fractions)


def _timed(times: np.ndarray, seed: int = 0) -> pa.Table:
    """Rows with the given times, in shuffled order."""
    order = np.random.default_rng(seed).permutation(len(times))
    return pa.table({"row": order, "time": np.asarray(times)[order]})


def _assert_time_ordered(parts: dict[str, pa.Table]):
    train, validation, test = (parts[name].column("time").to_numpy() for name in FRACTIONS)
    assert train.max() < validation.min()
    assert train.max() < test.min()
    assert validation.max() < test.min()


def test_time_split_puts_the_earliest_rows_in_train_and_the_latest_in_test():
    table = _timed(np.arange(1000))
    parts = _parts(time_split(table, "time"))
    assert {name: part.num_rows for name, part in parts.items()} == {
        "train": 700,
        "validation": 150,
        "test": 150,
    }
    _assert_time_ordered(parts)
    _assert_every_row_exactly_once(parts, 1000)
    # In input order (not sorted by time): the split streams, and sorting does not fit its memory.
    assert parts["train"].column("row").to_pylist() == [
        row for row in table.column("row").to_pylist() if row < 700
    ]
    assert sorted(parts["train"].column("time").to_pylist()) == list(range(700))


def test_time_split_moves_ties_at_a_boundary_to_the_later_part():
    # Rows 65..74 (in time order) share one time, across the 70 % boundary; 84..89 share another,
    # across the 85 % boundary.
    times = np.arange(100)
    times[65:75] = 65
    times[84:90] = 84
    parts = _parts(time_split(_timed(times), "time"))
    assert parts["train"].num_rows == 65
    assert parts["validation"].num_rows == 19
    assert parts["test"].num_rows == 16
    assert parts["validation"].column("time").to_pylist().count(65) == 10
    assert parts["test"].column("time").to_pylist().count(84) == 6
    _assert_time_ordered(parts)
    _assert_every_row_exactly_once(parts, 100)


@pytest.mark.parametrize("seed", range(8))
def test_time_split_never_shares_a_time_between_parts(seed: int):
    rng = np.random.default_rng(seed)
    times = rng.integers(0, 40, size=int(rng.integers(200, 600)))  # many ties everywhere
    parts = _parts(time_split(_timed(times, seed), "time"))
    _assert_time_ordered(parts)
    _assert_every_row_exactly_once(parts, len(times))


def test_time_split_of_timestamps():
    stamps = pa.array(np.arange(300) * 3600, pa.timestamp("s", tz="UTC"))
    table = pa.table({"row": np.arange(300), "time": stamps}).take(np.arange(299, -1, -1))
    parts = _parts(time_split(table, "time"))
    assert parts["train"].column("time")[-1].as_py() < parts["validation"].column("time")[0].as_py()
    _assert_every_row_exactly_once(parts, 300)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"time": [1] * 50}), "time column 'time' has too few distinct times to cut"),
        (pa.table({"time": [1, None] * 25}), "time column 'time' has 25 missing values"),
        (pa.table({"when": [1, 2] * 25}), "time column 'time' not found; the columns are: when"),
    ],
)
def test_times_that_cannot_be_split(table: pa.Table, message: str):
    with pytest.raises(ComponentInputError, match=message):
        time_split(table, "time")


def _paths(folder: Path) -> dict[str, str]:
    return {name: str(folder / "out" / f"{name}.parquet") for name in FRACTIONS}


def test_split_to_parquet_writes_the_parts_and_their_metadata(tmp_path: Path):
    table = _labelled(np.tile([0, 1, 1, 2], 100))
    write_parquet(table, tmp_path / "data.parquet")
    metadata = split_to_parquet(str(tmp_path / "data.parquet"), _paths(tmp_path), "y", seed=3)
    expected = _parts(stratified_split(table, "y", seed=3))
    for name, path in _paths(tmp_path).items():
        written = pq.read_table(path)
        assert written.equals(expected[name])
        assert metadata[name] == {
            "rows": written.num_rows,
            "columns": 3,
            "schema": [
                {"name": "row", "type": "int64"},
                {"name": "feature", "type": "double"},
                {"name": "y", "type": "int64"},
            ],
            "fingerprint": fingerprint(written),
            "method": "stratified",
            "seed": 3,
            "stratified_by": "y",
            "part": name,
        }


def test_split_to_parquet_by_time_records_each_part_time_range(tmp_path: Path):
    table = _timed(np.arange(200)).append_column("y", pa.array(np.tile([0, 1], 100)))
    write_parquet(table, tmp_path / "data.parquet")
    metadata = split_to_parquet(
        str(tmp_path / "data.parquet"), _paths(tmp_path), "y", time_column="time"
    )
    assert metadata["train"]["time_range"] == ["0", "139"]
    assert metadata["validation"]["time_range"] == ["140", "169"]
    assert metadata["test"]["time_range"] == ["170", "199"]
    assert metadata["test"]["method"] == "time"
    assert metadata["test"]["time_column"] == "time"
    assert pq.read_table(_paths(tmp_path)["test"]).num_rows == 30


@pytest.mark.parametrize(
    ("target", "time_column", "message"),
    [
        ("label", None, "target column 'label' not found"),
        ("label", "time", "target column 'label' not found"),
        ("y", None, "target column 'y' has a single class 1"),
        ("y", "stamp", "time column 'stamp' not found"),
    ],
)
def test_split_to_parquet_that_fails_writes_nothing(
    tmp_path: Path, target: str, time_column: str | None, message: str
):
    table = pa.table({"time": np.arange(100), "y": [1] * 100})
    write_parquet(table, tmp_path / "data.parquet")
    with pytest.raises(ComponentInputError, match=message):
        split_to_parquet(
            str(tmp_path / "data.parquet"), _paths(tmp_path), target, time_column=time_column
        )
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_split_over_many_batches_is_exact_and_ignores_the_file_layout(tmp_path: Path):
    rng = np.random.default_rng(4)
    labels = rng.choice(["a", "b", "c"], 2 * BATCH_ROWS + 123, p=[0.6, 0.3, 0.1])
    table = _labelled(labels)
    layouts = {"small": 5_000, "large": 1_000_000}
    written = {}
    for name, row_group_size in layouts.items():
        pq.write_table(table, tmp_path / f"{name}.parquet", row_group_size=row_group_size)
        paths = {part: str(tmp_path / name / f"{part}.parquet") for part in FRACTIONS}
        split_to_parquet(str(tmp_path / f"{name}.parquet"), paths, "y", seed=9)
        written[name] = {part: pq.read_table(path) for part, path in paths.items()}
    for part in FRACTIONS:
        assert written["small"][part].equals(written["large"][part])
    sizes = collections.Counter(labels.tolist())
    classes = list(dict.fromkeys(labels.tolist()))  # the order allocate sees: first appearance
    allocation = allocate(np.array([sizes[c] for c in classes]), np.array(list(FRACTIONS.values())))
    for index, label in enumerate(classes):
        for column, part in enumerate(FRACTIONS):
            got = written["small"][part].column("y").to_pylist().count(label)
            assert got == allocation[index, column]
            assert abs(got - sizes[label] * FRACTIONS[part]) <= 1
    _assert_every_row_exactly_once(written["small"], len(labels))
