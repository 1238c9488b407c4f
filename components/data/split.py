"""Split a dataset into train, validation and test parts: stratified and seeded, or by time."""

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.model_selection import train_test_split

from kfp_mlops.components.data.tables import dataset_metadata, read_parquet, write_parquets
from kfp_mlops.components.errors import ComponentInputError


@dataclasses.dataclass(frozen=True)
class Splits:
    """The three parts; together they hold every row of the input exactly once."""

    train: pa.Table
    validation: pa.Table
    test: pa.Table


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


def _take_sorted(table: pa.Table, indices: np.ndarray) -> pa.Table:
    return table.take(pa.array(np.sort(indices)))


def stratified_split(
    table: pa.Table,
    target_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> Splits:
    """Shuffles with ``seed`` and keeps each class's share the same in every part.

    Rows keep their original order inside each part.
    """
    check_fractions(train_fraction, validation_fraction, test_fraction)
    if target_column not in table.column_names:
        raise ComponentInputError(f"target column {target_column!r} not found")
    labels = table.column(target_column).to_numpy(zero_copy_only=False)
    counts = pc.value_counts(table.column(target_column))
    smallest = min(counts.field("counts").to_pylist())
    # Each part needs at least one row of every class.
    needed = int(np.ceil(1 / min(train_fraction, validation_fraction, test_fraction)))
    if smallest < needed:
        rare = [
            value
            for value, count in zip(
                counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
            )
            if count == smallest
        ]
        raise ComponentInputError(
            f"class {rare[0]!r} of target column {target_column!r} has only {smallest} rows; a "
            f"stratified {train_fraction:g}/{validation_fraction:g}/{test_fraction:g} split needs "
            f"at least {needed}"
        )
    indices = np.arange(table.num_rows)
    rest, test = train_test_split(
        indices, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train, validation = train_test_split(
        rest,
        test_size=validation_fraction / (train_fraction + validation_fraction),
        stratify=labels[rest],
        random_state=seed,
    )
    return Splits(
        train=_take_sorted(table, train),
        validation=_take_sorted(table, validation),
        test=_take_sorted(table, test),
    )


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
    """Orders rows by ``time_column``: the earliest go to train, then validation, the latest to test.

    No row in train is later than (or as late as) any row in validation or test, and likewise between
    validation and test: rows with equal timestamps at a boundary all go to the later part, so the
    parts may be slightly smaller than the fractions ask.
    """
    check_fractions(train_fraction, validation_fraction, test_fraction)
    if time_column not in table.column_names:
        raise ComponentInputError(
            f"time column {time_column!r} not found; the columns are: {', '.join(table.column_names)}"
        )
    column = table.column(time_column)
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
    validation_end = _cut_before_ties(
        times, round(rows * (train_fraction + validation_fraction))
    )
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
) -> dict[str, dict[str, object]]:
    """Splits the Parquet dataset and writes the parts to ``output_paths`` (keys train, validation,
    test) as one unit; returns each part's artifact metadata."""
    table = read_parquet(dataset_path)
    if time_column is None:
        splits = stratified_split(
            table, target_column, train_fraction, validation_fraction, test_fraction, seed
        )
        method = {"method": "stratified", "seed": seed, "stratified_by": target_column}
    else:
        splits = time_split(table, time_column, train_fraction, validation_fraction, test_fraction)
        method = {"method": "time", "time_column": time_column}
    parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    write_parquets({output_paths[name]: part for name, part in parts.items()})
    metadata = {}
    for name, part in parts.items():
        metadata[name] = {**dataset_metadata(part), **method, "part": name}
        if time_column is not None:
            bounds = pc.min_max(part.column(time_column))
            metadata[name]["time_range"] = [str(bounds["min"]), str(bounds["max"])]
    return metadata
