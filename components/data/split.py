"""Split a dataset into train, validation and test parts: stratified and seeded, or by time."""

import dataclasses
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import (
    BATCH_ROWS,
    closest_names,
    iter_batches,
    open_datasets,
    parquet_schema,
)
from kfp_mlops.components.data.order_statistics import is_orderable, kth_smallest, sort_keys
from kfp_mlops.components.data.target_bins import quantile_binner


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


Batches = Callable[[list[str] | None], Iterator[pa.RecordBatch]]
"""Makes a fresh pass over a dataset's rows (only the columns named, or all): the split reads its
input two or more times, a batch at a time."""


def _column_type(schema: pa.Schema, name: str, role: str) -> pa.DataType:
    if name not in schema.names:
        raise ComponentInputError(
            f"{role} column {name!r} not found; {closest_names(name, schema.names)}"
        )
    return schema.field(name).type


class _Dealer:
    """Deals each class's rows to the parts in exact, seeded counts, one batch at a time.

    A class of ``n`` rows with ``counts`` rows to give each part gets, over its rows in input order,
    a uniformly random arrangement of those counts: each batch draws how many of its rows of the
    class go to each part from what is left (a multivariate hypergeometric draw, sampling without
    replacement), then shuffles them among those rows. It is sequential selection sampling (Knuth's
    Algorithm S, for three parts) done a batch at a time: the counts come out exact and the memory
    is the batch's. The draws depend on the seed and on which rows fall in which batch, which
    :func:`~kfp_mlops.components.common.tables.iter_batches` fixes (batches of ``BATCH_ROWS``).
    """

    def __init__(self, classes: pa.Array, allocation: np.ndarray, seed: int) -> None:
        self._classes = classes
        self._left = allocation.copy()
        self._random = np.random.default_rng(seed)

    def deal(self, labels: pa.Array) -> np.ndarray:
        """The part (0, 1, 2) of each row of the next batch, given the batch's labels."""
        codes = pc.index_in(labels, value_set=self._classes).to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=len(self._left))
        parts = np.empty(len(codes), dtype=np.int8)
        start = 0
        for code, size in enumerate(sizes):
            if not size:
                continue
            drawn = self._random.multivariate_hypergeometric(self._left[code], int(size))
            self._left[code] -= drawn
            dealt = np.repeat(np.arange(len(drawn), dtype=np.int8), drawn)
            self._random.shuffle(dealt)
            parts[order[start : start + size]] = dealt
            start += size
        return parts


def _stratified(
    read: Batches,
    schema: pa.Schema,
    target_column: str,
    fractions: np.ndarray,
    seed: int,
    binner: Callable[[pa.Array], pa.Array] | None = None,
) -> Callable[[pa.RecordBatch], np.ndarray]:
    """Counts each class's rows (one pass over the target); returns the function dealing a batch.

    With ``binner`` the classes are the bins it gives the target's values (a regression target).
    """
    label_type = pa.int64() if binner else _column_type(schema, target_column, "target")

    def labels_of(column: pa.Array) -> pa.Array:
        return binner(column) if binner else column

    sizes: dict[object, int] = {}
    missing = 0
    for batch in read([target_column]):
        labels = labels_of(batch.column(0))
        missing += labels.null_count
        counts = pc.value_counts(labels.drop_null())
        for value, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            sizes[value] = sizes.get(value, 0) + count
    if missing:
        raise ComponentInputError(
            f"target column {target_column!r} has {missing} rows with no label; "
            "a stratified split needs a class on every row"
        )
    classes = list(sizes)
    if len(classes) < 2:
        found = f"a single class {classes[0]!r}" if classes else "no rows"
        raise ComponentInputError(
            f"target column {target_column!r} has {found}; a stratified split needs two classes "
            "or more"
        )
    counts = np.array([sizes[value] for value in classes])
    # Each part needs at least one row of every class.
    needed = int(np.ceil(np.round(1 / fractions.min(), 9)))
    if counts.min() < needed:
        train, validation, test = fractions
        raise ComponentInputError(
            f"class {classes[int(counts.argmin())]!r} of target column {target_column!r} has only "
            f"{counts.min()} rows; a stratified {train:g}/{validation:g}/{test:g} split needs at "
            f"least {needed}"
        )
    allocation = allocate(counts, fractions / fractions.sum())
    dealer = _Dealer(pa.array(classes, type=label_type), allocation, seed)
    return lambda batch: dealer.deal(labels_of(batch.column(target_column)))


def _by_time(
    read: Batches, schema: pa.Schema, time_column: str, fractions: np.ndarray
) -> Callable[[pa.RecordBatch], np.ndarray]:
    """Finds the two cut times (a few passes over the time column) and returns the row assigner.

    A cut falls at the time of the row at its share of the rows in time order; rows at that time all
    go to the later part, as do all later rows.
    """
    time_type = _column_type(schema, time_column, "time")
    if not is_orderable(time_type):
        raise ComponentInputError(
            f"time column {time_column!r} is {time_type}; a time split needs times, dates or "
            "numbers"
        )
    rows = missing = 0
    lowest, highest = None, None
    for batch in read([time_column]):
        times = batch.column(0)
        absent = times.null_count
        if pa.types.is_floating(time_type):
            absent += pc.sum(pc.is_nan(times)).as_py() or 0
        missing += absent
        rows += len(times)
        if len(times) > absent and not missing:
            keys = sort_keys(times)
            low, high = int(keys.min()), int(keys.max())
            lowest = low if lowest is None else min(lowest, low)
            highest = high if highest is None else max(highest, high)
    if missing:
        raise ComponentInputError(
            f"time column {time_column!r} has {missing} missing values; "
            "every row needs a time to be placed"
        )

    def keys() -> Iterator[np.ndarray]:
        return (sort_keys(batch.column(0)) for batch in read([time_column]))

    train_fraction, validation_fraction, test_fraction = fractions
    cuts, ends = [], []
    for position in (round(rows * train_fraction), round(rows * (1 - test_fraction))):
        if 0 < position < rows:
            cut, end = kth_smallest(keys, position, lowest, highest)
        else:
            cut, end = None, position
        cuts.append(cut)
        ends.append(end)
    if not 0 < ends[0] < ends[1] < rows:
        raise ComponentInputError(
            f"time column {time_column!r} has too few distinct times to cut "
            f"{train_fraction:g}/{validation_fraction:g}/{test_fraction:g} without a time "
            "falling on both sides of a boundary"
        )
    first, second = np.uint64(cuts[0]), np.uint64(cuts[1])

    def assign(batch: pa.RecordBatch) -> np.ndarray:
        keys = sort_keys(batch.column(time_column))
        return (keys >= first).astype(np.int8) + (keys >= second).astype(np.int8)

    return assign


def _assigner(
    read: Batches,
    schema: pa.Schema,
    target_column: str | None,
    fractions: tuple[float, float, float],
    seed: int,
    time_column: str | None,
    binner: Callable[[pa.Array], pa.Array] | None = None,
) -> Callable[[pa.RecordBatch], np.ndarray]:
    check_fractions(*fractions)
    if target_column is not None:
        _column_type(schema, target_column, "target")
    if time_column:
        return _by_time(read, schema, time_column, np.array(fractions))
    assert target_column is not None
    return _stratified(read, schema, target_column, np.array(fractions), seed, binner)


def _table_reader(table: pa.Table) -> Batches:
    """Passes over an in-memory table in the batches :func:`iter_batches` would give its file."""
    whole = table.combine_chunks()

    def read(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        return iter((whole.select(columns) if columns else whole).to_batches(BATCH_ROWS))

    return read


def _split_table(
    table: pa.Table,
    target_column: str | None,
    fractions: tuple[float, float, float],
    seed: int,
    time_column: str | None,
) -> Splits:
    read = _table_reader(table)
    assign = _assigner(read, table.schema, target_column, fractions, seed, time_column)
    pieces: list[list[pa.RecordBatch]] = [[] for _ in PARTS]
    for batch in read(None):
        parts = assign(batch)
        for number, part in enumerate(pieces):
            part.append(batch.filter(pa.array(parts == number)))
    return Splits(*(pa.Table.from_batches(part, table.schema) for part in pieces))


def stratified_split(
    table: pa.Table,
    target_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
) -> Splits:
    """Shuffles with ``seed`` and keeps each class's share the same in every part.

    Every part holds each class's share of its rows to within one row (the counts of
    :func:`allocate`). Rows keep their original order inside each part. The parts are those that
    :func:`split_to_parquet` writes for the same rows.
    """
    fractions = (train_fraction, validation_fraction, test_fraction)
    return _split_table(table, target_column, fractions, seed, None)


def time_split(
    table: pa.Table,
    time_column: str,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Splits:
    """By ``time_column``: the earliest rows go to train, then validation, the last to test.

    No row in train is later than (or as late as) any row in validation or test, and likewise
    between validation and test: rows with equal times at a boundary all go to the later part, so
    the earlier parts may be slightly smaller than the fractions ask. Rows keep their input order
    inside each part (they are not sorted: sorting does not fit in bounded memory).
    """
    fractions = (train_fraction, validation_fraction, test_fraction)
    return _split_table(table, None, fractions, 0, time_column)


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
    """Splits the Parquet dataset and writes the parts to ``output_paths`` as one unit.

    The keys of ``output_paths`` are train, validation and test; returns each part's artifact
    metadata.

    Without a ``time_column`` (None or empty, as a pipeline parameter left unset passes it), the
    split is stratified by the target. The dataset is read a batch at a time, so memory does not
    grow with its rows: a first pass over the target (or the time column) sets the counts (or the
    cut times), a last one deals every batch's rows to the three files. With ``target_bins`` (a
    regression target) it is stratified on that many quantile bins of the target
    (:mod:`.target_bins`) instead of on its values.
    """
    fractions = (train_fraction, validation_fraction, test_fraction)
    schema = parquet_schema(dataset_path)

    def read(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
        return iter_batches(dataset_path, columns)

    binner = None
    if target_bins and not time_column:
        _column_type(schema, target_column, "target")
        needed = int(np.ceil(np.round(1 / min(fractions), 9)))
        binner, used_bins = quantile_binner(
            lambda: (batch.column(0) for batch in read([target_column])),
            target_column,
            target_bins,
            needed,
        )
    assign = _assigner(read, schema, target_column, fractions, seed, time_column, binner)
    if time_column:
        method: dict[str, object] = {"method": "time", "time_column": time_column}
    else:
        method = {"method": "stratified", "seed": seed, "stratified_by": target_column}
        if binner is not None:
            method["target_bins"] = used_bins
    bounds: list[list[pa.Scalar]] = [[] for _ in PARTS]
    with open_datasets({output_paths[name]: schema for name in PARTS}) as writers:
        for batch in read(None):
            parts = assign(batch)
            for number, writer in enumerate(writers):
                rows = batch.filter(pa.array(parts == number))
                writer.write(rows)
                if time_column and rows.num_rows:
                    extremes = pc.min_max(rows.column(time_column))
                    bounds[number] += [extremes["min"], extremes["max"]]
        described = [writer.close() for writer in writers]
    result = {}
    for number, (name, metadata) in enumerate(zip(PARTS, described, strict=True)):
        result[name] = {**metadata, **method, "part": name}
        if time_column:
            extremes = pc.min_max(
                pa.array([b.as_py() for b in bounds[number]], schema.field(time_column).type)
            )
            result[name]["time_range"] = [str(extremes["min"]), str(extremes["max"])]
    return result


class DatasetArtifact(Protocol):
    """What :func:`split_artifacts` uses of a KFP Dataset artifact."""

    path: str
    metadata: dict


def split_artifacts(
    dataset: DatasetArtifact,
    parts: dict[str, DatasetArtifact],
    target_column: str,
    fractions: tuple[float, float, float],
    seed: int,
    time_column: str | None,
    target_bins: int | None = None,
) -> None:
    """Splits the ``dataset`` artifact into the ``parts`` artifacts and fills in their metadata.

    Each part's metadata is what :func:`split_to_parquet` returns for it, plus the dataset's
    ``data_version`` when it has one, so the lineage of a versioned ingest reaches training.
    """
    metadata = split_to_parquet(
        dataset.path,
        {name: part.path for name, part in parts.items()},
        target_column,
        *fractions,
        seed,
        time_column,
        target_bins,
    )
    for name, part in parts.items():
        part.metadata.update(metadata[name])
        if dataset.metadata.get("data_version"):
            part.metadata["data_version"] = dataset.metadata["data_version"]
