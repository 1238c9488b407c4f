"""Split a dataset into train, validation and test parts: stratified and seeded, or by time."""

import dataclasses
import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import read_parquet, write_datasets
from kfp_mlops.components.data.target_bins import BIN_COLUMN, quantile_bin_table


@dataclasses.dataclass(frozen=True)
class Splits:
    """The three parts; together they hold every row of the input exactly once."""

    train: pa.Table
    validation: pa.Table
    test: pa.Table


PARTS = tuple(field.name for field in dataclasses.fields(Splits))
"""The parts' names, in the order of their part numbers (0 train, 1 validation, 2 test)."""


def check_fractions(train: float, validation: float, test: float) -> None:
    """Each fraction lies in (0, 1) and together they sum to 1."""
    for name, value in (("train", train), ("validation", validation), ("test", test)):
        if not 0.0 < value < 1.0:
            raise ComponentInputError(f"{name}_fraction {value} is not between 0 and 1 (exclusive)")
    total = train + validation + test
    if abs(total - 1.0) > 1e-6:
        raise ComponentInputError(
            f"train, validation and test fractions sum to {total:g}, not 1 "
            f"({train:g} + {validation:g} + {test:g})"
        )


def _column(table: pa.Table, name: str, role: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise ComponentInputError(
            f"{role} column {name!r} not found; the columns are: {', '.join(table.column_names)}"
        )
    return table.column(name)


def allocate(class_sizes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """How many rows of each class (a row of the result) go to each part (a column).

    Each count is its exact share of the class rounded down or up, so every part holds each class's
    share to within one row; the classes whose counts round up are chosen so that every part's total
    also stays as close to its share as it can.
    """
    allocation = np.zeros((len(class_sizes), len(fractions)), dtype=np.int64)
    drift = np.zeros(len(fractions))  # exact shares so far minus the rows given so far, per part
    for index, size in enumerate(class_sizes):
        exact = np.round(size * fractions, 9)
        counts = np.floor(exact).astype(np.int64)
        drift += exact - counts
        can_round_up = np.flatnonzero(exact > counts)
        chosen = can_round_up[np.argsort(-drift[can_round_up], kind="stable")]
        chosen = chosen[: size - counts.sum()]
        counts[chosen] += 1
        drift[chosen] -= 1
        allocation[index] = counts
    return allocation


def stratified_assignment(
    table: pa.Table,
    target_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> np.ndarray:
    """The part of each row (0 train, 1 validation, 2 test) in a seeded stratified split.

    Each class's rows are shuffled with ``seed`` and dealt to the parts in the counts
    :func:`allocate` gives, so every part holds each class's share to within one row.
    """
    check_fractions(train_fraction, validation_fraction, test_fraction)
    labels = _column(table, target_column, "target")
    if labels.null_count:
        raise ComponentInputError(
            f"target column {target_column!r} has {labels.null_count} rows with no label; "
            "a stratified split needs a class on every row"
        )
    encoded = pc.dictionary_encode(labels.combine_chunks())
    classes, codes = encoded.dictionary.to_pylist(), encoded.indices.to_numpy()
    if len(classes) < 2:
        found = f"a single class {classes[0]!r}" if classes else "no rows"
        raise ComponentInputError(
            f"target column {target_column!r} has {found}; a stratified split needs two classes "
            "or more"
        )
    sizes = np.bincount(codes, minlength=len(classes))
    fractions = np.array([train_fraction, validation_fraction, test_fraction])
    # Each part needs at least one row of every class.
    needed = int(np.ceil(np.round(1 / fractions.min(), 9)))
    if sizes.min() < needed:
        raise ComponentInputError(
            f"class {classes[int(sizes.argmin())]!r} of target column {target_column!r} has only "
            f"{sizes.min()} rows; a stratified {train_fraction:g}/{validation_fraction:g}/"
            f"{test_fraction:g} split needs at least {needed}"
        )
    allocation = allocate(sizes, fractions / fractions.sum())
    random = np.random.default_rng(seed)
    by_class = np.split(np.argsort(codes, kind="stable"), np.cumsum(sizes)[:-1])
    assignment = np.empty(len(codes), dtype=np.int8)
    for rows, counts in zip(by_class, allocation, strict=True):
        assignment[rows] = random.permutation(np.repeat(np.arange(3, dtype=np.int8), counts))
    return assignment


def stratified_split(
    table: pa.Table,
    target_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> Splits:
    """Shuffles with ``seed`` and keeps each class's share the same in every part.

    Every part holds each class's share of its rows to within one row. Rows keep their original
    order inside each part.
    """
    assignment = stratified_assignment(
        table, target_column, train_fraction, validation_fraction, test_fraction, seed
    )
    return Splits(*(_rows_of(table, assignment, part) for part in range(len(PARTS))))


def _rows_of(table: pa.Table, assignment: np.ndarray, part: int) -> pa.Table:
    return table.filter(pa.array(assignment == part))


def _cut_before_ties(times: np.ndarray, position: int) -> int:
    """Moves a cut back so that rows sharing the first later timestamp all go after it."""
    if position <= 0 or position >= len(times):
        return position
    return int(np.searchsorted(times, times[position], side="left"))


def time_split(
    table: pa.Table,
    time_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Splits:
    """Orders rows by ``time_column``: the earliest go to train, then validation, the last to test.

    No row in train is later than (or as late as) any row in validation or test, and likewise
    between validation and test: rows with equal times at a boundary all go to the later part, so
    the earlier parts may be slightly smaller than the fractions ask. Rows are in time order inside
    each part.
    """
    check_fractions(train_fraction, validation_fraction, test_fraction)
    column = _column(table, time_column, "time")
    if column.null_count:
        raise ComponentInputError(
            f"time column {time_column!r} has {column.null_count} missing values; "
            "every row needs a time to be placed"
        )
    order = pc.sort_indices(table, sort_keys=[(time_column, "ascending")]).to_numpy()
    ordered = table.take(pa.array(order))
    times = ordered.column(time_column).to_numpy(zero_copy_only=False)
    rows = ordered.num_rows
    train_end = _cut_before_ties(times, round(rows * train_fraction))
    validation_end = _cut_before_ties(times, round(rows * (train_fraction + validation_fraction)))
    if not 0 < train_end < validation_end < rows:
        raise ComponentInputError(
            f"time column {time_column!r} has too few distinct times to cut "
            f"{train_fraction:g}/{validation_fraction:g}/{test_fraction:g} without a time "
            "falling on both sides of a boundary"
        )
    return Splits(
        train=ordered.slice(0, train_end),
        validation=ordered.slice(train_end, validation_end - train_end),
        test=ordered.slice(validation_end),
    )


def split_to_parquet(
    dataset_path: str,
    output_paths: dict[str, str],
    target_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    time_column: str | None = None,
    target_bins: int | None = None,
) -> dict[str, dict[str, object]]:
    """Splits the Parquet dataset and writes the parts to ``output_paths`` (keys train, validation,
    test) as one unit; returns each part's artifact metadata.

    Without a ``time_column`` (None or empty, as a pipeline parameter left unset passes it), the
    split is stratified by the target. A stratified split makes each part only when it is written,
    so that the dataset and one part are in memory at a time rather than the dataset and all three.
    With ``target_bins`` (a regression target) it is stratified on that many quantile bins of the
    target (:mod:`.target_bins`) instead of on its values.
    """
    fractions = (train_fraction, validation_fraction, test_fraction)
    table = read_parquet(dataset_path)
    _column(table, target_column, "target")
    if not time_column:
        strata, stratum = table, target_column
        if target_bins:
            needed = int(np.ceil(np.round(1 / min(fractions), 9)))
            strata = quantile_bin_table(table, target_column, target_bins, needed)
            stratum = BIN_COLUMN
        assignment = stratified_assignment(strata, stratum, *fractions, seed)
        method = {"method": "stratified", "seed": seed, "stratified_by": target_column}
        if target_bins:
            method["target_bins"] = int(strata.column(BIN_COLUMN).to_numpy().max()) + 1
        make = functools.partial(_rows_of, table, assignment)
        extra = {name: {} for name in PARTS}
    else:
        splits = time_split(table, time_column, *fractions)
        method = {"method": "time", "time_column": time_column}
        make = (splits.train, splits.validation, splits.test).__getitem__
        extra = {
            name: {"time_range": _time_range(make(n), time_column)} for n, name in enumerate(PARTS)
        }
    # A generator: each part is made only when it is written.
    parts = ((output_paths[name], make(number)) for number, name in enumerate(PARTS))
    return {
        name: {**described, **method, "part": name, **extra[name]}
        for name, described in zip(PARTS, write_datasets(parts), strict=True)
    }


def _time_range(part: pa.Table, time_column: str) -> list[str]:
    bounds = pc.min_max(part.column(time_column))
    return [str(bounds["min"]), str(bounds["max"])]
